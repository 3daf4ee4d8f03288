"""The Slack adapter: the bolt app, its listeners, Block Kit, the Web API calls and their errors, the transport."""
