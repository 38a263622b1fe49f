#!/usr/bin/env python3
"""A mail client's side of the IMAPSieve tests: log in over IMAP, APPEND,
COPY and FETCH, and write down what the server answered.

Usage: imap_client.py PORT USER COMMAND [: COMMAND]...
  COMMAND is one of
    append MAILBOX MESSAGE FLAGS DATE
    copy FROM_MAILBOX UID TO_MAILBOX
    move FROM_MAILBOX UID TO_MAILBOX
    examine MAILBOX
    fetch MAILBOX DIR
  run one after the other in one session (as a client would), stopping at
  the first that fails.

The server is 127.0.0.1:PORT; the password is $IMAP_PASSWORD.
append: MESSAGE (line ends made CRLF, as a client sends them) with FLAGS
  (e.g. '\\Seen $Label1', or '') and INTERNALDATE DATE (RFC 3501 date-time,
  e.g. '20-Nov-2024 10:30:00 +0000'); prints "APPENDUID UIDVALIDITY UID" and
  the seconds it took. Exits 2 if the server dropped the connection during
  the APPEND (no answer at all), 1 on a NO/BAD answer.
copy, move: COPY or MOVE (RFC 6851); print "COPYUID UIDVALIDITY SOURCE_UID
  DEST_UID".
examine: opens MAILBOX read-only (EXAMINE), as some clients keep a folder.
fetch: SELECTs MAILBOX (read-write, as clients do) and for every message writes DIR/UID.eml (the exact bytes of
  BODY[]), and DIR/list: one line per message, "UID FLAGS... | INTERNALDATE",
  flags sorted, \\Recent left out (it depends on the session, not on the
  message).
"""

import imaplib
import os
import re
import sys
import time

TIMEOUT_SECONDS = 120


def connect(port: int, user: str) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
    imap.login(user, os.environ["IMAP_PASSWORD"])
    return imap


def to_crlf(data: bytes) -> bytes:
    return b"\r\n".join(line.rstrip(b"\r") for line in data.split(b"\n"))


def code_of(reply: list, name: str) -> str:
    text = b" ".join(r for r in reply if isinstance(r, bytes)).decode()
    found = re.search(r"\[" + name + r" ([^\]]*)\]", text)
    if not found:
        raise SystemExit(f"no {name} in the answer: {text}")
    return found.group(1)


def append(imap: imaplib.IMAP4, mailbox: str, message: str, flags: str,
           date: str) -> int:
    data = to_crlf(open(message, "rb").read())
    start = time.monotonic()
    try:
        typ, reply = imap.append(mailbox, f"({flags})", f'"{date}"', data)
    except imaplib.IMAP4.abort as error:
        print(f"DROPPED {error} after {time.monotonic() - start:.1f} s")
        return 2
    if typ != "OK":
        print(f"{typ} {reply!r}")
        return 1
    print(f"APPENDUID {code_of(reply, 'APPENDUID')}")
    print(f"{time.monotonic() - start:.1f}")
    return 0


def copy(imap: imaplib.IMAP4, source: str, uid: str, dest: str,
         command: str = "COPY") -> int:
    imap.select(f'"{source}"')
    typ, reply = imap.uid(command, uid, f'"{dest}"')
    if typ != "OK":
        print(f"{typ} {reply!r}")
        return 1
    # imaplib files the tagged answer's response code under its name.
    _, codes = imap.response("COPYUID")
    print(f"COPYUID {codes[-1].decode() if codes and codes[-1] else '?'}")
    return 0


def examine(imap: imaplib.IMAP4, mailbox: str) -> int:
    typ, reply = imap.select(f'"{mailbox}"', readonly=True)
    if typ != "OK":
        print(f"cannot examine {mailbox}: {reply!r}")
        return 1
    return 0


FETCH_LINE = re.compile(
    rb'UID (\d+) FLAGS \(([^)]*)\) INTERNALDATE "([^"]*)" BODY\[\] \{\d+\}$')


def fetch(imap: imaplib.IMAP4, mailbox: str, out_dir: str) -> int:
    typ, _ = imap.select(f'"{mailbox}"')
    if typ != "OK":
        print(f"cannot select {mailbox}")
        return 1
    typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
    listing = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        found = FETCH_LINE.search(item[0])
        if not found:
            print(f"unexpected FETCH answer: {item[0]!r}")
            return 1
        uid, flags, date = (g.decode() for g in found.groups())
        flags = " ".join(sorted(f for f in flags.split() if f != "\\Recent"))
        with open(os.path.join(out_dir, f"{uid}.eml"), "wb") as out:
            out.write(item[1])
        listing.append(f"{uid} {flags} | {date}\n")
    with open(os.path.join(out_dir, "list"), "w") as out:
        out.writelines(listing)
    return 0


def move(imap: imaplib.IMAP4, source: str, uid: str, dest: str) -> int:
    return copy(imap, source, uid, dest, "MOVE")


COMMANDS = {"append": (append, 4), "copy": (copy, 3), "move": (move, 3),
            "examine": (examine, 1), "fetch": (fetch, 2)}


def parse(words: list[str]) -> list[list[str]]:
    steps, step = [], []
    for word in words + [":"]:
        if word != ":":
            step.append(word)
            continue
        if not step or step[0] not in COMMANDS or \
                len(step) - 1 != COMMANDS[step[0]][1]:
            raise ValueError(step)
        steps.append(step)
        step = []
    return steps


def main() -> int:
    try:
        port, user, *words = sys.argv[1:]
        steps = parse(words)
    except ValueError:
        print(__doc__, file=sys.stderr)
        return 64
    imap = connect(int(port), user)
    for command, *args in steps:
        status = COMMANDS[command][0](imap, *args)
        if status != 0:
            break
    if status != 2:
        imap.logout()
    return status


if __name__ == "__main__":
    sys.exit(main())
