"""Load generator, run in its own process so it never shares an event loop (or a GIL) with the server.

Reads a JSON spec on stdin, drives ``concurrency`` closed-loop clients (each sends its next signed
slash command as soon as the previous one is answered, from its channel: ``[id, name]``, client i
using channel i modulo their number) over keep-alive aiohttp connections, and
prints JSON: per-request latencies after the warm-up, errors, and the measured wall time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aiohttp

from tests.support import signing


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    urls: list[str] = spec["urls"]
    channels: list[list[str]] = spec["channels"]  # [channel id, channel name]
    concurrency: int = spec["concurrency"]
    warmup: int = spec["warmup"]
    total: int = spec["requests"] + warmup
    secret: str = spec["secret"]
    counter = iter(range(total))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    window: dict[str, float] = {}

    async def client(worker: int, session: aiohttp.ClientSession) -> None:
        url = urls[worker % len(urls)] + "/slack/events"
        channel, channel_name = channels[worker % len(channels)]
        for index in counter:
            body = signing.slash_command_body(
                spec["text"].format(i=index, w=worker),
                channel_id=channel,
                channel_name=channel_name,
                user_id=f"U0LOAD{worker:03d}",
                user_name=f"load{worker}",
                response_url=spec["response_url"],
            )
            headers = signing.signed_headers(secret, body, content_type=signing.FORM_CONTENT_TYPE)
            if index == warmup:
                window["start"] = time.perf_counter()
            started = time.perf_counter()
            try:
                async with session.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError as exc:
                status = type(exc).__name__  # type: ignore[assignment]
            elapsed = (time.perf_counter() - started) * 1000
            if index >= warmup:
                latencies.append(elapsed)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                window["end"] = time.perf_counter()

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(w, session) for w in range(concurrency)))
    return {
        "latencies_ms": latencies,
        "errors": errors,
        "seconds": window.get("end", 0.0) - window.get("start", 0.0),
    }


def main() -> None:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(drive(spec))))


if __name__ == "__main__":
    main()
