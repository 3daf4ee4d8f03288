"""What `db copy` and `db backup` print about a database: no password in any message (hidden by structure,
the rest of the message as written), the pg_dump command with the query string as typed, the progress
bar on a terminal that reports no size."""

from __future__ import annotations

import io
import os
import pty
import select
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.cli.progress import ProgressBar
from bot.errors import StoreUnavailable
from bot.store.copy import copy_database, pg_dump_command, printable_url
from bot.store.engine import create_store_engine, hide_passwords
from bot.store.migrate import upgrade

PASSWORDS = ["1", "a", "pass", "postgres", "S3cr3t!pw", "p@ss:w/rd#1", "100%sure"]

REFUSED = 'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'
AUTH = 'connection failed: FATAL:  password authentication failed for user "ann"'


class TestHidePasswords:
    @pytest.mark.parametrize("password", PASSWORDS)
    @pytest.mark.parametrize("reason", [REFUSED, AUTH, 'database "h2x" does not exist'])
    def test_a_message_without_the_password_as_a_value_reads_as_written(self, password: str, reason: str) -> None:
        """``1`` in 127.0.0.1, ``pass`` in password, ``a`` anywhere: ordinary text, left alone."""
        assert hide_passwords(reason, [password]) == reason

    @pytest.mark.parametrize("password", PASSWORDS)
    @pytest.mark.parametrize(
        "template",
        ['invalid value "{pw}" for option', "invalid value '{pw}'", "missing quote in password={pw} host=x"],
    )
    def test_the_password_as_a_quoted_or_key_value_is_hidden_whatever_its_length(
        self, password: str, template: str
    ) -> None:
        shown = hide_passwords(template.format(pw=password), [password])
        assert shown == template.format(pw="***")

    @pytest.mark.parametrize(
        ("password", "text", "shown"),
        [
            ("S3cr3t!pw", "bad option S3cr3t!pw-x", "bad option ***-x"),
            (
                "postgres",
                'password authentication failed for user "postgres"',
                'password authentication failed for user "***"',
            ),
            ("pass", "password authentication failed", "password authentication failed"),
            ("1", '"127.0.0.1", port 1 failed', '"127.0.0.1", port 1 failed'),
        ],
    )
    def test_examples(self, password: str, text: str, shown: str) -> None:
        """A long password anywhere; a short one only as a whole value (the tester's ***word and ***27.0.0.***)."""
        assert hide_passwords(text, [password]) == shown


class TestConnectionFailures:
    @pytest.mark.parametrize("password", PASSWORDS)
    @pytest.mark.parametrize("place", ["userinfo", "query", "query-first"])
    def test_the_reason_is_always_shown_and_the_password_never(self, password: str, place: str, tmp_path: Path) -> None:
        """An unreachable PostgreSQL target (127.0.0.1:1): the driver's reason in full, after the target
        named without its password (a ``?password=`` placed last hid the reason before)."""
        encoded = quote(password, safe="")
        target = {
            "userinfo": f"postgresql://ann:{encoded}@127.0.0.1:1/h2x",
            "query": f"postgresql://ann@127.0.0.1:1/h2x?sslmode=disable&password={encoded}",
            "query-first": f"postgresql://ann@127.0.0.1:1/h2x?password={encoded}&sslmode=disable",
        }[place]
        source = tmp_path / "source.db"
        engine = create_store_engine(f"sqlite:///{source}")
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        with pytest.raises(StoreUnavailable) as failed:
            copy_database(f"sqlite:///{source}", target)
        shown = {
            "userinfo": "postgresql+psycopg://ann:***@127.0.0.1:1/h2x",
            "query": "postgresql+psycopg://ann@127.0.0.1:1/h2x?password=***&sslmode=disable",
            "query-first": "postgresql+psycopg://ann@127.0.0.1:1/h2x?password=***&sslmode=disable",
        }[place]
        assert failed.value.user_message == f"Cannot copy {shown}: {REFUSED}"


class TestPrintedUrls:
    @pytest.mark.parametrize(
        ("url", "command"),
        [
            (
                "postgresql://u:pw@db:5432/h2x?options=-c%20search_path%3Dpublic",
                "pg_dump --format=custom --file=b.dump 'postgresql://u@db:5432/h2x?options=-c%20search_path%3Dpublic'",
            ),
            (
                "postgres://u@/h2x?host=%2Fvar%2Frun%2Fpostgresql&password=x",
                "pg_dump --format=custom --file=b.dump 'postgresql://u@/h2x?host=%2Fvar%2Frun%2Fpostgresql'",
            ),
            (
                "postgresql+psycopg://u:p%40ss@[::1]:5433/h2x?sslmode=require",
                "pg_dump --format=custom --file=b.dump 'postgresql://u@[::1]:5433/h2x?sslmode=require'",
            ),
        ],
    )
    def test_pg_dump_keeps_the_query_as_typed_and_drops_passwords(self, url: str, command: str) -> None:
        assert pg_dump_command(url, Path("b.dump")) == command

    def test_the_printed_url_says_a_password_is_needed(self) -> None:
        assert printable_url("postgresql://u:secret@db/h2x?options=-c%20x%3Dy") == (
            "postgresql://u:***@db/h2x?options=-c%20x%3Dy"
        )


def _read_pty(master: int, until: str, timeout: float = 10.0) -> str:
    """What the pty's master side received, read until ``until`` arrived (the kernel hands a pty's
    output to its master in chunks, later on a loaded machine: one read can return part of it)."""
    received = b""
    deadline = time.monotonic() + timeout
    while until.encode() not in received and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            received += os.read(master, 65536)
    return received.decode()


class TestProgressBar:
    def test_a_terminal_reporting_0x0_gets_a_bar_80_columns_wide(self) -> None:
        master, slave = pty.openpty()  # a fresh pseudo-terminal reports 0 rows, 0 columns
        try:
            assert os.get_terminal_size(slave).columns == 0
            stream = open(slave, "w", closefd=False)  # noqa: SIM115 - closed below, with the pty
            with ProgressBar(stream) as bar:
                bar.update("", 0, 1000)
                bar.update("incidents", 500, 1000)
                bar.checking()
            stream.close()
            written = _read_pty(master, until="Checking counts and checksums...")
        finally:
            os.close(master)
            os.close(slave)
        lines = [line for line in written.replace("\r", "\n").split("\n") if "incidents:" in line]
        assert lines and "50%|" in lines[-1] and "█" in lines[-1]
        assert max(len(line) for line in lines) <= 80
        assert written.rstrip().endswith("Checking counts and checksums...")

    def test_a_pipe_gets_neither_bar_nor_checking_line(self) -> None:
        stream = io.StringIO()
        with ProgressBar(stream) as bar:
            bar.update("incidents", 500, 1000)
            bar.checking()
        assert stream.getvalue() == ""
