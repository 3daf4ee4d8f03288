"""The use cases: one transaction per command, the domain deciding, side effects queued as outbox rows."""
