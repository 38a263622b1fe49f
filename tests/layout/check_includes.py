#!/usr/bin/env python3
"""The include rules that keep the layers of src/ apart.

- src/cli includes only the core's public face (src/core/*.hpp) and cli/.
- mime never includes openpgp (nor cms), openpgp and cms never include mime.
- base includes only base and the public face.
- the filter hub never includes maildir.
- nothing in src/core includes cli.

Usage: check_includes.py SRC_DIR | --self-test. Prints each broken rule and exits 1, or
prints "include rules: N files checked, all kept" and exits 0.
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def area(path: str) -> str:
    """The layer of a file or include, relative to src/: cli, public, base, ..."""
    parts = path.split("/")
    if parts[0] == "cli":
        return "cli"
    if parts[0] == "core":
        return "public" if len(parts) == 2 else parts[1]
    return "other"


def problems_of(source: str, included: str) -> list[str]:
    here, there = area(source), area(included)
    found = []
    if here == "cli" and there not in ("cli", "public", "other"):
        found.append("front-ends include only the core's public face (src/core/*.hpp)")
    if here != "cli" and there == "cli":
        found.append("the core never includes cli")
    if here == "mime" and there in ("openpgp", "cms"):
        found.append("mime never includes openpgp or cms")
    if here in ("openpgp", "cms") and there == "mime":
        found.append(f"{here} never includes mime")
    if here == "base" and there not in ("base", "public", "other"):
        found.append("base includes only base and the public face")
    if source.startswith("core/filter.") and (there == "maildir" or included == "core/maildir.hpp"):
        found.append("the filter never includes maildir")
    return found


# Each include that must be caught, and one that must pass, for --self-test.
SELF_TEST = [
    ("cli/gpgseal/main.cpp", "core/openpgp/keys.hpp", True),
    ("cli/gpgseal/main.cpp", "core/filter.hpp", False),
    ("core/mime/detect.cpp", "core/openpgp/keys.hpp", True),
    ("core/openpgp/keys.cpp", "core/mime/detect.hpp", True),
    ("core/cms/encrypt.cpp", "core/mime/payload.hpp", True),
    ("core/base/spool.cpp", "core/mime/detect.hpp", True),
    ("core/filter.cpp", "core/maildir/folder.hpp", True),
    ("core/filter.cpp", "core/maildir.hpp", True),
    ("core/maildir/message.cpp", "cli/common/log.hpp", True),
    ("core/maildir/message.cpp", "core/filter.hpp", False),
    ("core/filter.cpp", "core/openpgp/sealing.hpp", False),
]


def self_test() -> int:
    wrong = [(s, i) for s, i, bad in SELF_TEST if bool(problems_of(s, i)) != bad]
    for source, included in wrong:
        print(f"self-test: the rule for {source} including {included} is wrong")
    print(f"include rules self-test: {len(SELF_TEST) - len(wrong)} of {len(SELF_TEST)} right")
    return 1 if wrong else 0


def main() -> int:
    if sys.argv[1] == "--self-test":
        return self_test()
    src = pathlib.Path(sys.argv[1])
    files = sorted(p for p in src.rglob("*") if p.suffix in (".cpp", ".hpp"))
    broken = []
    for path in files:
        source = path.relative_to(src).as_posix()
        for included in INCLUDE.findall(path.read_text()):
            for problem in problems_of(source, included):
                broken.append(f"{source}: includes {included}: {problem}")
    for line in broken:
        print(line)
    if broken:
        print(f"include rules: {len(broken)} broken in {len(files)} files")
        return 1
    print(f"include rules: {len(files)} files checked, all kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
