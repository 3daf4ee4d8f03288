"""incidentbot: an incident-management ChatOps bot for Slack."""

__version__ = "0.1.0"
