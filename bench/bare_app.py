"""The baseline: a slack-bolt app whose /incident listener only acks, served exactly like ``incidentbot serve``.

Same settings loader, same Web API client, same aiohttp application (``build_web_app``), same
``web.run_app`` options; only the listeners differ. Run: ``python -m bench.bare_app --port N``.
"""

from __future__ import annotations

import argparse
import os

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.config import load_settings
from bot.slack.app import build_client
from bot.slack.server import SHUTDOWN_TIMEOUT, build_web_app


def _always_up() -> bool:
    """``/healthz`` pings the store; the bare app has none and is always healthy."""
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    settings = load_settings(os.environ, env_file=None)
    app = AsyncApp(
        client=build_client(settings),
        signing_secret=settings.slack_signing_secret.get(),
        process_before_response=False,
    )

    async def handle_incident_command(ack: AsyncAck) -> None:
        await ack()

    app.command("/incident")(handle_incident_command)
    web_app = build_web_app(app, _always_up)
    web.run_app(
        web_app,
        host=args.host,
        port=args.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        print=None,
        access_log=None,
        handle_signals=True,
    )


if __name__ == "__main__":
    main()
