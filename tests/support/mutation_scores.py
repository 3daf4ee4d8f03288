"""Per-module mutation scores of bot/domain from mutmut's results, less the mutants judged equivalent.

Run after ``mutmut run`` (README, "Mutation testing")::

    .venv/bin/python -m tests.support.mutation_scores [module ...]

It reads ``mutants/bot/domain/<module>.py.meta`` (mutmut 3's per-file results) and
``tests/support/mutation_equivalents.toml`` (each equivalent mutant's name with the reason it cannot
change behaviour), and prints one Markdown table row per module: mutants, killed, survived, no test,
equivalent, and the score = killed / (mutants - equivalent). A timeout counts as killed (the mutant
made the tests hang, and mutmut stopped them). It lists the survivors not judged equivalent, and
warns about listed equivalents that are stale (no such mutant, or now killed: such a mutant counts
as killed, not as equivalent).
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "mutants" / "bot" / "domain"
EQUIVALENTS = Path(__file__).with_name("mutation_equivalents.toml")
KILLED_CODES = {1, 3}  # a failing test, or pytest's internal error caused by the mutant
TIMEOUT_CODES = {36, -24, 24, 152, 255}
NO_TEST_CODES = {5, 33}


@dataclass
class ModuleScore:
    module: str
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    no_test: list[str] = field(default_factory=list)
    equivalent: int = 0
    unchecked: int = 0

    @property
    def total(self) -> int:
        return self.killed + len(self.survived) + len(self.no_test) + self.equivalent + self.unchecked

    @property
    def score(self) -> float:
        judged = self.total - self.equivalent
        return self.killed / judged if judged else 1.0


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """Mutant name -> why it is equivalent."""
    with path.open("rb") as file:
        return dict(tomllib.load(file).get("equivalent", {}))


def exit_codes(module: str) -> dict[str, int | None]:
    """mutmut's exit code for each mutant of ``bot/domain/<module>.py`` (None: not run yet)."""
    data: dict[str, int | None] = json.loads((RESULTS / f"{module}.py.meta").read_text())["exit_code_by_key"]
    return data


def score_module(module: str, equivalents: dict[str, str], stale: list[str]) -> ModuleScore:
    """The score of ``bot/domain/<module>.py`` from its mutmut results."""
    result = ModuleScore(module)
    for name, code in sorted(exit_codes(module).items()):
        killed = code in KILLED_CODES or code in TIMEOUT_CODES
        if killed:
            # A listed "equivalent" that a test kills was not equivalent: it counts as killed, and is flagged.
            if name in equivalents:
                stale.append(f"{name} is listed as equivalent but a test kills it")
            result.killed += 1
        elif name in equivalents:
            result.equivalent += 1
        elif code == 0:
            result.survived.append(name)
        elif code in NO_TEST_CODES:
            result.no_test.append(name)
        else:
            result.unchecked += 1
    return result


def main(argv: list[str]) -> int:
    if not RESULTS.is_dir():
        print(f"No mutmut results in {RESULTS}: run `mutmut run` first (README, Mutation testing).", file=sys.stderr)
        return 1
    equivalents = load_equivalents()
    modules = argv or sorted(p.name.removesuffix(".py.meta") for p in RESULTS.glob("*.py.meta"))
    prefix = "bot.domain."
    known = {name for name in equivalents if name.split(".")[2] in modules}
    stale: list[str] = []
    scores = [score_module(m, equivalents, stale) for m in modules]
    measured = {name for m in modules for name in exit_codes(m)}
    stale += [f"{name} is listed as equivalent but no such mutant exists" for name in sorted(known - measured)]
    print("| module | mutants | killed | survived | no test | equivalent | score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in scores:
        if s.total == 0:
            continue
        unchecked = f" ({s.unchecked} not run)" if s.unchecked else ""
        print(
            f"| {s.module}.py | {s.total} | {s.killed} | {len(s.survived)} | {len(s.no_test)} | {s.equivalent} "
            f"| {s.score:.1%}{unchecked} |"
        )
    for s in scores:
        for name in s.survived + s.no_test:
            print(f"not killed: {name.removeprefix(prefix)}", file=sys.stderr)
    for line in stale:
        print(f"stale: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
