"""No message shows a database password, in any spelling a DATABASE_URL can carry one (issue 13)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import ConfigError
from bot.store.engine import describe_database, parse_database_url, redact_database_url

# Printable characters a person may put in a password typed straight into a URL ('/', '?', '#', '&' end a part).
PASSWORD = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#&%"), min_size=1, max_size=20
).map(lambda tail: "SECRET" + tail)


@given(password=PASSWORD, port=st.sampled_from(["5432", "abc", ""]))
def test_userinfo_password_never_shown(password: str, port: str) -> None:
    url = f"postgres://alice:{password}@db.example:{port}/incidents" if port else f"postgres://alice:{password}@db/x"
    assert "SECRET" not in redact_database_url(url)
    try:
        assert "SECRET" not in describe_database(parse_database_url(url))
    except ConfigError as exc:
        assert "SECRET" not in exc.user_message


@given(password=PASSWORD, key=st.sampled_from(["password", "PASSWORD", "sslpassword", "Password"]))
def test_query_password_never_shown(password: str, key: str) -> None:
    url = f"postgresql://alice@db.example/incidents?sslmode=require&{key}={password}&connect_timeout=5"
    assert "SECRET" not in redact_database_url(url)
    assert "SECRET" not in describe_database(parse_database_url(url))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # Text that may not parse: the whole user information goes (where a password with @ ends is unknowable).
        ("postgres://u:p@ss@h:5432/d", "postgres://***@h:5432/d"),
        ("postgresql://ann:p@ss:w/rd#1@127.0.0.1:55432/h2x", "postgresql://***@127.0.0.1:55432/h2x"),
        ("postgres://u@h/d?password=x1&sslmode=require", "postgres://***@h/d?password=***&sslmode=require"),
        ("postgres://u@h/d?sslmode=require&password=p@ss", "postgres://***@h/d?sslmode=require&password=***"),
        ("postgres://u:pw@h:abc/d", "postgres://***@h:abc/d"),
        ("sqlite:///incidents.db", "sqlite:///incidents.db"),
    ],
)
def test_redaction_examples(url: str, shown: str) -> None:
    assert redact_database_url(url) == shown
