"""A fake Jira Cloud REST API v3 on 127.0.0.1, answering the shapes of Atlassian's v3 reference."""

from tests.support.fake_jira.server import EMAIL, TOKEN, FakeJira

__all__ = ["EMAIL", "TOKEN", "FakeJira"]
