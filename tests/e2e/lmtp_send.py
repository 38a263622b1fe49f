#!/usr/bin/env python3
"""Deliver one message over LMTP to a Unix socket, the way an MTA would.

Usage: lmtp_send.py SOCKET MAIL_FROM RCPT_TO < message

The message is sent as bytes (8-bit kept), with its line ends converted to
CRLF because RFC 5321 §2.3.8 requires them on the wire; smtplib dot-stuffs it.
Exits 0 when the server accepted the message for the recipient, 1 otherwise.
"""

import smtplib
import sys

TIMEOUT_SECONDS = 60


def to_crlf(data: bytes) -> bytes:
    return b"\r\n".join(line.rstrip(b"\r") for line in data.split(b"\n"))


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 64
    socket_path, mail_from, rcpt_to = sys.argv[1:]
    message = to_crlf(sys.stdin.buffer.read())
    # RFC 6152: declare 8-bit content instead of relying on the server.
    options = ["BODY=8BITMIME"] if any(b > 0x7F for b in message) else []
    # smtplib.LMTP treats a host starting with "/" as a Unix socket path.
    with smtplib.LMTP(socket_path, timeout=TIMEOUT_SECONDS) as lmtp:
        try:
            refused = lmtp.sendmail(mail_from, [rcpt_to], message, options)
        except smtplib.SMTPException as error:
            print(f"lmtp_send: {rcpt_to}: {error}", file=sys.stderr)
            return 1
    if refused:
        print(f"lmtp_send: refused: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
