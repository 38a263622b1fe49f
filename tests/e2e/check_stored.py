#!/usr/bin/env python3
"""Check one message Dovecot stored after the gpgseal filter ran.

Usage:
  check_stored.py encrypted ORIGINAL STORED CLIENT_GNUPGHOME
  check_stored.py inline ORIGINAL STORED CLIENT_GNUPGHOME [FLATTENED_FROM]
  check_stored.py unchanged ORIGINAL STORED
  check_stored.py armor STORED > armored.asc
  check_stored.py smime ORIGINAL STORED KEY_PREFIX

encrypted: STORED must be RFC 3156 PGP/MIME whose outer header is ORIGINAL's
  header without its Content-* fields (byte for byte, same order), plus
  X-Gpgit-Executed: True; and whose decrypted payload (with the secret key in
  CLIENT_GNUPGHOME) is exactly ORIGINAL's Content-* fields, a blank line and
  ORIGINAL's body.
inline: STORED must be inline PGP (gpgit's --encrypt-mode prefer-inline):
  the original's header without its Content-* fields (byte for byte, same
  order), plus X-Gpgit-Executed: True; Content-Transfer-Encoding 7bit; a body
  that is one armored PGP MESSAGE and decrypts to the decoded text of
  ORIGINAL's text/plain body. Without FLATTENED_FROM, ORIGINAL is one
  text/plain part and its Content-Type stays as it was; with it, ORIGINAL was
  flattened (--inline-flatten) to its first text/plain part, whose type and
  charset STORED takes, and STORED says X-Gpgit-Flattened-From: FLATTENED_FROM.
unchanged: STORED must be ORIGINAL.
smime: STORED must be RFC 8551 S/MIME: one application/pkcs7-mime part with
  smime-type=enveloped-data, in base64, with the outer header as for
  encrypted; `openssl cms -decrypt` with KEY_PREFIX.key and KEY_PREFIX.pem
  must give exactly ORIGINAL's Content-* fields, a blank line and its body,
  and the content must be encrypted with AES-256.
armor: STORED must be RFC 3156 PGP/MIME; writes its armored PGP MESSAGE to
  stdout (for gpg --list-packets, or a decryption that must fail).

Line ends are compared as LF: Dovecot stores LF (mail_save_crlf = no) and the
filter sees CRLF. Before the original's first field STORED may carry the
fields delivery itself prepends (LMTP: Return-Path, Delivered-To, Received;
Exim also Envelope-to and Delivery-date).
Exits 0 on success; otherwise prints why on stdout and exits 1.
"""

import difflib
import email.message
import email.parser
import email.policy
import subprocess
import sys
from typing import Optional

# Exim's appendfile adds Envelope-to and Delivery-date too; Postfix's
# local(8) and virtual(8) X-Original-To.
DELIVERY_FIELDS = {b"return-path", b"delivered-to", b"received",
                   b"envelope-to", b"delivery-date", b"x-original-to"}
GPG_TIMEOUT_SECONDS = 60


class Mismatch(Exception):
    pass


def to_lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def split_message(data: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its folded lines and LF) and the body."""
    fields: list[bytes] = []
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if line == b"":
            return fields, b"\n".join(lines[i + 1:])
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\n"
        else:
            fields.append(line + b"\n")
    return fields, b""


def name_of(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def is_content(field: bytes) -> bool:
    return name_of(field).startswith(b"content-")


def show(fields: list[bytes]) -> str:
    return "".join(f.decode("latin-1") for f in fields)


def diff(expected: bytes, actual: bytes) -> str:
    lines = difflib.unified_diff(
        expected.decode("latin-1").splitlines(keepends=True),
        actual.decode("latin-1").splitlines(keepends=True),
        "expected", "actual", n=1)
    return "".join(list(lines)[:40])


def strip_delivery_prefix(stored: list[bytes], matches) -> list[bytes]:
    """The stored fields after the prefix delivery added, or raise."""
    for k in range(len(stored) + 1):
        if matches(stored[k:]):
            return stored[k:]
        if k < len(stored) and name_of(stored[k]) not in DELIVERY_FIELDS:
            break
    raise Mismatch


def check_unchanged(original: bytes, stored: bytes) -> None:
    o_fields, o_body = split_message(original)
    s_fields, s_body = split_message(stored)
    try:
        strip_delivery_prefix(s_fields, lambda rest: rest == o_fields)
    except Mismatch:
        raise Mismatch("header changed; stored header was:\n" + show(s_fields))
    if s_body != o_body:
        raise Mismatch("body changed:\n" + diff(o_body, s_body))


def outer_kept_fields(rest: list[bytes], o_fields: list[bytes]) -> list[bytes]:
    """Outer fields that must equal the original's non-Content-* fields."""
    had_mime_version = any(name_of(f) == b"mime-version" for f in o_fields)
    kept = []
    for f in rest:
        added = is_content(f) or name_of(f) == b"x-gpgit-executed"
        # RFC 2045 §4: a MIME message needs MIME-Version; adding it is fine.
        added |= name_of(f) == b"mime-version" and not had_mime_version
        if not added:
            kept.append(f)
    return kept


def check_outer_header(o_fields: list[bytes], s_fields: list[bytes],
                       allowed=frozenset({b"content-type",
                                          b"content-transfer-encoding"})) -> None:
    for name in (b"subject", b"from"):
        for f in o_fields:
            if name_of(f) == name and f not in s_fields:
                raise Mismatch(f"{name.decode()} not in clear outside: {f!r}")
    plain = [f for f in o_fields if not is_content(f)]
    try:
        rest = strip_delivery_prefix(
            s_fields, lambda r: outer_kept_fields(r, o_fields) == plain)
    except Mismatch:
        raise Mismatch("outer header is not the original's non-Content-* "
                       "fields; stored header was:\n" + show(s_fields))
    markers = [f for f in rest if name_of(f) == b"x-gpgit-executed"]
    if [f.split(b":", 1)[1].strip() for f in markers] != [b"True"]:
        raise Mismatch(f"want one 'X-Gpgit-Executed: True', got {markers!r}")
    outer_content = {name_of(f) for f in rest if is_content(f)}
    if not outer_content <= allowed:
        raise Mismatch(f"Content-* fields left outside: {outer_content!r}")


def armored_part(stored: bytes) -> bytes:
    """RFC 3156 §4 structure; returns the armored PGP MESSAGE."""
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        stored)
    if msg.get_content_type() != "multipart/encrypted":
        raise Mismatch(f"top level is {msg.get_content_type()}")
    if msg.get_param("protocol") != "application/pgp-encrypted":
        raise Mismatch(f"protocol is {msg.get_param('protocol')!r}")
    parts = msg.get_payload()
    if not isinstance(parts, list) or len(parts) != 2:
        raise Mismatch("multipart/encrypted does not have exactly 2 parts")
    control, data = parts
    if control.get_content_type() != "application/pgp-encrypted":
        raise Mismatch(f"part 1 is {control.get_content_type()}")
    if "Version: 1" not in control.get_payload():
        raise Mismatch("part 1 lacks 'Version: 1'")
    if data.get_content_type() != "application/octet-stream":
        raise Mismatch(f"part 2 is {data.get_content_type()}")
    armor = data.get_payload(decode=True)
    if not (armor.lstrip().startswith(b"-----BEGIN PGP MESSAGE-----")
            and armor.rstrip().endswith(b"-----END PGP MESSAGE-----")):
        raise Mismatch("part 2 is not an ASCII-armored PGP MESSAGE")
    return armor


def decrypt(armor: bytes, gnupghome: str) -> bytes:
    result = subprocess.run(
        ["gpg", "--homedir", gnupghome, "--batch", "--no-tty", "--quiet",
         "--decrypt"],
        input=armor, capture_output=True, timeout=GPG_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise Mismatch("gpg --decrypt failed: "
                       + result.stderr.decode(errors="replace"))
    return result.stdout


def check_sealed(original: bytes, stored_raw: bytes, payload_of,
                 allowed=frozenset({b"content-type",
                                    b"content-transfer-encoding"})) -> None:
    """The outer header, and payload_of(stored_raw), the decrypted payload:
    the protected-header block, the original's Content-* fields (the
    Content-Type marked), a blank line and its body (expected_payload)."""
    o_fields, o_body = split_message(original)
    s_fields, _ = split_message(to_lf(stored_raw))
    payload = payload_of(stored_raw)
    check_outer_header(o_fields, s_fields, allowed)
    expected = expected_payload(o_fields, o_body)
    if to_lf(payload) != expected:
        raise Mismatch("decrypted payload differs:\n"
                       + diff(expected, to_lf(payload)))


def check_encrypted(original: bytes, stored_raw: bytes, gnupghome: str) -> None:
    check_sealed(original, stored_raw,
                 lambda s: decrypt(armored_part(s), gnupghome))


SMIME_OUTER = frozenset({b"content-type", b"content-transfer-encoding",
                         b"content-disposition", b"content-description"})


def smime_der(stored: bytes) -> bytes:
    """RFC 8551 §3.3 structure; returns the DER of the enveloped data."""
    msg = parse(stored)
    if msg.get_content_type() != "application/pkcs7-mime":
        raise Mismatch(f"top level is {msg.get_content_type()}")
    if msg.get_param("smime-type") != "enveloped-data":
        raise Mismatch(f"smime-type is {msg.get_param('smime-type')!r}")
    if msg.get("Content-Transfer-Encoding", "").strip().lower() != "base64":
        raise Mismatch("not base64")
    return msg.get_payload(decode=True)


def openssl_decrypt(der: bytes, key_prefix: str) -> bytes:
    common = ["-inform", "DER"]
    printed = subprocess.run(["openssl", "cms", "-cmsout", "-print"] + common,
                             input=der, capture_output=True,
                             timeout=GPG_TIMEOUT_SECONDS)
    if b"aes-256-cbc" not in printed.stdout:
        raise Mismatch("content not encrypted with AES-256-CBC")
    result = subprocess.run(
        ["openssl", "cms", "-decrypt", "-inkey", key_prefix + ".key",
         "-recip", key_prefix + ".pem"] + common,
        input=der, capture_output=True, timeout=GPG_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise Mismatch("openssl cms -decrypt failed: "
                       + result.stderr.decode(errors="replace"))
    return result.stdout


def check_smime(original: bytes, stored_raw: bytes, key_prefix: str) -> None:
    def payload_of(stored: bytes) -> bytes:
        payload = openssl_decrypt(smime_der(stored), key_prefix)
        if b"\n" in payload.replace(b"\r\n", b""):
            raise Mismatch("decrypted payload is not canonical CRLF")
        return payload
    check_sealed(original, stored_raw, payload_of, SMIME_OUTER)


# README "Protected headers": fields that stay out of the payload.
NOT_COPIED = {b"mime-version", b"hp-outer", b"dkim-signature", b"domainkey-signature",
              b"received", b"return-path", b"delivered-to", b"x-original-to",
              b"envelope-to", b"delivery-date",
              b"authentication-results", b"arc-seal", b"arc-message-signature",
              b"arc-authentication-results"}
MARKERS = b'protected-headers="v1"; hp="cipher"'


def marked_type(field: bytes) -> bytes:
    """The original Content-Type bytes, then the markers on a folded line."""
    kept = field.rstrip(b"\r\n \t")
    return kept + (b"" if kept.endswith(b";") else b";") + b"\n\t" + MARKERS + b"\n"


def expected_payload(o_fields: list[bytes], o_body: bytes) -> bytes:
    """The protected-header block (the copies, then an HP-Outer line for
    each), the Content-* fields with the Content-Type marked, the body."""
    copies = [f for f in o_fields if not is_content(f) and name_of(f) not in NOT_COPIED]
    content = b""
    for f in o_fields:
        if is_content(f):
            content += marked_type(f) if name_of(f) == b"content-type" else f
    if not any(name_of(f) == b"content-type" for f in o_fields):
        content += b"Content-Type: text/plain; " + MARKERS + b"\n"
    block = b"".join(copies) + b"".join(b"HP-Outer: " + f for f in copies)
    return block + content + b"\n" + o_body


def parse(data: bytes) -> email.message.Message:
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        data)


def values_of(fields: list[bytes], name: bytes) -> list[bytes]:
    return [f.split(b":", 1)[1].strip() for f in fields if name_of(f) == name]


def text_leaf(original: bytes, flattened: bool) -> email.message.Message:
    """The part whose decoded text inline encryption must carry."""
    msg = parse(original)
    if not flattened:
        if msg.get_content_type() != "text/plain":
            raise Mismatch(f"ORIGINAL is {msg.get_content_type()}, not one "
                           "text/plain part: give FLATTENED_FROM")
        return msg
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and \
                not part.is_multipart():
            return part
    raise Mismatch("ORIGINAL has no text/plain part to flatten to")


def check_inline_header(o_fields: list[bytes], s_fields: list[bytes],
                        leaf: email.message.Message,
                        flattened_from: Optional[str]) -> list[bytes]:
    plain = [f for f in o_fields if not is_content(f)]

    def kept(rest: list[bytes]) -> list[bytes]:
        return outer_kept_fields(
            [f for f in rest if name_of(f) != b"x-gpgit-flattened-from"],
            o_fields)

    try:
        rest = strip_delivery_prefix(s_fields, lambda r: kept(r) == plain)
    except Mismatch:
        raise Mismatch("header is not the original's non-Content-* fields "
                       "plus gpgit's; stored header was:\n" + show(s_fields))
    if values_of(rest, b"x-gpgit-executed") != [b"True"]:
        raise Mismatch("want one 'X-Gpgit-Executed: True'; header was:\n"
                       + show(rest))
    want = [flattened_from.encode()] if flattened_from else []
    got = values_of(rest, b"x-gpgit-flattened-from")
    if got != want:
        raise Mismatch(f"X-Gpgit-Flattened-From is {got!r}, want {want!r}")
    if any(v.lower() != b"7bit"
           for v in values_of(rest, b"content-transfer-encoding")):
        raise Mismatch("Content-Transfer-Encoding is not 7bit; header was:\n"
                       + show(rest))
    if flattened_from is None:
        if values_of(rest, b"content-type") != \
                values_of(o_fields, b"content-type"):
            raise Mismatch("Content-Type changed; header was:\n" + show(rest))
    else:
        stored = parse(b"".join(rest) + b"\n")
        if (stored.get_content_type(), stored.get_content_charset()) != \
                ("text/plain", leaf.get_content_charset()):
            raise Mismatch("Content-Type is not the text part's "
                           f"(text/plain, {leaf.get_content_charset()}): "
                           + show(rest))
    return rest


def check_inline(original: bytes, stored_raw: bytes, gnupghome: str,
                 flattened_from: Optional[str]) -> None:
    o_fields, _ = split_message(original)
    s_fields, s_body = split_message(to_lf(stored_raw))
    leaf = text_leaf(original, flattened_from is not None)
    check_inline_header(o_fields, s_fields, leaf, flattened_from)
    armor = s_body.strip()
    if not (armor.startswith(b"-----BEGIN PGP MESSAGE-----")
            and armor.endswith(b"-----END PGP MESSAGE-----")
            and armor.count(b"-----BEGIN PGP") == 1):
        raise Mismatch("body is not one armored PGP MESSAGE:\n"
                       + s_body[:400].decode("latin-1"))
    text = to_lf(decrypt(armor, gnupghome))
    expected = to_lf(leaf.get_payload(decode=True))
    if text != expected:
        raise Mismatch("decrypted text differs from the original's decoded "
                       "text:\n" + diff(expected, text))


def main() -> int:
    mode, args = sys.argv[1] if len(sys.argv) > 1 else "", sys.argv[2:]
    arity = {"encrypted": (3,), "inline": (3, 4), "unchanged": (2,),
             "armor": (1,), "smime": (3,)}
    if len(args) not in arity.get(mode, ()):
        print(__doc__, file=sys.stderr)
        return 64
    try:
        if mode == "armor":
            sys.stdout.buffer.write(armored_part(open(args[0], "rb").read()))
            return 0
        original = to_lf(open(args[0], "rb").read())
        stored = open(args[1], "rb").read()
        if mode == "encrypted":
            check_encrypted(original, stored, args[2])
        elif mode == "smime":
            check_smime(original, stored, args[2])
        elif mode == "inline":
            check_inline(original, stored, args[2],
                         args[3] if len(args) == 4 else None)
        else:
            check_unchanged(original, to_lf(stored))
    except Mismatch as why:
        print(why)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
