"""A fake GitHub REST API (Issues) on 127.0.0.1, answering the shapes of github/rest-api-description."""

from tests.support.fake_github.server import TOKEN, FakeGitHub

__all__ = ["TOKEN", "FakeGitHub"]
