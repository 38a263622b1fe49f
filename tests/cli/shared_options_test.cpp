// The options every front-end shares are parsed and validated in one place
// (src/cli/common/options.cpp): the same bad value gets the same message,
// after the program's own name, from every tool, and exit 64. And the limits
// gpgseal-maildir takes from that layer work on stored mail.
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "support/maildir_fixture.hpp"

namespace gpgseal::test::cli {
namespace {

const std::string maildir_binary = GPGSEAL_MAILDIR_BINARY;

// The first line of stderr without the "PROGRAM: " prefix.
std::string first_complaint(const std::string& err, const std::string& program) {
  std::string line = err.substr(0, err.find('\n'));
  EXPECT_EQ(line.rfind(program + ": ", 0), 0u) << err;
  return line.substr(std::min(line.size(), program.size() + 2));
}

TEST(SharedOptions, TheSameBadValueGetsTheSameMessageFromEveryTool) {
  temp_maildir maildir;
  const std::vector<std::vector<std::string>> bad = {
      {"--gnupghome", "/x/%q"},
      {"--gnupghome", "/x/%"},
      {"--gnupghome", "/x", "--home-from-passwd"},
      {"--timeout", "0"},
      {"--timeout", "soon"},
      {"--max-size", "0"},
      {"--max-size", "12Q"},
      {"--encrypt-mode", "smime"},
      {"--inline-flatten"},
  };
  for (const auto& options : bad) {
    std::vector<std::string> filter_args = options;
    filter_args.push_back("alice@example.org");
    std::vector<std::string> maildir_args = {maildir_binary};
    maildir_args.insert(maildir_args.end(), options.begin(), options.end());
    maildir_args.insert(maildir_args.end(), {maildir.root(), "alice@example.org"});
    process_result filter = run_gpgseal(filter_args, "Subject: x\n\nx\n");
    process_result batch = run_process(maildir_args, "");
    EXPECT_EQ(filter.exit_code, 64) << filter.err;
    EXPECT_EQ(batch.exit_code, 64) << batch.err;
    EXPECT_EQ(filter.out, "");
    EXPECT_EQ(batch.out, "");
    EXPECT_EQ(first_complaint(filter.err, "gpgseal"), first_complaint(batch.err, "gpgseal-maildir"))
        << ::testing::PrintToString(options);
  }
}

// The core says only that no keyring directory was given; which options and
// variables would have named one is the front-end's to say.
TEST(SharedOptions, AnUnnamedKeyringIsExplainedInTermsOfOptions) {
  const std::string message = plain_message();
  process_result filter = run_gpgseal({"alice@example.org"}, message, only_env({}));
  EXPECT_EQ(filter.exit_code, 0) << filter.err;
  EXPECT_EQ(filter.out, message);
  EXPECT_NE(filter.err.find("no keyring directory: no --gnupghome, GNUPGHOME or HOME"),
            std::string::npos)
      << filter.err;
  temp_maildir maildir;
  process_result batch =
      run_process({maildir_binary, maildir.root(), "alice@example.org"}, "", only_env({}));
  EXPECT_EQ(batch.exit_code, 78) << batch.err;
  EXPECT_NE(
      batch.err.find("gpgseal-maildir: no keyring directory: no --gnupghome, GNUPGHOME or HOME"),
      std::string::npos)
      << batch.err;
}

TEST(SharedOptions, MaildirLeavesMessagesOverMaxSizeAsTheyAre) {
  temp_maildir maildir;
  const std::string small = maildir_message("small");
  const std::string large = maildir_message("large") + std::string(4096, 'x') + "\n";
  maildir.add("", "cur", "1.M1P1.host:2,S", small);
  maildir.add("", "cur", "2.M1P1.host:2,S", large);
  process_result r =
      run_process({maildir_binary, "--max-size", std::to_string(small.size() + 100), "--gnupghome",
                   shared_keys().ring.home(), maildir.root(), "alice@example.org"},
                  "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("encrypted                  1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("too large, as is           1"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(maildir.root() + "/cur/2.M1P1.host:2,S"), large);
}

TEST(SharedOptions, MaildirTimeoutIsPerMessageAndLeavesItAsItIs) {
  temp_maildir maildir;
  const std::string message = maildir_message("slow");
  maildir.add("", "cur", "1.M1P1.host:2,S", message);
  // gpg hangs on this keyring: the message fails and stays.
  scratch_dir dir;
  make_hanging_keyring(dir / "gnupg");
  process_result r = run_process({maildir_binary, "--timeout", "0.3", "--gnupghome", dir / "gnupg",
                                  maildir.root(), "alice@example.org"},
                                 "");
  EXPECT_EQ(r.exit_code, 75) << r.out << r.err;
  EXPECT_NE(r.err.find("gave up at the time limit of 0.3 s"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(maildir.root() + "/cur/1.M1P1.host:2,S"), message);
}

}  // namespace
}  // namespace gpgseal::test::cli
