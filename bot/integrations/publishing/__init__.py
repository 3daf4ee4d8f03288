"""Publishing the postmortem to Confluence Cloud and to a Git repository, through the outbox."""
