"""Use cases by aggregate (incidents, alerts, changes, events, outbox, budgets, nudges); shared.py holds
what they share. Built once, in bot/app.py."""
