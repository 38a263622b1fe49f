#!/usr/bin/env python3
"""A trivial OpenSMTPD filter (`filter NAME proc-exec CMD`) for the tests.

Usage: opensmtpd_echo_filter.py LOGFILE

Speaks smtpd's filter protocol on stdin/stdout (see OPENSMTPD-PROTOCOL.md):
registers for every smtp-in report event, for the data-line filter phase and
for the mail-from and commit phases; answers each filter request with
"proceed"; echoes every data line back, with one header line
"X-Smoke-Filter: opensmtpd" put before the message's first line. Every line
smtpd sends is appended to LOGFILE as "< line", every line sent as "> line",
so a test (and the protocol notes) can see exactly what smtpd speaks.
"""

import sys

REPORTS = ["link-connect", "link-disconnect", "link-greeting", "link-identify",
           "link-tls", "link-auth", "tx-reset", "tx-begin", "tx-mail",
           "tx-rcpt", "tx-envelope", "tx-data", "tx-commit", "tx-rollback",
           "protocol-client", "protocol-server", "filter-report",
           "filter-response", "timeout"]
PHASES = ["mail-from", "commit"]
MARK = "X-Smoke-Filter: opensmtpd"


def main() -> int:
    log = open(sys.argv[1], "a", buffering=1)

    def send(line: str) -> None:
        log.write("> " + line + "\n")
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    first_line_seen = set()
    for raw in sys.stdin:
        line = raw.rstrip("\n")
        log.write("< " + line + "\n")
        fields = line.split("|")
        if line == "config|ready":
            for event in REPORTS:
                send(f"register|report|smtp-in|{event}")
            for phase in PHASES:
                send(f"register|filter|smtp-in|{phase}")
            send("register|filter|smtp-in|data-line")
            send("register|ready")
        elif fields[0] == "filter" and fields[4] == "data-line":
            session, token = fields[5], fields[6]
            data = "|".join(fields[7:])
            if session not in first_line_seen:
                first_line_seen.add(session)
                send(f"filter-dataline|{session}|{token}|{MARK}")
            if data == ".":
                first_line_seen.discard(session)
            send(f"filter-dataline|{session}|{token}|{data}")
        elif fields[0] == "filter":
            send(f"filter-result|{fields[5]}|{fields[6]}|proceed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
