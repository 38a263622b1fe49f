#!/usr/bin/env python3
"""SMTP sessions for the gpgseal-smtpd end-to-end test (smtpd_run.sh).

Usage:
  smtp_cases.py PORT concurrent N RCPT OUTDIR [SUBJECT]
      N sessions at once, each one message to RCPT; message i, with Subject
      "SUBJECT i" (default "concurrent i"), is written to OUTDIR/i.eml as sent
      (LF line ends). Exits 1 unless all were accepted.
  smtp_cases.py PORT rset FIRST_RCPT SECOND_RCPT < MESSAGE
      MAIL, RCPT FIRST_RCPT, RSET, then a whole transaction to SECOND_RCPT.
  smtp_cases.py PORT drop RCPT < MESSAGE
      MAIL, RCPT, DATA, half the message, then the connection is closed
      without the final dot.
  smtp_cases.py PORT reply RCPT... < MESSAGE
      One transaction; prints the reply code to the end of DATA (250, or
      the 4xx/5xx smtpd answered) and exits 0 if every step was answered.
"""

from concurrent.futures import ThreadPoolExecutor
import os
import smtplib
import socket
import sys

SENDER = "sender@example.com"
TIMEOUT = 300  # generous: under a loaded CI host the last of 50 sessions waits its turn


def crlf(data: bytes) -> bytes:
    return b"\r\n".join(line.rstrip(b"\r") for line in data.split(b"\n"))


def message(i: int, rcpt: str, subject: str) -> bytes:
    # Distinct bodies of distinct sizes, so that a mix-up cannot go unseen.
    body = "".join(f"session {i} line {j} {'x' * (i % 7)}\n" for j in range(20 + i * 13))
    return (f"From: <{SENDER}>\nTo: <{rcpt}>\nSubject: {subject} {i}\n"
            f"Date: Fri, 4 Dec 2026 12:00:00 +0000\n"
            f"Message-ID: <{subject.replace(' ', '.')}.{i}.{os.getpid()}@example.com>\n\n{body}").encode()


def send_one(port: int, i: int, rcpt: str, outdir: str, subject: str) -> str:
    data = message(i, rcpt, subject)
    with open(os.path.join(outdir, f"{i}.eml"), "wb") as f:
        f.write(data)
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as smtp:
        smtp.sendmail(SENDER, [rcpt], crlf(data))
    return ""


def many_at_once(port: int, n: int, rcpt: str, outdir: str, subject: str) -> int:
    failures = 0
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(send_one, port, i, rcpt, outdir, subject) for i in range(n)]
        for i, fut in enumerate(futures):
            try:
                fut.result()
            except (smtplib.SMTPException, OSError) as e:
                print(f"session {i}: {e}")
                failures += 1
    return 1 if failures else 0


def rset(port: int, first: str, second: str) -> int:
    data = crlf(sys.stdin.buffer.read())
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        smtp.mail(SENDER)
        smtp.rcpt(first)
        code, _ = smtp.rset()
        if code != 250:
            print(f"RSET answered {code}")
            return 1
        smtp.sendmail(SENDER, [second], data)
    return 0


def drop(port: int, rcpt: str) -> int:
    data = crlf(sys.stdin.buffer.read())
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        smtp.mail(SENDER)
        smtp.rcpt(rcpt)
        code, _ = smtp.docmd("DATA")
        if code != 354:
            print(f"DATA answered {code}")
            return 1
        smtp.sock.sendall(data[: len(data) // 2])
        smtp.sock.shutdown(socket.SHUT_RDWR)
        smtp.sock.close()
        smtp.sock = None
        smtp.file = None
    return 0


def reply(port: int, rcpts: list[str]) -> int:
    data = crlf(sys.stdin.buffer.read())
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as smtp:
        try:
            smtp.sendmail(SENDER, rcpts, data)
            print(250)
        except smtplib.SMTPDataError as e:
            print(e.smtp_code, e.smtp_error.decode(errors="replace"))
    return 0


def main() -> int:
    port, case = int(sys.argv[1]), sys.argv[2]
    args = sys.argv[3:]
    if case == "concurrent":
        subject = args[3] if len(args) > 3 else "concurrent"
        return many_at_once(port, int(args[0]), args[1], args[2], subject)
    if case == "rset":
        return rset(port, args[0], args[1])
    if case == "drop":
        return drop(port, args[0])
    if case == "reply":
        return reply(port, args)
    print(f"unknown case {case}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
