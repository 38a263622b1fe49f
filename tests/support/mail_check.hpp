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
// kept in order (less Content-*, DKIM) plus MIME-Version/X-Gpgit-Executed;
// decrypted payload in canonical CRLF equal to the input's Content-* fields and
// body; no body line of the input in clear in the output.
::testing::AssertionResult round_trips(const std::string& input, const std::string& output,
                                       const test_keyring& ring);

// The part of that contract that does not depend on the protocol: outer
// fields kept (less Content-* and DKIM) plus MIME-Version/X-Gpgit-Executed and
// the added Content-* fields, and `payload` (the decrypted content) in
// canonical CRLF equal to the input's Content-* fields, an empty line and body.
::testing::AssertionResult payload_matches(const std::string& input, const std::string& output,
                                           const std::string& payload);

}  // namespace gpgseal::test
