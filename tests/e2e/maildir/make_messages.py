#!/usr/bin/env python3
"""Write COUNT varied test messages into OUTDIR, one .eml file each.

Usage: make_messages.py OUTDIR PREFIX COUNT SEED

Each message has Message-ID <PREFIX-NNN@e2e.example>, so that a message can
be found again after gpgseal-maildir gave it a new file name and Dovecot a
new UID. Kinds rotate: plain text, multipart with a base64 attachment, 8-bit
Latin-1 text, HTML alternative; sizes between 1 and about 40 KiB. The same
arguments always give the same bytes.
"""

import base64
import random
import sys

WORDS = ("quarterly figures contract archive meeting invoice travel schedule "
         "project budget holiday report draft minutes server backup").split()


def text_lines(rng: random.Random, size: int) -> str:
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 12)))
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def header(prefix: str, n: int, subject: str) -> str:
    return (f"From: Sender {n} <sender{n}@example.net>\n"
            f"To: Alice Smith <alice.smith@example.org>\n"
            f"Subject: {subject} {prefix} {n}\n"
            f"Date: Mon, 03 Mar 2025 10:{n % 60:02d}:00 +0000\n"
            f"Message-ID: <{prefix}-{n:03d}@e2e.example>\n")


def plain(rng, prefix, n):
    return header(prefix, n, "Plain") + "\n" + text_lines(rng, rng.randint(1000, 30000))


def with_attachment(rng, prefix, n):
    blob = base64.encodebytes(rng.randbytes(rng.randint(2000, 20000))).decode()
    return (header(prefix, n, "Attachment") + "MIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="b-e2e"\n\n'
            "--b-e2e\nContent-Type: text/plain; charset=us-ascii\n\n"
            + text_lines(rng, 500) +
            '--b-e2e\nContent-Type: application/octet-stream; name="data.bin"\n'
            "Content-Transfer-Encoding: base64\n\n" + blob + "--b-e2e--\n")


def latin1(rng, prefix, n):
    body = text_lines(rng, 2000).replace("e", "\xe9", 20)
    return (header(prefix, n, "Latin-1") + "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=iso-8859-1\n"
            "Content-Transfer-Encoding: 8bit\n\n" + body)


def html(rng, prefix, n):
    text = text_lines(rng, 3000)
    return (header(prefix, n, "HTML") + "MIME-Version: 1.0\n"
            'Content-Type: multipart/alternative; boundary="alt-e2e"\n\n'
            "--alt-e2e\nContent-Type: text/plain; charset=us-ascii\n\n" + text +
            "--alt-e2e\nContent-Type: text/html; charset=us-ascii\n\n<p>"
            + text.replace("\n", "</p>\n<p>") + "</p>\n--alt-e2e--\n")


def main() -> int:
    outdir, prefix, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    kinds = (plain, with_attachment, latin1, html)
    for n in range(count):
        message = kinds[n % len(kinds)](rng, prefix, n)
        with open(f"{outdir}/{prefix}-{n:03d}.eml", "wb") as out:
            out.write(message.encode("latin-1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
