"""Read-only renderings shared by Slack and the CLI: plain-text replies, reports, postmortem Markdown."""
