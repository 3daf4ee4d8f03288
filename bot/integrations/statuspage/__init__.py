"""The public status page (Atlassian Statuspage): its client, the standing plan and the outbox deliverer."""
