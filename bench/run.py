"""``python -m bench [--quick] [--only NAME ...]``: run the benchmarks, print a table, write JSON."""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, replace
from pathlib import Path

import sqlalchemy as sa

from bench.fakes import BenchSlack
from bench.machine import machine_info
from bench.suites import BENCHES, Context, Row
from bot.log import configure_logging

RESULTS = Path(__file__).resolve().parent / "results"


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"
    return f"{value:,.0f}"


def table(rows: list[Row]) -> str:
    header = ["bench", "case", "metric", "value", "baseline", "ratio", "target", "met"]
    lines = [
        [
            r.bench,
            r.case,
            r.metric,
            _fmt(r.value),
            _fmt(r.baseline),
            _fmt(r.ratio),
            r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller datasets and fewer samples (smoke run)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few samples of each benchmark, to prove they still run (CI); no figure is judged",
    )
    parser.add_argument("--only", action="append", choices=sorted(BENCHES), help="run only this benchmark")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    configure_logging("console", "WARNING")  # in-process service calls; the servers log at INFO as deployed
    logging.getLogger("alembic").setLevel(logging.WARNING)
    selected = args.only or list(BENCHES)
    info = machine_info()
    rows: list[Row] = []
    durations: dict[str, float] = {}
    workdir = Path(tempfile.mkdtemp(prefix="ib-bench-"))
    started = time.perf_counter()
    with ExitStack() as stack:
        slack = stack.enter_context(BenchSlack())
        ctx = Context(quick=args.quick, workdir=workdir, slack=slack, stack=stack, smoke=args.smoke)
        for name in selected:
            began = time.perf_counter()
            print(f"running {name}...", flush=True)
            produced = BENCHES[name](ctx)
            if not produced:
                raise SystemExit(f"benchmark {name} produced no figures")
            rows += produced
            durations[name] = round(time.perf_counter() - began, 1)
            print(f"  {name} took {durations[name]} s", flush=True)
        if ctx._postgres is not None:
            engine = sa.create_engine(ctx._postgres.admin_url)
            with engine.connect() as connection:
                info["postgresql"] = connection.execute(sa.text("SHOW server_version")).scalar_one()
            engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    if args.smoke:  # a handful of samples says nothing about targets
        rows = [replace(r, target="", met=None) for r in rows]
    total = round(time.perf_counter() - started, 1)
    print()
    print(
        f"{info['date_utc']} · {info['cpu']} · {info['cores']} cores · {info['memory_gb']} GB · "
        f"Python {info['python']} · SQLite {info['sqlite']} · PostgreSQL {info['postgresql'] or '-'}"
        f" · {'--smoke' if args.smoke else '--quick' if args.quick else 'full run'} · {total} s"
    )
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": info,
                "quick": args.quick,
                "smoke": args.smoke,
                "seconds": total,
                "durations": durations,
                "rows": [asdict(r) for r in rows],
                "details": ctx.details,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwritten {args.out}")
    return 0
