"""The ``incidentbot`` command line and its offline demo."""

from pathlib import Path

DEMO_KEEP_FILE = Path("incidentbot-demo.db")
"""Where ``incidentbot demo --keep`` keeps its database: in the current folder. Here, not in ``bot.cli.demo``,
so that ``incidentbot --help`` names it without importing the demo (the store, the use cases, Jinja)."""
