"""Driving the ``incidentbot`` command line as users run it: a child process with only DATABASE_URL set
(``incidentbot``), or the same entry function in this process, set up alike (``incidentbot_here``);
``run_incidentbot`` is the one place a test chooses between them."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

SCRIPT = Path(sys.executable).parent / "incidentbot"


def incidentbot(
    *args: str,
    database_url: str | None,
    cwd: Path,
    script: bool = False,
    settings: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child process with only DATABASE_URL configured (no .env: cwd is a fresh folder),
    plus ``settings`` (e.g. the TRACKER_* variables) when given; ``timeout`` (seconds) guards against a hang."""
    env = clean_env(database_url, **(settings or {}))
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "bot.cli.main"]
    return subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def incidentbot_here(
    *args: str, database_url: str | None, cwd: Path, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``incidentbot ARGS`` through its entry function, ``bot.cli.main.main``, in this process, set up as
    ``incidentbot`` sets up a child process: the environment is ``clean_env(database_url, **settings)`` (so no
    SLACK_/INCIDENT_/LOG_/TRACKER/PAGERDUTY setting of the caller's, and no DATABASE_URL unless given), the
    working directory is ``cwd`` (so .env is read from there, as a process would), stdout and stderr are captured.
    Returns what ``incidentbot`` returns (args, exit status, stdout, stderr); a usage error's SystemExit is its
    exit status. The environment, working directory and logging set-up (the CLI configures structlog and the
    root logger) are restored afterwards, so this also serves class- and module-scoped set-ups.

    For set-up steps that only put a database in a state, and long sequences where the process adds nothing: no
    interpreter start-up and imports (0.4-1 s a run). What only a process shows (an uncaught traceback printed
    by the interpreter, warnings written to stderr, signals, the exit of the interpreter) needs ``incidentbot``.
    """
    from bot.cli.main import main

    saved_environ = dict(os.environ)
    root = logging.getLogger()
    saved_logging = (structlog.get_config(), list(root.handlers), root.level)
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(clean_env(database_url, **(settings or {})))
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exc:  # argparse's usage errors and --help/--version
                status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        structlog.configure(**saved_logging[0])
        root.handlers[:] = saved_logging[1]
        root.setLevel(saved_logging[2])
    return subprocess.CompletedProcess(["incidentbot", *args], status, out.getvalue(), err.getvalue())


def run_incidentbot(
    *args: str,
    process: bool,
    database_url: str | None,
    cwd: Path,
    settings: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``incidentbot ARGS`` in a child process (``process``: for what only a process shows, see ``incidentbot_here``)
    or through its entry function in this process, with the same environment and working directory either way."""
    if process:
        return incidentbot(*args, database_url=database_url, cwd=cwd, settings=settings)
    return incidentbot_here(*args, database_url=database_url, cwd=cwd, settings=settings)


def clean_env(database_url: str | None = None, **settings: str) -> dict[str, str]:
    """This process's environment without the bot's settings (SLACK_*, INCIDENT_*, LOG_*, TRACKER*, PAGERDUTY*,
    DATABASE_URL), then ``database_url`` as DATABASE_URL when given, and ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "TRACKER", "PAGERDUTY")) and k != "DATABASE_URL"
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update(settings)
    return env


@contextmanager
def timeline_export(database_url: str, folder: Path, incident: str = "INC-4") -> Iterator[subprocess.Popen[bytes]]:
    """``incidentbot timeline <incident> --format json`` as a child process run in ``folder``, its stdout and
    stderr piped for the test to read at its own pace; killed on leaving if it is still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "timeline", incident, "--format", "json"],
        cwd=folder,
        env=clean_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def rest_of_export(process: subprocess.Popen[bytes], first: bytes) -> dict[str, Any]:
    """The export's whole document: ``first`` (what the test read already) and the rest of stdout, once the
    process has exited 0 (else AssertionError with its stderr)."""
    assert process.stdout is not None and process.stderr is not None
    rest = process.stdout.read()
    status = process.wait(timeout=120)
    assert status == 0, process.stderr.read().decode()[-3000:]
    document: dict[str, Any] = json.loads(first + rest)
    return document


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A failure: non-zero exit, exactly one ``incidentbot: ...`` line on stderr, no traceback anywhere."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("incidentbot: ")
    for fragment in fragments:
        assert fragment in lines[0]
