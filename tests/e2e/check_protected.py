#!/usr/bin/env python3
"""Reads what gpgseal wrote with Python's email package, a MIME parser that is
not GMime, and checks the header protection contract (README "Protected
headers"):

    check_protected.py ORIGINAL ENCRYPTED PAYLOAD POLICY

ORIGINAL is the message gpgseal was given, ENCRYPTED what it wrote, PAYLOAD
the decrypted payload. POLICY is "protect" (the default), "hide"
(--hide-subject) or "hide-no-display" (--hide-subject --no-legacy-display).
Prints one line per problem and exits 1 if there is any.
"""
import email
import email.header
import html
import sys
from email.policy import compat32

TRANSIT = {"received", "return-path", "delivered-to", "x-original-to",
           "envelope-to", "delivery-date",
           "authentication-results", "arc-seal", "arc-message-signature",
           "arc-authentication-results"}
DROPPED = {"dkim-signature", "domainkey-signature"}
ADDED_OUTSIDE = {"x-gpgit-executed"}
HIDDEN_OUTSIDE = {"comments", "keywords"}
LEGACY_CLASS = "header-protection-legacy-display"

problems = []


def problem(text):
    problems.append(text)


def unfold(value):
    return value.replace("\r", "").replace("\n", "").lstrip(" \t")


def structural(name):
    name = name.lower()
    return name == "mime-version" or name.startswith("content-")


def parse(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"From "):
        data = data.split(b"\n", 1)[1]
    return email.message_from_bytes(data, policy=compat32)


def fields(message):
    return [(name, unfold(value)) for name, value in message._headers]


def expected_outside(original, policy):
    out = []
    for name, value in fields(original):
        lower = name.lower()
        if lower.startswith("content-") or lower in DROPPED:
            continue
        if policy != "protect" and lower in HIDDEN_OUTSIDE:
            continue
        if policy != "protect" and lower == "subject":
            value = "[...]"
        out.append((name, value))
    return out


def check_outside(original, encrypted, policy):
    got = [(n, v) for n, v in fields(encrypted)
           if n.lower() not in ADDED_OUTSIDE and n.lower() != "content-type"]
    if not any(n.lower() == "mime-version" for n, _ in fields(original)):
        got = [(n, v) for n, v in got if n.lower() != "mime-version"]
    want = expected_outside(original, policy)
    if got != want:
        problem("outer fields differ:\n  got  %r\n  want %r" % (got, want))


def check_inside(original, encrypted, payload):
    copied = [(n, v) for n, v in fields(original)
              if not structural(n) and n.lower() not in TRANSIT | DROPPED
              and n.lower() != "hp-outer"]
    got = [(n, v) for n, v in fields(payload)
           if not structural(n) and n.lower() != "hp-outer"]
    if got != copied:
        problem("protected fields differ:\n  got  %r\n  want %r" % (got, copied))
    outer = {n.lower() for n, _ in copied}
    want_hp = ["%s: %s" % (n, v) for n, v in fields(encrypted) if n.lower() in outer]
    got_hp = [v for n, v in fields(payload) if n.lower() == "hp-outer"]
    if got_hp != want_hp:
        problem("HP-Outer lines differ:\n  got  %r\n  want %r" % (got_hp, want_hp))


def check_markers(payload):
    params = payload.get_params(header="content-type") or []
    for name, value in (("protected-headers", "v1"), ("hp", "cipher")):
        values = [v for n, v in params if n.lower() == name]
        if values != [value]:
            problem("payload root Content-Type has %s=%r, want exactly %r" % (name, values, value))


def decoded_subject(original):
    raw = original.get("Subject")
    return str(email.header.make_header(email.header.decode_header(raw))) if raw else None


def main_parts(part):
    """RFC 9788 §4.5: the parts a Legacy Display Element goes into."""
    ctype = part.get_content_type()
    if ctype in ("text/plain", "text/html"):
        return [part]
    if ctype == "multipart/alternative":
        found = []
        for child in part.get_payload():
            found += main_parts(child)
        return found
    if ctype in ("multipart/mixed", "multipart/related") and part.get_payload():
        return main_parts(part.get_payload()[0])
    return []


def text_of(part):
    data = part.get_payload(decode=True) or b""
    return data.decode(part.get_content_charset() or "us-ascii", "replace").replace("\r\n", "\n")


def check_body_bytes(original_path, payload_path):
    with open(original_path, "rb") as f:
        original = f.read().replace(b"\r\n", b"\n")
    with open(payload_path, "rb") as f:
        payload = f.read().replace(b"\r\n", b"\n")
    body = original.split(b"\n\n", 1)[1] if b"\n\n" in original else b""
    if not payload.endswith(b"\n\n" + body):
        problem("payload body is not the original body, byte for byte")


def takes_element(part, subject):
    """README: base64 parts, and parts whose charset (in 7 bits, for a 7bit
    part) cannot hold the Subject, are left alone."""
    if not subject:
        return False
    encoding = (part.get("Content-Transfer-Encoding") or "7bit").lower().strip()
    if encoding == "base64":
        return False
    try:
        encoded = subject.encode(part.get_content_charset() or "us-ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return encoding not in ("7bit", "") or encoded.isascii()


def check_legacy_display(original, payload, policy):
    subject = decoded_subject(original)
    before, after = main_parts(original), main_parts(payload)
    if len(before) != len(after):
        problem("main body parts: %d before, %d after" % (len(before), len(after)))
        return
    for old, new in zip(before, after):
        marked = new.get_param("hp-legacy-display") == "1"
        expect = policy == "hide" and takes_element(old, subject)
        if marked != expect:
            problem("%s part: hp-legacy-display=%r, expected %s" % (
                new.get_content_type(), new.get_param("hp-legacy-display"), expect))
        if not expect:
            if text_of(new) != text_of(old):
                problem("%s part changed without a legacy display" % new.get_content_type())
            continue
        if new.get_content_type() == "text/plain":
            element = "Subject: %s\n\n" % subject
            if text_of(new) != element + text_of(old):
                problem("text/plain legacy display wrong: %r" % text_of(new)[:200])
        else:
            element = '<div class="%s"><pre>Subject: %s</pre></div>' % (
                LEGACY_CLASS, html.escape(subject, quote=False))
            if text_of(new).replace(element, "", 1) != text_of(old) or element not in text_of(new):
                problem("text/html legacy display wrong: %r" % text_of(new)[:300])


def check_inline(original_path, encrypted_path, plaintext_path):
    """--inline-utf8: the decrypted text, read as UTF-8, is the original text."""
    original, encrypted = parse(original_path), parse(encrypted_path)
    with open(plaintext_path, "rb") as f:
        plaintext = f.read()
    try:
        text = plaintext.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as e:
        problem("decrypted text is not UTF-8: %s" % e)
        return
    if text != text_of(original):
        problem("decrypted text differs:\n  got  %r\n  want %r" % (text, text_of(original)))
    if encrypted.get_content_charset() != "utf-8":
        problem("outer charset is %r, not utf-8" % encrypted.get_content_charset())


def main():
    if sys.argv[1] == "--inline":
        check_inline(*sys.argv[2:5])
        for line in problems:
            print(line)
        return 1 if problems else 0
    original_path, encrypted_path, payload_path, policy = sys.argv[1:5]
    original, encrypted, payload = (parse(p) for p in (original_path, encrypted_path, payload_path))
    check_outside(original, encrypted, policy)
    check_inside(original, encrypted, payload)
    check_markers(payload)
    if policy == "hide":
        check_legacy_display(original, payload, policy)
    else:
        check_body_bytes(original_path, payload_path)
    if decoded_subject(original) is not None and payload.get("Subject") is None:
        problem("the payload root has no Subject")
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
