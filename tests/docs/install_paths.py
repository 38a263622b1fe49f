#!/usr/bin/env python3
"""The paths the documentation gives for an installed gpgseal agree with what
`cmake --install` puts on the machine.

Usage: install_paths.py SOURCE_DIR BUILD_DIR

Installs BUILD_DIR with `cmake --install --prefix /usr/local` (CMake's default
prefix, which the docs name) into a scratch DESTDIR, then checks:
- every /usr/local path named in README.md, sieve/README.md and the man pages
  exists in that tree;
- every Debian path they name (/usr/bin/..., /usr/share/doc/gpgseal/...,
  /usr/share/man/man1/...) exists there with /usr/local in front, as
  sieve/README.md and gpgseal(1) tell a `cmake --install` user to read them;
- README's "Installing" table names every program and man page installed;
- every file of sieve/README.md's "Files" table is in the examples directory.
Prints PASS/FAIL lines and "N passed, M failed"; exit status 0 only if none
failed.
"""

import os
import re
import subprocess
import sys
import tempfile

PREFIX = "/usr/local"
# Paths of gpgseal's own files; the docs also name Dovecot's and the
# system's (/usr/lib/dovecot/..., /usr/sbin/...), which are not ours.
OURS = r"(?:bin|share/doc/gpgseal|share/man/man1)(?:/[\w.+-]+)*/?"
LOCAL_PATH = re.compile(r"/usr/local/" + OURS)
DEBIAN_PATH = re.compile(r"(?<![\w/])/usr/" + OURS)

results = {"passed": 0, "failed": 0}


def report(ok: bool, name: str, why: str = "") -> None:
    results["passed" if ok else "failed"] += 1
    print(f"PASS {name}" if ok else f"FAIL {name}: {why}")


def doc_texts(source: str) -> dict[str, str]:
    names = ["README.md", "sieve/README.md"]
    pages = sorted(f"packaging/{p}" for p in os.listdir(f"{source}/packaging")
                   if p.endswith(".1"))
    texts = {}
    for name in names + pages:
        text = open(f"{source}/{name}", encoding="utf-8").read()
        if name.endswith(".1"):
            # troff: \- is a hyphen, \fB...\fR fonts; .I/.IR put words apart.
            text = re.sub(r"\\f[BIRP]", "", text.replace("\\-", "-"))
        texts[name] = text
    return texts


def install(build: str, destdir: str) -> set[str]:
    env = dict(os.environ, DESTDIR=destdir)
    subprocess.run(["cmake", "--install", build, "--prefix", PREFIX],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    tree = set()
    root = destdir + PREFIX
    for top, dirs, files in os.walk(root):
        rel = top[len(root):] or "/"
        tree.add(rel.rstrip("/") + "/")
        tree.update(f"{rel.rstrip('/')}/{f}" for f in files)
    return tree


def exists(tree: set[str], path: str) -> bool:
    rel = path[len(PREFIX):] if path.startswith(PREFIX) else path[len("/usr"):]
    rel = rel.rstrip(".,;:)")
    return rel in tree or rel.rstrip("/") + "/" in tree


def check_named_paths(texts: dict[str, str], tree: set[str]) -> None:
    for name, text in texts.items():
        local = sorted(set(LOCAL_PATH.findall(text)))
        debian = sorted(set(p for p in DEBIAN_PATH.findall(text)
                            if not p.endswith(".gz")))
        if not local and not debian:
            continue  # names no installed path
        missing = [p for p in local if not exists(tree, p)]
        report(not missing, f"{name}/usr-local-paths",
               f"not installed by cmake --install: {missing}")
        missing = [p for p in debian if not exists(tree, p)]
        report(not missing, f"{name}/debian-paths-under-usr-local",
               f"no {PREFIX} counterpart installed: {missing}")


def table_row(text: str, first_cell: str) -> str:
    for line in text.splitlines():
        if line.startswith("| ") and first_cell in line.split("|")[1]:
            return line
    return ""


def check_readme_table(readme: str, tree: set[str]) -> None:
    programs = {p[len("/bin/"):] for p in tree
                if p.startswith("/bin/") and not p.endswith("/")}
    pages = {p[len("/share/man/man1/"):-2] for p in tree
             if p.startswith("/share/man/man1/") and p.endswith(".1")}
    row = table_row(readme, "`gpgseal`")
    named = set(re.findall(r"`([\w-]+)`", row.split("|")[1])) if row else set()
    report(named == programs, "README/install-table-programs",
           f"table names {sorted(named)}, cmake installs {sorted(programs)}")
    row = table_row(readme, "man pages")
    named = set(re.findall(r"`([\w-]+)\(1\)`", row.split("|")[1])) if row else set()
    report(named == pages, "README/install-table-man-pages",
           f"table names {sorted(named)}, cmake installs {sorted(pages)}")
    report("`/usr/local/bin/`" in table_row(readme, "`gpgseal`"),
           "README/install-table-prefix", "no `/usr/local/bin/` column")


def check_kit_files(sieve_readme: str, tree: set[str]) -> None:
    section = sieve_readme.split("## Files", 1)[-1].split("\n## ", 1)[0]
    files = re.findall(r"^\| `([\w.-]+)` \|", section, re.MULTILINE)
    missing = [f for f in files
               if f"/share/doc/gpgseal/examples/{f}" not in tree]
    report(bool(files) and not missing, "sieve/README/kit-files-installed",
           f"listed but not in examples/: {missing}" if files else "no Files table")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    source, build = sys.argv[1:]
    texts = doc_texts(source)
    with tempfile.TemporaryDirectory(prefix="gpgseal-install-") as destdir:
        tree = install(build, destdir)
        check_named_paths(texts, tree)
        check_readme_table(texts["README.md"], tree)
        check_kit_files(texts["sieve/README.md"], tree)
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
