// Malformed and disguised messages through the real binary: every case has an asserted
// outcome (encrypted and decrypting to the original, or passed through byte
// for byte because it really is ciphertext) and bounded time and memory,
// measured on the process. Small cases live in tests/data/malformed/ (pass-*
// must pass through, the rest must be encrypted); the huge ones are made here.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "cli/measured_run.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

const std::string malformed_dir = std::string(GPGSEAL_TEST_DATA_DIR) + "/malformed";

const std::string headers =
    "From: Mallory <mallory@example.net>\n"
    "To: Alice <alice@example.org>\n"
    "Subject: hostile\n";

measured_run seal(const input_pieces& input) {
  return run_gpgseal_measured(with_shared_ring({"alice@example.org"}), input);
}

// Encrypted, decrypts to the original, within the bounds.
void expect_encrypted(const std::string& input) {
  measured_run run = seal(whole(input));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(round_trips(input, run.output(), shared_keys().ring));
  expect_bounded(run);
}

std::vector<std::string> malformed_files() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(malformed_dir)) {
    if (entry.path().extension() == ".eml") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class MalformedFile : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedFile, HasItsOutcomeWithinBounds) {
  const std::string input = read_file(malformed_dir + "/" + GetParam());
  if (GetParam().rfind("pass-", 0) == 0) {
    measured_run run = seal(whole(input));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.output(), input);
    expect_bounded(run);
  } else {
    expect_encrypted(input);
  }
}

// "pgp-mime-one-part.eml" -> "PgpMimeOnePart".
std::string file_test_name(const ::testing::TestParamInfo<std::string>& info) {
  const std::string& file = info.param;
  std::string name;
  for (std::size_t i = 0; i + 4 < file.size(); ++i) {
    bool word_start = i == 0 || !std::isalnum(static_cast<unsigned char>(file[i - 1]));
    if (std::isalnum(static_cast<unsigned char>(file[i]))) {
      name += word_start ? static_cast<char>(std::toupper(static_cast<unsigned char>(file[i])))
                         : file[i];
    }
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Data, MalformedFile, ::testing::ValuesIn(malformed_files()),
                         file_test_name);

TEST(MalformedFiles, CoverTheCasesOfTheIssue) { EXPECT_GE(malformed_files().size(), 25u); }

// Each level opens a multipart whose only part is the next level.
std::string nested_multiparts(std::size_t depth, const std::string& top_type) {
  std::string text =
      headers + "MIME-Version: 1.0\nContent-Type: " + top_type + "; boundary=\"b0\"\n\n--b0\n";
  for (std::size_t i = 1; i < depth; ++i) {
    text += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\n\n--b" +
            std::to_string(i) + "\n";
  }
  text += "Content-Type: text/plain\n\nThe innermost secret, ten thousand levels down.\n";
  for (std::size_t i = depth; i-- > 0;) text += "--b" + std::to_string(i) + "--\n";
  return text;
}

TEST(MalformedMessage, TenThousandNestedMultipartsAreEncrypted) {
  expect_encrypted(nested_multiparts(10000, "multipart/mixed"));
}

TEST(MalformedMessage, TenThousandNestedMultipartsUnderAnEncryptedLabelAreEncrypted) {
  expect_encrypted(
      nested_multiparts(10000, "multipart/encrypted; protocol=\"application/pgp-encrypted\""));
}

TEST(MalformedMessage, OneMebibyteHeaderLineIsEncrypted) {
  expect_encrypted(headers + "X-Long: " + std::string(1 << 20, 'h') + "\n" +
                   "Content-Type: text/plain\n\nThe body after a very long header line.\n");
}

TEST(MalformedMessage, OneMebibyteContentTypeLineIsEncrypted) {
  expect_encrypted(
      headers + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; x=\"" +
      std::string(1 << 20, 'c') + "\"\n\nThe body under a huge Content-Type.\n");
}

// 100 MiB of body on one line: spooled and streamed, never held in memory.
TEST(MalformedMessage, HundredMebibyteBodyLineWithoutNewlineIsEncryptedInBoundedMemory) {
  const std::string chunk(1 << 16, 'x');
  input_pieces input{headers + "\n", chunk, 1600, ""};
  measured_run run = seal(input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::string head(4096, '\0');
  head.resize(pread_full(run.out.get(), head.data(), head.size(), 0));
  EXPECT_EQ(head.rfind(headers + "MIME-Version: 1.0\nContent-Type: multipart/encrypted;", 0), 0u);
  // The payload is the protected-header block and the marked default
  // Content-Type (no Content-* fields), the empty line, and the body.
  EXPECT_TRUE(decrypts_to(run, shared_keys().ring,
                          {test::payload_head_without_content_fields(headers), chunk, 1600, ""}));
  expect_bounded(run);
}

// 100,000 is the most header fields gpgseal keeps apart; names up to 1 KiB.
TEST(MalformedMessage, HundredThousandLongHeaderNamesStayInBoundedMemory) {
  input_pieces input{"", std::string(1000, 'N') + ": v\n", 100000,
                     "Content-Type: text/plain\n\nbody after a flood of header fields\n"};
  measured_run run = seal(input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_GT(run.out_size, input.size());
  expect_bounded(run);
}

// A spoofed label over parts whose headers would make a MIME parser build a
// gigabyte of header objects.
TEST(MalformedMessage, HugePartHeadersUnderAnEncryptedLabelStayInBoundedMemory) {
  input_pieces input{
      headers +
          "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
          "boundary=\"b\"\n\n--b\nContent-Type: application/pgp-encrypted\n",
      "X-F: a\n", 2 << 20,
      "\nVersion: 1\n--b\nContent-Type: application/octet-stream\n\nx\n--b--\n"};
  measured_run run = seal(input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(has_pgp_mime_structure(run.output()));
  expect_bounded(run);
}

TEST(MalformedMessage, TwoHundredThousandNestedPartsUnderAnEncryptedLabelStayBounded) {
  input_pieces input{
      headers +
          "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
          "boundary=\"b\"\n\n--b\n",
      "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n", 200000, "x\n--b--\n"};
  measured_run run = seal(input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(has_pgp_mime_structure(run.output()));
  expect_bounded(run);
}

TEST(MalformedMessage, EmptyInputIsRefusedWithExit65) {
  measured_run run = seal(whole(""));
  EXPECT_EQ(run.exit_code, 65);
  EXPECT_EQ(run.out_size, 0u);
  EXPECT_NE(run.err.find("empty input"), std::string::npos) << run.err;
  expect_bounded(run);
}

}  // namespace
}  // namespace gpgseal::test::cli
