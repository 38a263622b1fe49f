#!/usr/bin/env python3
"""Print the fenced code blocks of one section of a Markdown file, so that a
test runs the very commands (or includes the very configuration) the
documentation gives an admin.

Usage: doc_blocks.py FILE HEADING LANGUAGE [FROM=TO...]

Prints, one after the other, every ```LANGUAGE block between the heading
whose text is HEADING (any level) and the next heading of the same or a
higher level, each FROM replaced by TO (the test's own paths for the
system's). Exits 1 if the heading or such a block is missing.
"""

import re
import sys

HEADING = re.compile(r"^(#+)\s+(.*?)\s*$")


def section(lines: list[str], title: str) -> list[str]:
    level = None
    found: list[str] = []
    for line in lines:
        heading = HEADING.match(line)
        if heading and level is not None and len(heading.group(1)) <= level:
            break
        if level is not None:
            found.append(line)
        elif heading and heading.group(2) == title:
            level = len(heading.group(1))
    if level is None:
        raise SystemExit(f"no heading {title!r}")
    return found


def blocks(lines: list[str], language: str) -> list[str]:
    out, inside = [], False
    for line in lines:
        if inside and line.strip() == "```":
            inside = False
        elif inside:
            out.append(line)
        elif line.strip() == "```" + language:
            inside = True
    return out


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 64
    path, title, language, *replacements = sys.argv[1:]
    text = blocks(section(open(path).read().splitlines(), title), language)
    if not text:
        print(f"no ```{language} block under {title!r} in {path}",
              file=sys.stderr)
        return 1
    output = "\n".join(text) + "\n"
    for pair in replacements:
        old, new = pair.split("=", 1)
        output = output.replace(old, new)
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
