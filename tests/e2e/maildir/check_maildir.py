#!/usr/bin/env python3
"""Compare a Maildir before and after gpgseal-maildir, file by file.

Usage:
  check_maildir.py replaced BEFORE AFTER CLIENT_GNUPGHOME
      BEFORE is a copy (cp -a) taken just before the run. For every message
      file of every folder (the root and each Maildir++ .subfolder) exactly
      one file with the same base name must be in the same directory (cur/ or
      new/) afterwards, with the same ':2,' flags, mode, owner and mtime, and
      S=/W= matching its bytes. An already encrypted message stays byte for
      byte; every other one must decrypt (with the secret key in
      CLIENT_GNUPGHOME) to the original. tmp/ must be empty; dovecot-keywords
      and dovecot-uidvalidity* must be untouched.
  check_maildir.py sealed MAILDIR ORIGINALS_DIR CLIENT_GNUPGHOME
      Every message file in MAILDIR decrypts to the .eml in ORIGINALS_DIR
      with its Message-ID, and has the right S=/W=; tmp/ is empty.
Exits 0 on success; otherwise prints every problem and exits 1.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import check_stored  # noqa: E402  (tests/e2e/check_stored.py)

MESSAGE_DIRS = ("cur", "new")


def folders(root: str) -> list:
    found = [root]
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.startswith(".") and name not in (".", "..") and \
                os.path.isdir(os.path.join(path, "cur")) and not os.path.islink(path):
            found.append(path)
    return found


def messages(folder: str) -> dict:
    """base -> (subdir, name) for the message files of a folder."""
    found = {}
    for sub in MESSAGE_DIRS:
        for name in os.listdir(os.path.join(folder, sub)):
            if name.startswith("."):
                continue
            base = re.split("[,:]", name, maxsplit=1)[0]
            if base in found:
                raise check_stored.Mismatch(f"{folder}: base {base} twice")
            found[base] = (sub, name)
    return found


def info(name: str) -> str:
    return name[name.index(":"):] if ":" in name else ""


def check_sizes(path: str) -> None:
    data = open(path, "rb").read()
    key = os.path.basename(path).split(":")[0]
    fields = dict(f.split("=", 1) for f in key.split(",")[1:] if "=" in f)
    lfs = len(re.findall(b"(?<!\r)\n", data))
    if fields.get("S") != str(len(data)) or fields.get("W") != str(len(data) + lfs):
        raise check_stored.Mismatch(f"{path}: S=/W= {fields} for {len(data)} bytes, {lfs} LFs")


def is_encrypted(data: bytes) -> bool:
    head = check_stored.to_lf(data).split(b"\n\n", 1)[0].lower()
    return b"multipart/encrypted" in head


def check_attributes(before: str, after: str) -> None:
    b, a = os.stat(before), os.stat(after)
    for attribute in ("st_mode", "st_uid", "st_gid", "st_mtime_ns"):
        if getattr(b, attribute) != getattr(a, attribute):
            raise check_stored.Mismatch(f"{after}: {attribute} {getattr(b, attribute)} "
                                        f"became {getattr(a, attribute)}")


def check_pair(before: str, after: str, gnupghome: str) -> None:
    old, new = open(before, "rb").read(), open(after, "rb").read()
    check_attributes(before, after)
    if is_encrypted(old):
        if (old, os.path.basename(before)) != (new, os.path.basename(after)):
            raise check_stored.Mismatch(f"{after}: already encrypted, but changed")
        return
    if info(os.path.basename(before)) != info(os.path.basename(after)):
        raise check_stored.Mismatch(f"{after}: flags differ from {before}")
    check_sizes(after)
    check_stored.check_encrypted(check_stored.to_lf(old), new, gnupghome)


def check_untouched_files(before: str, after: str) -> list:
    problems = []
    for name in os.listdir(before):
        if name == "dovecot-keywords" or name.startswith("dovecot-uidvalidity"):
            if open(os.path.join(before, name), "rb").read() != \
                    open(os.path.join(after, name), "rb").read():
                problems.append(f"{after}/{name} changed")
    return problems


def replaced(before_root: str, after_root: str, gnupghome: str) -> list:
    problems = []
    for before in folders(before_root):
        after = os.path.join(after_root, os.path.relpath(before, before_root))
        problems += check_untouched_files(before, after)
        if os.listdir(os.path.join(after, "tmp")):
            problems.append(f"{after}/tmp is not empty")
        old, new = messages(before), messages(after)
        if sorted(old) != sorted(new):
            problems.append(f"{after}: bases {sorted(old)} became {sorted(new)}")
        for base in sorted(set(old) & set(new)):
            (old_sub, old_name), (new_sub, new_name) = old[base], new[base]
            try:
                if old_sub != new_sub:
                    raise check_stored.Mismatch(f"{base} moved from {old_sub} to {new_sub}")
                check_pair(os.path.join(before, old_sub, old_name),
                           os.path.join(after, new_sub, new_name), gnupghome)
            except check_stored.Mismatch as why:
                problems.append(f"{after}/{new_sub}/{new_name}: {why}")
    return problems


def message_id(data: bytes) -> str:
    match = re.search(rb"^message-id:\s*(\S+)", check_stored.to_lf(data), re.I | re.M)
    return match.group(1).decode() if match else ""


def sealed(root: str, originals_dir: str, gnupghome: str) -> list:
    originals = {}
    for name in os.listdir(originals_dir):
        data = open(os.path.join(originals_dir, name), "rb").read()
        originals[message_id(data)] = data
    problems = []
    for folder in folders(root):
        if os.listdir(os.path.join(folder, "tmp")):
            problems.append(f"{folder}/tmp is not empty")
        for sub, name in messages(folder).values():
            path = os.path.join(folder, sub, name)
            data = open(path, "rb").read()
            try:
                original = originals.get(message_id(data))
                if original is None:
                    raise check_stored.Mismatch("no original with its Message-ID")
                check_sizes(path)
                check_stored.check_encrypted(check_stored.to_lf(original), data, gnupghome)
            except check_stored.Mismatch as why:
                problems.append(f"{path}: {why}")
    return problems


def main() -> int:
    command, args = sys.argv[1], sys.argv[2:]
    try:
        if command == "replaced":
            problems = replaced(*args)
        elif command == "sealed":
            problems = sealed(*args)
        else:
            print(__doc__, file=sys.stderr)
            return 64
    except check_stored.Mismatch as why:
        problems = [str(why)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
