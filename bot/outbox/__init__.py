"""Delivering the outbox: the worker that sends queued side effects (Slack, PagerDuty) once their
transaction committed."""
