// Checks what gpgseal wrote against what it was given, the way a reader of
// RFC 3156 would: parse the output with GMime, decrypt the armored part with
// the test key, and compare headers and body with an independent split of the
// input. Ciphertext is never compared.
#pragma once

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_keyring.hpp"

namespace gpgseal::test {

std::string to_lf(const std::string& text);

// An RFC 5322 split written for the tests: LF-normalised envelope line, header
// fields (with their folding) and body.
struct simple_message {
  std::string envelope;
  std::vector<std::string> fields;
  std::string body;
};
simple_message split_message(const std::string& text);
std::string field_name(const std::string& field);  // lower-case

// `text` parsed by GMime, or nullptr; the caller unrefs it.
GMimeMessage* parse_gmime_message(const std::string& text);

// The content of a GMime leaf part with its transfer encoding undone.
std::string decoded_content(GMimeObject* part);

// Asserts the RFC 3156 §4 structure and returns the armored ciphertext.
::testing::AssertionResult has_pgp_mime_structure(const std::string& output,
                                                  std::string* armored = nullptr);

// Asserts the whole contract for an encrypted result: structure; outer fields
// kept in order (less Content-*, DKIM; with `hidden_subject`, Subject: [...]
// and no Comments or Keywords) plus MIME-Version/X-Gpgit-Executed; decrypted
// payload in canonical CRLF equal to the protected-header block (below), the
// input's Content-* fields (the Content-Type marked, see content_type_marked)
// and body; no body line of the input in clear in the output. For payloads
// without a Legacy Display Element.
::testing::AssertionResult round_trips(const std::string& input, const std::string& output,
                                       const test_keyring& ring, bool hidden_subject = false);

// True if a field of this (lower-case) name is copied into the payload root
// (README "Protected headers"): not Content-*, MIME-Version, a DKIM
// signature, a transit field or an arriving HP-Outer.
bool is_copied(const std::string& lower_name);

// The header fields the payload root starts with (README "Protected headers"),
// LF line ends: the input's non-structural fields less the transit fields,
// DKIM signatures and HP-Outer fields; then "HP-Outer: " and each of those
// fields as it stands outside.
std::string expected_protected_block(const simple_message& input, bool hidden_subject);

// The payload of a message with these header fields (text up to, not
// including, the empty line) and no Content-* fields, up to its body, in CRLF:
// the protected-header block, the default Content-Type marked, the empty line.
std::string payload_head_without_content_fields(const std::string& headers);

// True if `marked` (a payload root's Content-Type field) is `original` (the
// input's, or "" if it had none) with protected-headers="v1" and hp="cipher"
// (and, if `legacy_display`, hp-legacy-display="1") added: byte for byte
// followed by the new parameters, or, if the original carried any of those
// parameters, the same type and other parameters with its own removed.
::testing::AssertionResult content_type_marked(const std::string& original,
                                               const std::string& marked, bool legacy_display);

// The decrypted payload of an encrypted result (LF line ends).
std::string decrypted_payload(const std::string& output, const test_keyring& ring);

// The part of that contract that does not depend on the protocol: outer
// fields kept (less Content-* and DKIM) plus MIME-Version/X-Gpgit-Executed and
// the added Content-* fields, and `payload` (the decrypted content) in
// canonical CRLF equal to the protected-header block, the input's Content-*
// fields (the Content-Type marked), an empty line and the body.
::testing::AssertionResult payload_matches(const std::string& input, const std::string& output,
                                           const std::string& payload, bool hidden_subject = false);

}  // namespace gpgseal::test
