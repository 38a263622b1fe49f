#!/usr/bin/env python3
"""Print one fenced code block of README.md, so that tests run what it says.

Usage: readme_block.py README HEADING INDEX

HEADING is a whole heading line ("### Exim: `transport_filter`"); INDEX
counts the fenced blocks (```) from 1 between that heading and the next
heading of any level. The block's lines are printed with the indentation of
its opening fence removed. Exits 1 if there is no such block.
"""

import sys


def block(lines: list[str], heading: str, index: int) -> list[str]:
    start = lines.index(heading) + 1
    found, inside, indent, out = 0, False, 0, []
    for line in lines[start:]:
        stripped = line.lstrip()
        if not inside and line.startswith("#"):
            break
        if stripped.startswith("```"):
            if inside:
                if found == index:
                    return out
                inside = False
            else:
                inside, indent, found = True, len(line) - len(stripped), found + 1
            continue
        if inside and found == index:
            out.append(line[indent:])
    raise ValueError(f"no block {index} under {heading!r}")


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 64
    lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
    try:
        print("\n".join(block(lines, sys.argv[2], int(sys.argv[3]))))
    except ValueError as why:
        print(f"readme_block.py: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
