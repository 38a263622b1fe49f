// Round trips through the core filter: encrypt, decrypt with the test key,
// compare with the input (RFC 3156 §4 structure, headers, payload bytes).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::shared_keys;

test::core_run seal_for_alice(const std::string& input, test::feed how = test::feed::file) {
  return test::run_core(input, test::options_for(shared_keys().ring.home(), {"alice@example.org"}),
                        how);
}

const std::string simple =
    "Return-Path: <bob@example.org>\n"
    "Received: from mx.example.org by imap.example.org;\n\tMon, 1 Jan 2024 00:00:00 +0000\n"
    "From: Bob <bob@example.org>\n"
    "To: alice@example.org\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org;\n "
    "b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Message-ID: <1@example.org>\n"
    "\n"
    "Hello Alice, with trailing spaces   \n\xc3\xbc and 8-bit bytes\n";

TEST(PgpMime, KeepsHeadersAndBodyBytesExactly) {
  auto run = seal_for_alice(simple);
  EXPECT_EQ(run.outcome.action, filter_action::encrypted);
  EXPECT_TRUE(test::round_trips(simple, run.output, shared_keys().ring));
  EXPECT_EQ(run.outcome.fingerprints, std::vector<std::string>{shared_keys().alice});
}

TEST(PgpMime, DropsDkimAndAddsTheMarkers) {
  auto run = seal_for_alice(simple);
  auto outer = test::split_message(run.output);
  std::vector<std::string> names;
  for (const auto& f : outer.fields) names.push_back(test::field_name(f));
  EXPECT_EQ(std::count(names.begin(), names.end(), "dkim-signature"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "mime-version"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "content-transfer-encoding"), 0);
  EXPECT_NE(std::find(outer.fields.begin(), outer.fields.end(), "X-Gpgit-Executed: True\n"),
            outer.fields.end());
}

TEST(PgpMime, KeepsAnExistingMimeVersionWithoutDuplicating) {
  std::string in = "MIME-Version: 1.0 (produced by a mailer)\nSubject: s\n\nbody\n";
  auto run = seal_for_alice(in);
  EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring));
  EXPECT_NE(run.output.find("MIME-Version: 1.0 (produced by a mailer)\n"), std::string::npos);
  EXPECT_EQ(run.output.find("MIME-Version: 1.0\n"), std::string::npos);
}

TEST(PgpMime, CrlfInputGivesCrlfOutput) {
  std::string in = "Subject: s\r\nTo: alice@example.org\r\n\r\nline one\r\nline two\r\n";
  auto run = seal_for_alice(in);
  EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring));
  for (std::size_t i = 0; i < run.output.size(); ++i) {
    if (run.output[i] == '\n') {
      ASSERT_EQ(run.output[i - 1], '\r') << "bare LF at " << i;
    }
  }
}

TEST(PgpMime, LfInputGivesLfOutput) {
  auto run = seal_for_alice(simple);
  EXPECT_EQ(run.output.find('\r'), std::string::npos);
}

TEST(PgpMime, MboxEnvelopeLineStaysFirst) {
  std::string in = "From bob@example.org Mon Jan  1 00:00:00 2024\nSubject: s\n\nbody text here\n";
  auto run = seal_for_alice(in);
  EXPECT_EQ(run.output.rfind("From bob@example.org Mon Jan  1 00:00:00 2024\n", 0), 0u);
  EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring));
}

TEST(PgpMime, MessageWithoutBlankLineStillHasItsBodyEncrypted) {
  std::string in =
      "Subject: s\nFrom: b@example.org\nThis secret line is not a header\nmore secret\n";
  auto run = seal_for_alice(in);
  EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring));
  EXPECT_EQ(run.output.find("secret"), std::string::npos);
}

TEST(PgpMime, HeadersOnlyWithoutLineEnd) {
  std::string in = "Subject: s\nContent-Type: text/plain";
  auto run = seal_for_alice(in);
  EXPECT_EQ(run.outcome.action, filter_action::encrypted);
  std::string armored;
  ASSERT_TRUE(test::has_pgp_mime_structure(run.output, &armored));
  // The protected-header block (protected_headers_test.cpp), then the
  // Content-Type with its markers and the empty body.
  std::string payload = shared_keys().ring.decrypt(armored);
  const std::string block = "Subject: s\r\nHP-Outer: Subject: s\r\n";
  ASSERT_EQ(payload.substr(0, block.size()), block);
  EXPECT_EQ(payload.substr(block.size()),
            "Content-Type: text/plain;\r\n\tprotected-headers=\"v1\"; hp=\"cipher\"\r\n\r\n");
}

TEST(PgpMime, InputReadThroughAPipeOneByteAtATime) {
  auto run = seal_for_alice(simple, test::feed::pipe_one_byte_at_a_time);
  EXPECT_TRUE(test::round_trips(simple, run.output, shared_keys().ring));
}

TEST(PgpMime, SeveralAddressesEncryptOnceToAllKeys) {
  auto run = test::run_core(simple, test::options_for(shared_keys().ring.home(),
                                                      {"alice@example.org", "bob@example.org"}));
  EXPECT_EQ(run.outcome.fingerprints,
            (std::vector<std::string>{shared_keys().alice, shared_keys().bob}));
  std::string armored;
  ASSERT_TRUE(test::has_pgp_mime_structure(run.output, &armored));
  std::string packets = shared_keys().ring.recipients_of(armored);
  std::size_t pubkey_packets = 0;
  for (std::size_t p = packets.find(":pubkey enc packet:"); p != std::string::npos;
       p = packets.find(":pubkey enc packet:", p + 1)) {
    ++pubkey_packets;
  }
  EXPECT_EQ(pubkey_packets, 2u);
}

TEST(PgpMime, MissingKeyPassesTheOriginalThrough) {
  auto run = test::run_core(simple, test::options_for(shared_keys().ring.home(),
                                                      {"alice@example.org", "nobody@example.org"}));
  EXPECT_EQ(run.outcome.action, filter_action::passed_through);
  EXPECT_EQ(run.outcome.reason, pass_reason::no_key);
  EXPECT_EQ(run.output, simple);
}

TEST(PgpMime, MissingKeyWithFailPolicyWritesNothing) {
  auto options = test::options_for(shared_keys().ring.home(), {"nobody@example.org"});
  options.on_missing_key = on_failure::fail;
  auto run = test::run_core(simple, options);
  EXPECT_EQ(run.outcome.action, filter_action::failed);
  EXPECT_TRUE(run.output.empty());
}

TEST(PgpMime, AnErrorPassesTheOriginalThroughWithAReason) {
  auto run =
      test::run_core(simple, test::options_for("/nonexistent/keyring", {"alice@example.org"}));
  EXPECT_EQ(run.outcome.action, filter_action::passed_through);
  EXPECT_EQ(run.outcome.reason, pass_reason::error);
  EXPECT_NE(run.outcome.detail.find("/nonexistent/keyring"), std::string::npos);
  EXPECT_EQ(run.output, simple);
}

TEST(PgpMime, AnUnwritableTempDirPassesTheOriginalThrough) {
  auto options = test::options_for(shared_keys().ring.home(), {"alice@example.org"});
  options.temp_dir = "/nonexistent/tmp";
  auto run = test::run_core(simple, options);
  EXPECT_EQ(run.outcome.action, filter_action::passed_through);
  EXPECT_EQ(run.outcome.reason, pass_reason::error);
  EXPECT_EQ(run.output, simple);
}

TEST(PgpMime, EmptyInputWritesNothing) {
  auto run = seal_for_alice("");
  EXPECT_EQ(run.outcome.reason, pass_reason::empty_input);
  EXPECT_EQ(run.outcome.action, filter_action::failed);
  EXPECT_TRUE(run.output.empty());
}

TEST(PgpMime, AKeyringDirectoryWithoutKeysIsMissingKeyAndStaysUntouched) {
  std::string home = test::make_temp_dir();
  auto run = test::run_core(simple, test::options_for(home, {"alice@example.org"}));
  EXPECT_EQ(run.outcome.reason, pass_reason::no_key);
  EXPECT_NE(run.outcome.detail.find("holds no public keyring"), std::string::npos);
  EXPECT_EQ(run.output, simple);
  EXPECT_TRUE(std::filesystem::is_empty(home));
  test::remove_tree(home);
}

TEST(PgpMime, AlreadyEncryptedIsPassedThroughUnchanged) {
  std::string in = "Subject: s\n\n" + shared_keys().ring.encrypt_to(shared_keys().bob, "x\n");
  auto run = seal_for_alice(in);
  EXPECT_EQ(run.outcome.reason, pass_reason::already_encrypted);
  EXPECT_EQ(run.output, in);
}

TEST(PgpMime, AMultiMegabyteAttachmentRoundTrips) {
  std::string in =
      "Subject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
      "Content-Type: text/plain\n\nsee attachment\n--b\nContent-Type: application/octet-stream\n"
      "Content-Transfer-Encoding: base64\n\n";
  std::string line;
  for (int i = 0; i < 76; ++i)
    line += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 7) % 64];
  for (int i = 0; i < 60000; ++i) in += line.substr(i % 13) + line.substr(0, i % 13) + "\n";
  in += "--b--\n";
  auto run = seal_for_alice(in);
  EXPECT_GT(in.size(), 4u << 20);
  EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring));
}

}  // namespace
}  // namespace gpgseal
