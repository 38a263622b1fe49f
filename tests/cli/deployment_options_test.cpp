// The deployment options on the real binary: failure policies and their exit
// statuses, the deadline, the size limit, keyring templates, the password
// database home, logging destinations, and every bad value of each.
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "cli_support.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

namespace fs = std::filesystem;
constexpr int ex_usage = 64;
constexpr int ex_tempfail = 75;

std::vector<std::string> args_with(std::vector<std::string> options,
                                   const std::vector<std::string>& addresses) {
  for (const auto& a : with_shared_ring(addresses)) options.push_back(a);
  return options;
}

TEST(CliDeployment, EveryBadValueIsAUsageError) {
  const std::vector<std::vector<std::string>> bad = {{"--on-missing-key", "maybe"},
                                                     {"--on-error", "retry"},
                                                     {"--timeout", "0"},
                                                     {"--timeout", "-1"},
                                                     {"--timeout", "soon"},
                                                     {"--timeout", "1e9"},
                                                     {"--max-size", "0"},
                                                     {"--max-size", "-5"},
                                                     {"--max-size", "12X"},
                                                     {"--max-size", "K"},
                                                     {"--log", "file"},
                                                     {"--syslog-facility", "kern"},
                                                     {"--syslog-facility", "local8"},
                                                     {"--gnupghome", "/v/%x"},
                                                     {"--gnupghome", "/v/%"}};
  for (const auto& options : bad) {
    process_result r = run_gpgseal(args_with(options, {"alice@example.org"}), plain_message());
    EXPECT_EQ(r.exit_code, ex_usage) << options[0] << " " << options[1];
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(options[0]), std::string::npos) << r.err;
  }
}

TEST(CliDeployment, GnupghomeAndHomeFromPasswdExcludeEachOther) {
  process_result r =
      run_gpgseal(args_with({"--home-from-passwd"}, {"alice@example.org"}), plain_message());
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_NE(r.err.find("exclude each other"), std::string::npos) << r.err;
}

TEST(CliDeployment, GoodValuesAreAccepted) {
  const std::string input = plain_message();
  process_result r =
      run_gpgseal(args_with({"--on-missing-key", "pass", "--on-error", "fail", "--timeout", "30.5",
                             "--max-size", "10M", "--log", "none", "--syslog-facility", "local3"},
                            {"alice@example.org"}),
                  input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
}

TEST(CliDeployment, MissingKeyFailPolicyExits75WithNothingOnStdout) {
  process_result r =
      run_gpgseal(args_with({"--on-missing-key", "fail"}, {"nobody@example.org"}), plain_message());
  EXPECT_EQ(r.exit_code, ex_tempfail);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no usable encryption key for <nobody@example.org>"), std::string::npos)
      << r.err;
}

TEST(CliDeployment, ErrorFailPolicyExits75WithNothingOnStdout) {
  process_result r = run_gpgseal(
      {"--on-error", "fail", "--gnupghome", "/nonexistent/keyring", "alice@example.org"},
      plain_message());
  EXPECT_EQ(r.exit_code, ex_tempfail);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("/nonexistent/keyring"), std::string::npos) << r.err;
}

// gpg hangs on this keyring (see make_hanging_keyring): the deadline, not the
// speed of the machine, decides how the run ends.
TEST(CliDeployment, TimeoutStopsGpgAndPassesTheOriginalThroughInTime) {
  scratch_dir dir;
  make_hanging_keyring(dir / "gnupg");
  const std::string input = plain_message();
  auto start = std::chrono::steady_clock::now();
  process_result r =
      run_gpgseal({"--timeout", "0.3", "--gnupghome", dir / "gnupg", "alice@example.org"}, input);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find("gave up at the --timeout of 0.3 s and stopped gpg;"), std::string::npos)
      << r.err;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(CliDeployment, TimeoutWithFailPolicyExits75) {
  scratch_dir dir;
  make_hanging_keyring(dir / "gnupg");
  process_result r = run_gpgseal(
      {"--timeout", "0.3", "--on-error", "fail", "--gnupghome", dir / "gnupg", "alice@example.org"},
      plain_message());
  EXPECT_EQ(r.exit_code, ex_tempfail) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliDeployment, MaxSizePassesLargerMessagesThrough) {
  const std::string input = plain_message();
  process_result r = run_gpgseal(args_with({"--max-size", "100"}, {"alice@example.org"}), input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find("larger than --max-size 100"), std::string::npos) << r.err;
  r = run_gpgseal(args_with({"--max-size", "1K", "--on-error", "fail"}, {"alice@example.org"}),
                  std::string(2000, 'x'));
  EXPECT_EQ(r.exit_code, ex_tempfail);
}

TEST(CliDeployment, GnupghomeTemplateSelectsEachUsersKeyring) {
  scratch_dir root;
  fs::create_directories(root / "example.org");
  fs::create_directory_symlink(shared_keys().ring.home(), root / "example.org/alice");
  const std::string input = plain_message();
  process_result r = run_gpgseal({"--gnupghome", root / "%d/%n", "alice@example.org"}, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
  // bob has no directory under the template: an error, by the error policy.
  r = run_gpgseal({"--gnupghome", root / "%d/%n", "bob@example.org"}, input);
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find(root / "example.org/bob"), std::string::npos) << r.err;
}

TEST(CliDeployment, TemplateThatWouldEscapeIsRefused) {
  const std::string input = plain_message();
  for (const char* address : {"..@example.org", "a/b@example.org"}) {
    process_result r = run_gpgseal({"--gnupghome", "/var/vmail/%d/%n/.gnupg", address}, input);
    EXPECT_EQ(r.exit_code, 0) << address;
    EXPECT_EQ(r.out, input);
    EXPECT_NE(r.err.find("would leave its directory"), std::string::npos) << r.err;
    r = run_gpgseal({"--on-error", "fail", "--gnupghome", "/var/vmail/%d/%n/.gnupg", address},
                    input);
    EXPECT_EQ(r.exit_code, ex_tempfail) << address;
  }
}

TEST(CliDeployment, HomeFromPasswdIgnoresTheEnvironment) {
  struct passwd* me = getpwuid(geteuid());
  ASSERT_NE(me, nullptr);
  const std::string expected = std::string(me->pw_dir) + "/.gnupg";
  process_result r =
      run_gpgseal({"--home-from-passwd", "--log", "stderr", "nobody@example.org"}, plain_message(),
                  only_env({"HOME=/elsewhere", "GNUPGHOME=" + shared_keys().ring.home()}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(shared_keys().ring.home()), std::string::npos) << r.err;
}

TEST(CliDeployment, GroupWritableKeyringIsRefused) {
  scratch_dir home;
  fs::copy(shared_keys().ring.home() + "/pubring.kbx", home / "pubring.kbx");
  ASSERT_EQ(chmod(home.path().c_str(), 0770), 0);
  const std::string input = plain_message();
  process_result r = run_gpgseal({"--gnupghome", home.path(), "alice@example.org"}, input);
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find("writable by group or others"), std::string::npos) << r.err;
}

TEST(CliDeployment, LogStderrReportsEveryOutcomeAndNoneSilencesAllButErrors) {
  const std::string input = plain_message();
  process_result r = run_gpgseal(args_with({"--log", "stderr"}, {"alice@example.org"}), input);
  EXPECT_NE(r.err.find("encrypted to 0x" + shared_keys().alice), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::to_string(input.size()) + " bytes in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" ms"), std::string::npos) << r.err;
  r = run_gpgseal(args_with({"--log", "none"}, {"nobody@example.org"}), input);
  EXPECT_EQ(r.err, "");
  r = run_gpgseal({"--log", "none", "--gnupghome", "/nonexistent", "alice@example.org"}, input);
  EXPECT_NE(r.err.find("/nonexistent"), std::string::npos) << "errors are never silenced";
}

}  // namespace
}  // namespace gpgseal::test::cli
