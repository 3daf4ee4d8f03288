"""The libpq parameters every PostgreSQL connection gets (bot.store.engine.postgres_connect_args), and that a URL's
own value wins. Expected values from the PostgreSQL 16 documentation, 34.1.2 "Parameter Key Words"."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bot.store.engine import postgres_connect_args

DEFAULTS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def test_a_plain_url_gets_every_default() -> None:
    assert postgres_connect_args(make_url("postgresql+psycopg://u:p@db.example/incidents")) == DEFAULTS


@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_a_parameter_the_url_sets_is_left_to_the_url(key: str) -> None:
    url = make_url(f"postgresql+psycopg://u:p@db.example/incidents?sslmode=require&{key}=7")
    expected = {k: v for k, v in DEFAULTS.items() if k != key}
    assert postgres_connect_args(url) == expected
