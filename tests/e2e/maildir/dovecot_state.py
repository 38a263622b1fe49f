#!/usr/bin/env python3
"""What Dovecot itself says about a user's mailboxes, before and after
gpgseal-maildir ran: asked through doveadm, never read from its files.

Usage:
  dovecot_state.py snapshot CONF USER OUT.json
      UIDVALIDITY of every mailbox, and per message (by Message-ID) its UID
      and flags (\\Recent left out: it belongs to a session). Fails if a
      Message-ID occurs twice.
  dovecot_state.py same BEFORE.json AFTER.json UNCHANGED_ID...
      Same mailboxes, UIDVALIDITY, messages and flags. The messages named
      UNCHANGED_ID keep their UID; every other message has a new one (its
      content changed, so IMAP requires a new UID).
  dovecot_state.py fetch-all CONF USER
      Fetches every message's full text through Dovecot; fails on any error
      (e.g. "Cached message size smaller than expected").
  dovecot_state.py expect STATE.json MAILBOX=ID[,ID...]...
      Each mailbox holds exactly these Message-IDs, each once.
Exits 0 on success; otherwise prints why and exits 1.
"""

import json
import subprocess
import sys

TIMEOUT = 120


def doveadm(conf: str, *args: str) -> list:
    result = subprocess.run(["doveadm", "-c", conf, "-f", "json", *args],
                            capture_output=True, timeout=TIMEOUT, text=True,
                            errors="replace")
    if result.returncode != 0 or result.stderr.strip():
        raise SystemExit(f"doveadm {' '.join(args)} failed ({result.returncode}): "
                         f"{result.stderr.strip()}")
    return json.loads(result.stdout or "[]")


def snapshot(conf: str, user: str, out: str) -> None:
    state = {}
    for box in doveadm(conf, "mailbox", "status", "-u", user, "uidvalidity messages", "*"):
        state[box["mailbox"]] = {"uidvalidity": box["uidvalidity"], "messages": {}}
    for msg in doveadm(conf, "fetch", "-u", user, "mailbox uid flags hdr.message-id",
                       "mailbox", "*", "all"):
        messages = state[msg["mailbox"]]["messages"]
        msgid = msg["hdr.message-id"].strip()
        if msgid in messages:
            raise SystemExit(f"{msgid} twice in {msg['mailbox']}")
        flags = sorted(f for f in msg["flags"].split() if f != "\\Recent")
        messages[msgid] = {"uid": int(msg["uid"]), "flags": flags}
    with open(out, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)


def same(before_path: str, after_path: str, unchanged: list) -> None:
    before = json.load(open(before_path))
    after = json.load(open(after_path))
    problems = []
    if sorted(before) != sorted(after):
        problems.append(f"mailboxes {sorted(before)} became {sorted(after)}")
    for box in sorted(set(before) & set(after)):
        b, a = before[box], after[box]
        if b["uidvalidity"] != a["uidvalidity"]:
            problems.append(f"{box}: UIDVALIDITY {b['uidvalidity']} became {a['uidvalidity']}")
        if sorted(b["messages"]) != sorted(a["messages"]):
            problems.append(f"{box}: messages {sorted(b['messages'])} became "
                            f"{sorted(a['messages'])}")
        for msgid in sorted(set(b["messages"]) & set(a["messages"])):
            bm, am = b["messages"][msgid], a["messages"][msgid]
            if bm["flags"] != am["flags"]:
                problems.append(f"{box} {msgid}: flags {bm['flags']} became {am['flags']}")
            if (bm["uid"] == am["uid"]) != (msgid in unchanged):
                problems.append(f"{box} {msgid}: UID {bm['uid']} became {am['uid']}")
    if problems:
        raise SystemExit("\n".join(problems))


def fetch_all(conf: str, user: str) -> None:
    boxes = doveadm(conf, "mailbox", "status", "-u", user, "messages", "*")
    for box in boxes:
        texts = doveadm(conf, "fetch", "-u", user, "text", "mailbox", box["mailbox"], "all")
        if len(texts) != int(box["messages"]) or any(not t["text"] for t in texts):
            raise SystemExit(f"{box['mailbox']}: fetched {len(texts)} texts of "
                             f"{box['messages']} messages")


def expect(state_path: str, specs: list) -> None:
    state = json.load(open(state_path))
    problems = []
    for spec in specs:
        box, ids = spec.split("=", 1)
        want = sorted(i for i in ids.split(",") if i)
        have = sorted(state.get(box, {"messages": {}})["messages"])
        if want != have:
            problems.append(f"{box}: missing {sorted(set(want) - set(have))}, "
                            f"unexpected {sorted(set(have) - set(want))}")
    if problems:
        raise SystemExit("\n".join(problems))


def main() -> int:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "snapshot":
        snapshot(*args)
    elif command == "same":
        same(args[0], args[1], args[2:])
    elif command == "fetch-all":
        fetch_all(*args)
    elif command == "expect":
        expect(args[0], args[1:])
    else:
        print(__doc__, file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main())
