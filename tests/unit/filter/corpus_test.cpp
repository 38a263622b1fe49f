// Every message in tests/data goes through the core filter. Files named
// pass-*.eml are already encrypted and must come out byte for byte unchanged;
// every other file must come out encrypted and decrypt to its original.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::shared_keys;

std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(GPGSEAL_TEST_DATA_DIR)) {
    if (entry.path().extension() == ".eml") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool expects_pass_through(const std::string& name) { return name.rfind("pass-", 0) == 0; }

class Corpus : public ::testing::TestWithParam<std::string> {};

TEST_P(Corpus, EncryptsOrPassesThroughExactly) {
  std::string input = test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/" + GetParam());
  auto run =
      test::run_core(input, test::options_for(shared_keys().ring.home(), {"alice@example.org"}));
  if (expects_pass_through(GetParam())) {
    EXPECT_EQ(run.outcome.reason, pass_reason::already_encrypted) << run.outcome.detail;
    EXPECT_EQ(run.output, input);
  } else {
    EXPECT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
    EXPECT_TRUE(test::round_trips(input, run.output, shared_keys().ring));
  }
}

TEST_P(Corpus, SameResultThroughAOneBytePipe) {
  std::string input = test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/" + GetParam());
  auto run =
      test::run_core(input, test::options_for(shared_keys().ring.home(), {"alice@example.org"}),
                     test::feed::pipe_one_byte_at_a_time);
  if (expects_pass_through(GetParam())) {
    EXPECT_EQ(run.output, input);
  } else {
    EXPECT_TRUE(test::round_trips(input, run.output, shared_keys().ring));
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name;
  bool upper = true;
  for (char c : info.param.substr(0, info.param.size() - 4)) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      upper = true;
      continue;
    }
    name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Data, Corpus, ::testing::ValuesIn(corpus_files()), test_name);

TEST(CorpusFiles, CoverTheCasesTheFilterMustHandle) { EXPECT_GE(corpus_files().size(), 15u); }

}  // namespace
}  // namespace gpgseal
