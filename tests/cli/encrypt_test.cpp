// What the binary writes for a message it can encrypt: RFC 3156 PGP/MIME that
// decrypts back to the input (round_trips), in the input's line endings, for
// short reads, header-less garbage and a multi-megabyte message; and what it
// writes for input it must leave alone (already encrypted, empty).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "cli/cli_support.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

process_result encrypt_for_alice(const std::string& input, const process_options& options = {}) {
  return run_gpgseal(with_shared_ring({"alice@example.org"}), input, options);
}

std::string header_section(const std::string& message) {
  std::size_t end = message.find("\r\n\r\n");
  if (end == std::string::npos) end = message.find("\n\n");
  return message.substr(0, end == std::string::npos ? message.size() : end + 1);
}

bool has_bare_lf(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) return true;
  }
  return false;
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string bytes(size, '\0');
  for (auto& b : bytes) b = static_cast<char>(byte(generator));
  return bytes;
}

std::string base64_lines(const std::string& bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t line = 0;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[n & 63] : '=';
    if ((line += 4) == 76) {
      out += '\n';
      line = 0;
    }
  }
  if (line) out += '\n';
  return out;
}

// multipart/mixed: a text part and a base64 attachment of `attachment_size`
// random bytes.
std::string message_with_attachment(std::size_t attachment_size) {
  return "From: Sender <sender@example.net>\n"
         "To: Alice <alice@example.org>\n"
         "Subject: The scans\n"
         "Message-ID: <cli-test-big@example.net>\n"
         "MIME-Version: 1.0\n"
         "Content-Type: multipart/mixed; boundary=\"=-outer-boundary-=\"\n"
         "\n"
         "--=-outer-boundary-=\n"
         "Content-Type: text/plain; charset=utf-8\n"
         "\n"
         "The scans of the signed contract are attached to this message.\n"
         "--=-outer-boundary-=\n"
         "Content-Type: application/octet-stream; name=\"scans.bin\"\n"
         "Content-Disposition: attachment; filename=\"scans.bin\"\n"
         "Content-Transfer-Encoding: base64\n"
         "\n" +
         base64_lines(random_bytes(attachment_size, 20250303)) + "--=-outer-boundary-=--\n";
}

// A PGP/MIME message as another client would have sent it (RFC 3156 §4).
std::string already_encrypted_message() {
  const auto& keys = shared_keys();
  std::string armored = keys.ring.encrypt_to(
      keys.alice, "Content-Type: text/plain\r\n\r\nAlready secret before it arrived.\r\n");
  return "From: Sender <sender@example.net>\n"
         "To: Alice <alice@example.org>\n"
         "Subject: Secret already\n"
         "MIME-Version: 1.0\n"
         "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\n"
         " boundary=\"enc-boundary\"\n"
         "\n"
         "This is an OpenPGP/MIME encrypted message (RFC 3156).\n"
         "--enc-boundary\n"
         "Content-Type: application/pgp-encrypted\n"
         "Content-Description: PGP/MIME version identification\n"
         "\n"
         "Version: 1\n"
         "\n"
         "--enc-boundary\n"
         "Content-Type: application/octet-stream; name=\"encrypted.asc\"\n"
         "Content-Disposition: inline; filename=\"encrypted.asc\"\n"
         "\n" +
         armored + "\n--enc-boundary--\n";
}

TEST(CliEncrypt, PlainMessageRoundTrips) {
  const std::string input = plain_message();
  process_result r = encrypt_for_alice(input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
}

TEST(CliEncrypt, LfInputGivesLfOutput) {
  const std::string input = plain_message("\n");
  process_result r = encrypt_for_alice(input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
  EXPECT_NE(header_section(r.out).find("Subject: Quarterly figures\n"), std::string::npos);
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << "CR in the output of an LF message";
}

TEST(CliEncrypt, CrlfInputGivesCrlfOutput) {
  const std::string input = plain_message("\r\n");
  process_result r = encrypt_for_alice(input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
  std::string headers = header_section(r.out);
  EXPECT_NE(headers.find("Subject: Quarterly figures\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Content-Type: multipart/encrypted"), std::string::npos) << headers;
  EXPECT_FALSE(has_bare_lf(r.out)) << "bare LF in the output of a CRLF message";
}

TEST(CliEncrypt, OneByteReadsRoundTrip) {
  const std::string input = plain_message();
  process_options options;
  options.input_chunk = 1;
  process_result r = encrypt_for_alice(input, options);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
}

// No header at all: the whole input is body, canonicalised to CRLF.
TEST(CliEncrypt, GarbageWithoutHeadersRoundTrips) {
  std::string input = random_bytes(5000, 7);
  input[0] = '\0';  // never a header field name
  input[100] = '\0';
  process_result r = encrypt_for_alice(input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
}

TEST(CliEncrypt, FiveMebibyteMessageRoundTrips) {
  const std::string input = message_with_attachment(3900 * 1024);
  ASSERT_GE(input.size(), 5u << 20);
  process_result r = encrypt_for_alice(input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
  const std::string first_attachment_line = input.substr(input.find("base64\n\n") + 8, 76);
  EXPECT_EQ(r.out.find(first_attachment_line), std::string::npos) << "attachment in clear";
}

TEST(CliEncrypt, AlreadyEncryptedPassesThroughSilently) {
  const std::string input = already_encrypted_message();
  process_result r = encrypt_for_alice(input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_EQ(r.err, "");
}

// Empty input is no message: exit 0 with empty output would make Dovecot
// store a 0-byte mail, so it is a data error (EX_DATAERR).
TEST(CliEncrypt, EmptyInputWritesNothing) {
  process_result r = encrypt_for_alice("");
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("empty input"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gpgseal::test::cli
