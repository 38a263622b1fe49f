// Every corpus message through gpgit's inline modes, with and without
// --inline-flatten. Whatever a mode chooses, the result must be one of:
// inline PGP whose armor decrypts to the decoded text of a text/plain part of
// the input (the whole message, or with flattening one of its leaves);
// PGP/MIME that round-trips; or, where the mode allows it, the input unchanged.
#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::shared_keys;

void collect_text_leaves(GMimeObject* object, std::vector<std::string>& texts) {
  if (GMIME_IS_MULTIPART(object)) {
    for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(object)); ++i) {
      collect_text_leaves(g_mime_multipart_get_part(GMIME_MULTIPART(object), i), texts);
    }
  } else if (GMIME_IS_PART(object) &&
             g_mime_content_type_is_type(g_mime_object_get_content_type(object), "text", "plain")) {
    texts.push_back(test::to_lf(test::decoded_content(object)));
  }
}

// The decoded texts of the input's text/plain leaves, as GMime reads them.
std::vector<std::string> text_leaves(const std::string& input) {
  g_mime_init();
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(input.data(), input.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* message = g_mime_parser_construct_message(parser, nullptr);
  std::vector<std::string> texts;
  if (message) collect_text_leaves(g_mime_message_get_mime_part(message), texts);
  if (message) g_object_unref(message);
  g_object_unref(parser);
  g_object_unref(stream);
  return texts;
}

::testing::AssertionResult is_inline_of(const std::string& input, const std::string& output) {
  std::size_t begin = output.find("-----BEGIN PGP MESSAGE-----");
  std::size_t end = output.find("-----END PGP MESSAGE-----");
  if (begin == std::string::npos || end == std::string::npos) {
    return ::testing::AssertionFailure() << "no armored body";
  }
  std::string text =
      test::to_lf(shared_keys().ring.decrypt(output.substr(begin, end + 25 - begin)));
  auto leaves = text_leaves(input);
  // A malformed header block ends at its first non-header line (that line is
  // body, never left in clear), where GMime may read it differently.
  leaves.push_back(test::split_message(input).body);
  if (std::find(leaves.begin(), leaves.end(), text) == leaves.end()) {
    return ::testing::AssertionFailure() << "decrypts to no text/plain part of the input";
  }
  if (output.find("X-Gpgit-Executed: True") == std::string::npos) {
    return ::testing::AssertionFailure() << "no X-Gpgit-Executed";
  }
  return ::testing::AssertionSuccess();
}

using mode_case = std::tuple<std::string, encrypt_mode, bool>;

class CorpusModes : public ::testing::TestWithParam<mode_case> {};

TEST_P(CorpusModes, GiveInlinePgpMimeOrAllowedPassThrough) {
  const auto& [file, mode, flatten] = GetParam();
  std::string input = test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/" + file);
  auto options = test::options_for(shared_keys().ring.home(), {"alice@example.org"});
  options.mode = mode;
  options.inline_flatten = flatten;
  auto run = test::run_core(input, options);
  if (file.rfind("pass-", 0) == 0) {
    EXPECT_EQ(run.output, input) << "an encrypted message must pass through";
  } else if (run.output == input) {
    EXPECT_EQ(mode, encrypt_mode::inline_or_plain) << run.outcome.detail;
    EXPECT_EQ(run.outcome.reason, pass_reason::not_inline) << run.outcome.detail;
  } else if (run.output.find("multipart/encrypted") != std::string::npos &&
             run.output.find("X-Gpgit-Flattened-From") == std::string::npos &&
             test::has_pgp_mime_structure(run.output)) {
    EXPECT_NE(mode, encrypt_mode::inline_or_plain);
    EXPECT_TRUE(test::round_trips(input, run.output, shared_keys().ring));
  } else {
    EXPECT_TRUE(is_inline_of(input, run.output));
    bool flattened = run.output.find("X-Gpgit-Flattened-From: ") != std::string::npos;
    EXPECT_TRUE(!flattened || flatten) << "flattened without --inline-flatten";
  }
}

std::vector<mode_case> all_cases() {
  std::vector<mode_case> cases;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(GPGSEAL_TEST_DATA_DIR)) {
    if (entry.path().extension() == ".eml") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    for (encrypt_mode mode : {encrypt_mode::prefer_inline, encrypt_mode::inline_or_plain}) {
      for (bool flatten : {false, true}) cases.emplace_back(file, mode, flatten);
    }
  }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<mode_case>& info) {
  const auto& [file, mode, flatten] = info.param;
  std::string name;
  for (char c : file.substr(0, file.size() - 4)) {
    if (std::isalnum(static_cast<unsigned char>(c))) name += c;
  }
  name += mode == encrypt_mode::prefer_inline ? "PreferInline" : "InlineOrPlain";
  return name + (flatten ? "Flatten" : "");
}

INSTANTIATE_TEST_SUITE_P(Data, CorpusModes, ::testing::ValuesIn(all_cases()), case_name);

}  // namespace
}  // namespace gpgseal
