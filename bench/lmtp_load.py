#!/usr/bin/env python3
"""Load driver for bench/load.sh and the fault tests: deliver many messages
over several LMTP sessions at once, then check what Dovecot stored.

Usage:
  lmtp_load.py send SOCKET --tag TAG --rcpt ADDR[,ADDR...] [--messages N]
               [--sessions N] [--seed S] [--mix load|small|medium|huge]
               [--progress FILE] [--results FILE]
  lmtp_load.py verify --tag TAG --rcpt ... [--messages N] [--seed S] [--mix M]
               --maildir ADDR=DIR ... --gnupghome CLIENT [--results FILE]
               [--plain ADDR] [--allow-flagged ADDR] [--min-flagged N]
               [--encrypted-after ADDR@T] [--clear-after ADDR@T]

Messages are made from the seed alone, so `verify` rebuilds each original
instead of keeping it: message i goes to the i-th recipient of --rcpt (round
robin) and carries Message-ID <TAG.i@load.example.net>. The mixes:
  load   70% 0.5-10 KiB, 25% 10 KiB-1 MiB, 5% 1-20 MiB (log-uniform within)
  small  0.5-20 KiB          medium  100-700 KiB          huge  20 MiB each
`send` runs one LMTP connection per session, each taking the next message;
a 4xx answer or a dropped connection is retried (up to 3 attempts), like an
MTA would. It prints messages/s and p50/p99 latency (end of DATA's reply
minus MAIL FROM, of the last attempt) and, with --results, writes per message
start, end and attempts as JSON.

`verify` reads every message file under the Maildirs (all folders) and
classifies each message of the run: encrypted (RFC 3156, decrypts with the
secret keys in CLIENT to the original's Content-* fields and body), flagged
(in clear, body intact, in folder Unencrypted with keyword $FilterFailed: the
strict script's documented fallback), clear (in clear anywhere else), bad
(decrypts or reads to a different body), missing, duplicated. By default
every message must be encrypted; --plain ADDR: that recipient's messages must
be stored in clear (no filter); --allow-flagged ADDR accepts flagged ones;
--encrypted-after ADDR@T / --clear-after ADDR@T: messages to ADDR whose
delivery began after T (seconds since the epoch) must be encrypted / must not
be. Exits 0 if every rule holds, 1 otherwise, printing each violation.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import json
import math
import os
import queue
import random
import re
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

# The payload every encrypted copy must decrypt to (protected-header block,
# marked Content-Type, body) is the end-to-end tests' own oracle.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from check_stored import expected_payload, split_message  # noqa: E402

DOMAIN = "load.example.net"
SENDER = "load-sender@example.net"
KIB = 1024
MIB = 1024 * KIB
ATTEMPTS = 3
LMTP_TIMEOUT = 600
GPG_BATCH = 100


# --- the messages ---------------------------------------------------------------

def log_uniform(rng: random.Random, low: int, high: int) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def size_of(rng: random.Random, mix: str) -> int:
    if mix == "small":
        return rng.randint(KIB // 2, 20 * KIB)
    if mix == "medium":
        return rng.randint(100 * KIB, 700 * KIB)
    if mix == "huge":
        return 20 * MIB
    pick = rng.random()
    if pick < 0.70:
        return rng.randint(KIB // 2, 10 * KIB - 1)
    if pick < 0.95:
        return log_uniform(rng, 10 * KIB, MIB)
    return log_uniform(rng, MIB, 20 * MIB)


WORDS = ("the figures for the quarter are attached and the audit closes on "
         "friday please check the summary sheet before the meeting").split()


def message(seed: int, tag: str, index: int, rcpt: str, mix: str) -> bytes:
    """Message `index` of the run, about the size its mix draws, CRLF."""
    rng = random.Random(f"{seed}:{index}")
    size = size_of(rng, mix)
    boundary = f"=_load_{rng.getrandbits(48):012x}"
    head = (f"From: Load Sender <{SENDER}>\r\n"
            f"To: <{rcpt}>\r\n"
            f"Subject: load run {tag} message {index}\r\n"
            "Date: Thu, 21 Nov 2024 09:12:41 +0000\r\n"
            f"Message-ID: <{tag}.{index}@{DOMAIN}>\r\n"
            "MIME-Version: 1.0\r\n")
    text_len = min(size, 2 * KIB)
    text = " ".join(rng.choice(WORDS) for _ in range(text_len // 6))
    lines = [text[i:i + 70] for i in range(0, len(text), 70)]
    text_body = "\r\n".join(lines) + "\r\n"
    room = size - len(head) - len(text_body) - 400
    if room < 64:
        return (head + "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                + text_body).encode()
    blob = base64.encodebytes(rng.randbytes(room * 3 // 4))
    attachment = blob.replace(b"\n", b"\r\n")
    return (head.encode()
            + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
              f"--{boundary}\r\n"
              "Content-Type: text/plain; charset=us-ascii\r\n\r\n".encode()
            + text_body.encode()
            + f"\r\n--{boundary}\r\n"
              "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
              "Content-Transfer-Encoding: base64\r\n"
              "Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n"
              .encode()
            + attachment
            + f"\r\n--{boundary}--\r\n".encode())


def recipient(rcpts: list[str], index: int) -> str:
    return rcpts[index % len(rcpts)]


# --- send -----------------------------------------------------------------------

class Session:
    """One LMTP connection, reopened when the server drops it."""

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        self.lmtp = None

    def deliver(self, rcpt: str, data: bytes) -> tuple[int, str]:
        if self.lmtp is None:
            self.lmtp = smtplib.LMTP(self.socket_path, timeout=LMTP_TIMEOUT)
            self.lmtp.ehlo()
        lmtp = self.lmtp
        try:
            code, reply = lmtp.mail(SENDER)
            if code == 250:
                code, reply = lmtp.rcpt(rcpt)
            if code in (250, 251):
                code, reply = lmtp.data(data)
            else:
                lmtp.rset()
            return code, reply.decode(errors="replace")
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            return 421, str(error)

    def close(self) -> None:
        if self.lmtp is not None:
            try:
                self.lmtp.close()
            except OSError:
                pass
        self.lmtp = None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def send(args) -> int:
    rcpts = args.rcpt.split(",")
    todo: queue.Queue = queue.Queue()
    for index in range(args.messages):
        todo.put(index)
    results: dict[int, dict] = {}
    lock = threading.Lock()

    def worker() -> None:
        session = Session(args.socket)
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                break
            rcpt = recipient(rcpts, index)
            data = message(args.seed, args.tag, index, rcpt, args.mix)
            for attempt in range(1, ATTEMPTS + 1):
                start = time.time()
                code, reply = session.deliver(rcpt, data)
                end = time.time()
                if code == 250 or 500 <= code < 600:
                    break
                time.sleep(0.5)
            with lock:
                results[index] = {"rcpt": rcpt, "bytes": len(data), "start": start,
                                  "end": end, "attempts": attempt, "code": code,
                                  "reply": reply if code != 250 else ""}
                if args.progress:
                    with open(args.progress + ".new", "w") as out:
                        out.write(f"{len(results)}\n")
                    os.replace(args.progress + ".new", args.progress)
        session.close()

    began = time.time()
    threads = [threading.Thread(target=worker) for _ in range(args.sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - began
    failed = {i: r for i, r in results.items() if r["code"] != 250}
    latencies = [r["end"] - r["start"] for r in results.values() if r["code"] == 250]
    total_bytes = sum(r["bytes"] for r in results.values())
    if args.results:
        with open(args.results, "w") as out:
            json.dump({"elapsed": elapsed, "bytes": total_bytes,
                       "messages": {str(i): r for i, r in results.items()}}, out)
    if latencies:
        print(f"{len(latencies) / elapsed:.2f} {percentile(latencies, 0.5):.3f} "
              f"{percentile(latencies, 0.99):.3f} {elapsed:.2f} {total_bytes}")
    for index, result in sorted(failed.items()):
        print(f"lmtp_load: message {index} to {result['rcpt']}: {result['code']} "
              f"{result['reply']}", file=sys.stderr)
    return 1 if failed or not latencies else 0


# --- verify ---------------------------------------------------------------------

def to_lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def split_entity(data: bytes) -> tuple[bytes, bytes]:
    data = to_lf(data)
    end = data.find(b"\n\n")
    if end < 0:
        return data, b""
    return data[:end + 1], data[end + 2:]


def message_id(header: bytes, tag: str):
    match = re.search(rb"^message-id:\s*<" + re.escape(tag.encode()) +
                      rb"\.(\d+)@", header, re.I | re.M)
    return int(match.group(1)) if match else None


def armor_of(body: bytes):
    start = body.find(b"-----BEGIN PGP MESSAGE-----")
    end = body.find(b"-----END PGP MESSAGE-----")
    if start < 0 or end < 0:
        return None
    return body[start:end + len(b"-----END PGP MESSAGE-----")] + b"\n"


def keywords(path: str) -> set[str]:
    """Keywords of one Maildir file, from its :2, letters and dovecot-keywords."""
    name = os.path.basename(path)
    if ":2," not in name:
        return set()
    folder = os.path.dirname(os.path.dirname(path))
    names = {}
    try:
        with open(os.path.join(folder, "dovecot-keywords")) as table:
            for line in table:
                number, _, word = line.strip().partition(" ")
                names[int(number)] = word
    except OSError:
        pass
    return {names.get(ord(c) - ord("a"), c) for c in name.split(":2,")[1] if c.islower()}


def stored_files(maildir: str):
    for folder, _, files in os.walk(maildir):
        if os.path.basename(folder) in ("new", "cur"):
            for name in files:
                yield os.path.join(folder, name)


def decrypt_all(work: str, names: list[str], gnupghome: str) -> dict[str, bytes]:
    """Decrypts WORK/NAME.asc for each name with few gpg runs (--decrypt-files);
    returns the SHA-256 of each plaintext that came out, line ends as LF."""
    batches = [names[i:i + GPG_BATCH] for i in range(0, len(names), GPG_BATCH)]

    def run(batch):
        subprocess.run(["gpg", "--homedir", gnupghome, "--batch", "--yes", "--quiet",
                        "--pinentry-mode", "loopback", "--passphrase", "",
                        "--decrypt-files"] + [os.path.join(work, n + ".asc") for n in batch],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(run, batches))
    digests = {}
    for name in names:
        try:
            with open(os.path.join(work, name), "rb") as result:
                digests[name] = hashlib.sha256(to_lf(result.read())).digest()
        except OSError:
            pass
    return digests


def classify(args, work: str) -> tuple[dict[int, list[str]], list[str]]:
    """Each message index of the run -> the outcome of every stored copy.
    Encrypted copies wait in WORK as armor files until all are found."""
    rcpts = args.rcpt.split(",")
    outcomes: dict[int, list[str]] = {i: [] for i in range(args.messages)}
    problems: list[str] = []
    expected: dict[str, bytes] = {}  # digest of the entity each armor must decrypt to
    for entry in args.maildir:
        _, _, maildir = entry.partition("=")
        for path in stored_files(maildir):
            with open(path, "rb") as stored:
                data = stored.read()
            header, body = split_entity(data)
            index = message_id(header, args.tag)
            if index is None or index not in outcomes:
                continue
            original = message(args.seed, args.tag, index, recipient(rcpts, index), args.mix)
            _, o_body = split_entity(original)
            armor = armor_of(body) if b"multipart/encrypted" in header.lower() else None
            if armor is not None:
                key = f"{len(expected)}"
                with open(os.path.join(work, key + ".asc"), "wb") as out:
                    out.write(armor)
                expected[key] = hashlib.sha256(
                    expected_payload(*split_message(to_lf(original)))).digest()
                outcomes[index].append("pending:" + key)
                continue
            if body != o_body:
                outcomes[index].append("bad")
                problems.append(f"message {index}: stored in clear at {path} with a "
                                f"different body")
                continue
            flagged = (os.path.basename(os.path.dirname(os.path.dirname(path)))
                       == ".Unencrypted" and "$FilterFailed" in keywords(path))
            outcomes[index].append("flagged" if flagged else "clear")
    digests = decrypt_all(work, list(expected), args.gnupghome)
    for index, found in outcomes.items():
        for n, outcome in enumerate(found):
            if not outcome.startswith("pending:"):
                continue
            key = outcome.split(":")[1]
            if digests.get(key) == expected[key]:
                found[n] = "encrypted"
            else:
                found[n] = "bad"
                problems.append(f"message {index}: encrypted copy " +
                                ("does not decrypt" if key not in digests else
                                 "decrypts to a different entity"))
    return outcomes, problems


def parse_after(rules: list[str]) -> list[tuple[str, float]]:
    parsed = []
    for rule in rules:
        address, _, when = rule.rpartition("@")
        parsed.append((address, float(when)))
    return parsed


def verify(args) -> int:
    with tempfile.TemporaryDirectory() as work:
        outcomes, problems = classify(args, work)
    rcpts = args.rcpt.split(",")
    sent = {}
    if args.results:
        with open(args.results) as saved:
            sent = json.load(saved)["messages"]
    encrypted_after = parse_after(args.encrypted_after)
    clear_after = parse_after(args.clear_after)
    counts = {"encrypted": 0, "flagged": 0, "clear": 0, "bad": 0, "missing": 0,
              "duplicated": 0}
    for index, found in sorted(outcomes.items()):
        rcpt = recipient(rcpts, index)
        start = sent.get(str(index), {}).get("start", 0.0)
        if not found:
            counts["missing"] += 1
            problems.append(f"message {index} to {rcpt}: not stored")
            continue
        if len(found) > 1:
            counts["duplicated"] += 1
            problems.append(f"message {index} to {rcpt}: stored {len(found)} times")
        outcome = found[0]
        counts[outcome] += 1
        if outcome == "bad":
            continue
        if rcpt in args.plain:
            want = {"clear"}
        elif any(a == rcpt and start > t for a, t in clear_after):
            want = {"flagged"}
        elif any(a == rcpt and start > t for a, t in encrypted_after):
            want = {"encrypted"}
        elif rcpt in args.allow_flagged:
            want = {"encrypted", "flagged"}
        else:
            want = {"encrypted"}
        if outcome not in want:
            problems.append(f"message {index} to {rcpt} (sent at {start:.2f}): stored "
                            f"{outcome}, expected {' or '.join(sorted(want))}")
    if counts["flagged"] < args.min_flagged:
        problems.append(f"only {counts['flagged']} message(s) flagged, expected at least "
                        f"{args.min_flagged}: the fault did not happen")
    print(" ".join(f"{name}={count}" for name, count in counts.items()))
    for problem in problems[:20]:
        print(f"lmtp_load: {problem}", file=sys.stderr)
    if len(problems) > 20:
        print(f"lmtp_load: ... and {len(problems) - 20} more", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("send", "verify"):
        command = sub.add_parser(name)
        command.add_argument("--tag", required=True)
        command.add_argument("--rcpt", required=True)
        command.add_argument("--messages", type=int, default=2000)
        command.add_argument("--seed", type=int, default=3156)
        command.add_argument("--mix", choices=("load", "small", "medium", "huge"),
                             default="load")
        command.add_argument("--results")
    send_parser = sub.choices["send"]
    send_parser.add_argument("socket")
    send_parser.add_argument("--sessions", type=int, default=1)
    send_parser.add_argument("--progress")
    verify_parser = sub.choices["verify"]
    verify_parser.add_argument("--maildir", action="append", required=True)
    verify_parser.add_argument("--gnupghome", required=True)
    verify_parser.add_argument("--plain", action="append", default=[])
    verify_parser.add_argument("--allow-flagged", action="append", default=[])
    verify_parser.add_argument("--min-flagged", type=int, default=0)
    verify_parser.add_argument("--encrypted-after", action="append", default=[])
    verify_parser.add_argument("--clear-after", action="append", default=[])
    args = parser.parse_args()
    return send(args) if args.command == "send" else verify(args)


if __name__ == "__main__":
    sys.exit(main())
