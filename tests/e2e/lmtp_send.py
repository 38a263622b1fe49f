#!/usr/bin/env python3
"""Deliver one message over LMTP to a Unix socket, the way an MTA would.

Usage: lmtp_send.py SOCKET MAIL_FROM RCPT_TO... < message
       lmtp_send.py smtp:HOST:PORT MAIL_FROM RCPT_TO... < message

With smtp:HOST:PORT the same transaction goes over SMTP to an MTA; SMTP
answers once for all recipients.

The message is sent as bytes (8-bit kept), with its line ends converted to
CRLF because RFC 5321 §2.3.8 requires them on the wire; smtplib dot-stuffs it.
Several recipients go in one transaction, as an MTA sends them; LMTP then
answers (and Dovecot runs Sieve) per recipient.
Exits 0 when the server accepted the message for every recipient, 1 otherwise.
"""

import smtplib
import sys

TIMEOUT_SECONDS = 60


def to_crlf(data: bytes) -> bytes:
    return b"\r\n".join(line.rstrip(b"\r") for line in data.split(b"\n"))


def send(lmtp: smtplib.LMTP, mail_from: str, rcpt_to: list[str],
         message: bytes) -> list[str]:
    """One transaction; returns a problem per recipient not delivered to."""
    lmtp.ehlo()
    # RFC 6152: declare 8-bit content instead of relying on the server.
    options = ["BODY=8BITMIME"] if any(b > 0x7F for b in message) else []
    code, reply = lmtp.mail(mail_from, options)
    if code != 250:
        return [f"MAIL FROM: {code} {reply!r}"]
    accepted, problems = [], []
    for rcpt in rcpt_to:
        code, reply = lmtp.rcpt(rcpt)
        if code in (250, 251):
            accepted.append(rcpt)
        else:
            problems.append(f"RCPT TO {rcpt}: {code} {reply!r}")
    if not accepted:
        return problems
    # RFC 2033 §4.2: after the data, one reply per accepted recipient, in
    # RCPT order (smtplib's sendmail reads only the first).
    replies = [lmtp.data(message)]
    if isinstance(lmtp, smtplib.LMTP):
        replies += [lmtp.getreply() for _ in accepted[1:]]
    else:
        replies *= len(accepted)
    for rcpt, (code, reply) in zip(accepted, replies):
        if code != 250:
            problems.append(f"{rcpt}: {code} {reply!r}")
    return problems


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 64
    socket_path, mail_from, *rcpt_to = sys.argv[1:]
    message = to_crlf(sys.stdin.buffer.read())
    if socket_path.startswith("smtp:"):
        _, host, port = socket_path.split(":")
        client = smtplib.SMTP(host, int(port), timeout=TIMEOUT_SECONDS)
    else:
        # smtplib.LMTP treats a host starting with "/" as a Unix socket path.
        client = smtplib.LMTP(socket_path, timeout=TIMEOUT_SECONDS)
    with client as lmtp:
        try:
            problems = send(lmtp, mail_from, rcpt_to, message)
        except smtplib.SMTPException as error:
            problems = [str(error)]
    for problem in problems:
        print(f"lmtp_send: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
