"""The use cases: one transaction per command, the domain deciding, side effects queued as outbox rows.

One module per aggregate (incidents, alerts, changes, events, outbox, budgets, nudges); shared.py holds
what they share (Actor, Outcome, the clock, Transactions). Built once, in bot/app.py.
"""
