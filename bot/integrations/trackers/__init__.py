"""Issue trackers the follow-ups are exported to: the port (``port``) and its GitHub and Jira clients."""
