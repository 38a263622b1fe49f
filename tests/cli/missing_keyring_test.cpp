// --on-missing-keyring: a recipient whose keyring directory does not exist
// has not opted in (sieve/README.md, "A user without a keyring directory").
// `pass` delivers the original quietly (a notice in syslog only, nothing on
// the stderr that Dovecot logs as Error), `error` (the default) delivers it
// with an error, `fail` refuses it; a keyring that exists but is unsafe stays
// an error whatever the choice. The syslog side is in syslog_test.cpp.
#include <sys/stat.h>

#include "cli_support.hpp"

namespace gpgseal::test::cli {
namespace {

process_result run_missing(const std::string& keyring, const std::vector<std::string>& policy) {
  std::vector<std::string> args = {"--gnupghome", keyring};
  args.insert(args.end(), policy.begin(), policy.end());
  args.push_back("alice@example.org");
  return run_gpgseal(args, plain_message());
}

TEST(CliMissingKeyring, PassDeliversTheOriginalWithNothingOnStderr) {
  scratch_dir dir;
  process_result r = run_missing(dir.path() + "/no-keyring", {"--on-missing-keyring", "pass"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, plain_message());
  EXPECT_EQ(r.err, "");
}

TEST(CliMissingKeyring, ErrorIsTheDefaultAndDeliversTheOriginalWithAnError) {
  scratch_dir dir;
  const std::string missing = dir.path() + "/no-keyring";
  for (const auto& policy :
       {std::vector<std::string>{}, std::vector<std::string>{"--on-missing-keyring", "error"}}) {
    process_result r = run_missing(missing, policy);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, plain_message());
    EXPECT_NE(r.err.find("gpgseal: message for <alice@example.org> passed through UNENCRYPTED"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  }
}

TEST(CliMissingKeyring, FailWritesNothingAndAsksForARetry) {
  scratch_dir dir;
  process_result r = run_missing(dir.path() + "/no-keyring", {"--on-missing-keyring", "fail"});
  EXPECT_EQ(r.exit_code, 75);  // EX_TEMPFAIL
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no keyring directory"), std::string::npos) << r.err;
}

TEST(CliMissingKeyring, AnUnsafeKeyringStaysAnErrorUnderPass) {
  scratch_dir dir;
  const std::string keyring = dir.path() + "/open";
  ASSERT_EQ(::mkdir(keyring.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(keyring.c_str(), 0777), 0);
  process_result r = run_missing(keyring, {"--on-missing-keyring", "pass"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, plain_message());
  EXPECT_NE(r.err.find("writable by group or others"), std::string::npos) << r.err;
  r = run_missing(keyring, {"--on-missing-keyring", "pass", "--on-error", "fail"});
  EXPECT_EQ(r.exit_code, 75);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace gpgseal::test::cli
