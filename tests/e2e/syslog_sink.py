#!/usr/bin/env python3
"""A stand-in syslog daemon for the end-to-end tests (these machines have none).

Usage: syslog_sink.py SOCKET OUTPUT      (as root, for SOCKET = /dev/log)
       syslog_sink.py --stall SOCKET OUTPUT

Binds a Unix datagram socket at SOCKET, where syslog(3) sends, and makes it
writable for everyone: the filter runs as the mail user. Appends each
datagram to OUTPUT as one line, as sent: "<PRI>Mmm dd hh:mm:ss ident[pid]:
text" (PRI = facility * 8 + severity, RFC 3164 §4.1.1). OUTPUT is created
only once the socket is ready, so the caller waits for it to appear.
On SIGTERM or SIGINT, removes SOCKET and exits 0. Refuses (exit 1) if SOCKET
already exists: then it belongs to a real syslog, which must be left alone.
With --stall it is a syslog daemon that hangs: it fills its own receive queue
until a send would block, creates OUTPUT (empty) and never reads again.
"""

import os
import signal
import socket
import sys


def stop(signum, frame):
    raise SystemExit(0)


def fill_and_hang(path: str, output: str) -> None:
    writer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    writer.setblocking(False)
    try:
        while True:
            writer.sendto(b"<22>filler", path)
    except BlockingIOError:
        pass
    open(output, "ab").close()
    while True:
        signal.pause()


def main() -> int:
    stall = sys.argv[1:2] == ["--stall"]
    if len(sys.argv) != 3 + stall:
        print(__doc__, file=sys.stderr)
        return 64
    path, output = sys.argv[1 + stall:]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sink.bind(path)   # fails if anything exists there
    except OSError as error:
        print(f"syslog_sink: {path}: {error}", file=sys.stderr)
        return 1
    try:
        os.chmod(path, 0o666)
        if stall:
            fill_and_hang(path, output)
        with open(output, "ab", buffering=0) as out:
            while True:
                datagram = sink.recv(65536)
                out.write(datagram.rstrip(b"\n").replace(b"\n", b"\\n") + b"\n")
    finally:
        os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
