"""Print the README's two first commands (Try it, Run the tests), one per line, for .ci/run to run verbatim.

Each is the first line of the first ```sh block under its heading, so CI runs exactly what a new
user copies. Exit status 1, with one line on stderr, if either block is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADINGS = ("## Try it", "## Run the tests")


def readme_commands(text: str) -> list[str]:
    """The first command line of the first ``sh`` block after each heading of HEADINGS, in that order."""
    lines = text.splitlines()
    commands: list[str] = []
    for heading in HEADINGS:
        start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
        if start is None:
            raise ValueError(f"README has no heading {heading!r}")
        fence = next((i for i in range(start + 1, len(lines)) if lines[i].strip() == "```sh"), None)
        if fence is None or fence + 1 >= len(lines) or lines[fence + 1].startswith("```"):
            raise ValueError(f"README has no ```sh block under {heading!r}")
        commands.append(lines[fence + 1].strip())
    return commands


def main(argv: list[str]) -> int:
    try:
        print("\n".join(readme_commands(Path(argv[1]).read_text(encoding="utf-8"))))
    except (OSError, ValueError, IndexError) as exc:
        print(f"readme_commands: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
