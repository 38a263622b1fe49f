// The command line itself: --help, --version, and every usage error (exit 64,
// EX_USAGE) — which must write nothing to stdout, never reach gpg, and still
// read all of a piped stdin so the delivering MTA does not see EPIPE.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/cli_support.hpp"

namespace gpgseal::test::cli {
namespace {

constexpr int ex_usage = 64;

// Addresses that must never reach gpg: each is an option, a gpg key
// specifier ('<', '@', '=', '*', "0x"), or not one plain mailbox.
const std::vector<std::string> not_plain_mailboxes = {"",
                                                      "-x@y",
                                                      "<a@example.org>",
                                                      "@example.org",
                                                      "=a@example.org",
                                                      "*a@example.org",
                                                      "0xDEADBEEF",
                                                      "a b@example.org",
                                                      "a@",
                                                      "noat",
                                                      "a@b@c"};

TEST(CliUsage, HelpExitsZeroWithUsageOnStdout) {
  for (const char* flag : {"--help", "-h"}) {
    SCOPED_TRACE(flag);
    process_result r = run_gpgseal({flag}, "");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Usage: gpgseal"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--gnupghome"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
  }
}

TEST(CliUsage, VersionPrintsNameAndVersion) {
  process_result r = run_gpgseal({"--version"}, "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "gpgseal 0.1.0\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliUsage, HelpAndVersionWorkWithEmptyEnvironment) {
  for (const char* flag : {"--help", "-h", "--version"}) {
    SCOPED_TRACE(flag);
    process_result r = run_gpgseal({flag}, "", only_env({}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(r.out.empty());
    EXPECT_EQ(r.err, "");
  }
}

TEST(CliUsage, HelpWinsOverAddressesAndReadsNoKeyring) {
  scratch_dir home;
  process_result r =
      run_gpgseal({"--gnupghome", home.path(), "--help", "alice@example.org"}, plain_message());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Usage: gpgseal"), std::string::npos);
  EXPECT_TRUE(entries_of(home.path()).empty());
}

TEST(CliUsage, MissingAddressExits64) {
  process_result r = run_gpgseal(with_shared_ring({}), plain_message());
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_NE(r.err.find("no recipient ADDRESS"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliUsage, UnknownOptionExits64) {
  process_result r =
      run_gpgseal(with_shared_ring({"--frobnicate", "alice@example.org"}), plain_message());
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliUsage, UnknownLogDestinationExits64) {
  process_result r = run_gpgseal({"--log", "file", "alice@example.org"}, "");
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--log file"), std::string::npos) << r.err;
}

// Protected headers: hiding needs PGP/MIME, and the other two options need
// what they modify (README "Protected headers").
TEST(CliUsage, HeaderOptionsOutsideTheirModeExit64) {
  const std::vector<std::vector<std::string>> cases = {
      {"--hide-subject", "--encrypt-mode", "prefer-inline", "alice@example.org"},
      {"--no-legacy-display", "alice@example.org"},
      {"--inline-utf8", "alice@example.org"}};
  for (const auto& args : cases) {
    process_result r = run_gpgseal(with_shared_ring(args), plain_message());
    EXPECT_EQ(r.exit_code, ex_usage) << args.front();
    EXPECT_EQ(r.out, "") << args.front();
    EXPECT_NE(r.err.find(args.front()), std::string::npos) << r.err;
  }
}

TEST(CliUsage, GnupghomeWithoutValueExits64) {
  process_result r = run_gpgseal({"alice@example.org", "--gnupghome"}, plain_message());
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_EQ(r.out, "");
}

// After "--" every argument is an address, so the address check itself must
// reject these; a fresh keyring directory shows gpg was never started (gpg
// creates pubring.kbx, trustdb.gpg or sockets in any home it touches).
TEST(CliUsage, NotPlainMailboxExits64WithoutConsultingGpg) {
  for (const auto& address : not_plain_mailboxes) {
    SCOPED_TRACE("address '" + address + "'");
    scratch_dir home;
    process_result r = run_gpgseal({"--gnupghome", home.path(), "--", address}, plain_message());
    EXPECT_EQ(r.exit_code, ex_usage);
    EXPECT_NE(r.err.find("is not a plain mailbox address"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("'" + address + "'"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(entries_of(home.path()).empty()) << "gpg touched the keyring directory";
  }
}

// Without "--" the same words arrive as plain positional arguments, except
// "-x@y", which is an (unknown) option: still a usage error either way.
TEST(CliUsage, NotPlainMailboxWithoutSeparatorExits64) {
  for (const auto& address : not_plain_mailboxes) {
    SCOPED_TRACE("address '" + address + "'");
    scratch_dir home;
    process_result r = run_gpgseal({"--gnupghome", home.path(), address}, plain_message());
    EXPECT_EQ(r.exit_code, ex_usage) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(entries_of(home.path()).empty()) << "gpg touched the keyring directory";
  }
}

TEST(CliUsage, OneBadAddressAmongGoodOnesExits64) {
  process_result r =
      run_gpgseal(with_shared_ring({"alice@example.org", "--", "noat"}), plain_message());
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_NE(r.err.find("'noat' is not a plain mailbox address"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// The writer at the other end of the pipe is the MTA: if gpgseal exited
// without reading everything, the writer would die of SIGPIPE (status 141).
// bash's PIPESTATUS reports both sides of the pipe.
std::string pipe_statuses(const std::string& gpgseal_args) {
  std::string script = "head -c 8388608 /dev/zero | '" + gpgseal_binary + "' " + gpgseal_args +
                       " >/dev/null 2>&1; echo \"${PIPESTATUS[0]} ${PIPESTATUS[1]}\"";
  return run_checked({"bash", "-c", script});
}

TEST(CliUsage, UsageErrorReadsAllOfPipedInput) {
  EXPECT_EQ(pipe_statuses(""), "0 64\n");
  EXPECT_EQ(pipe_statuses("--frobnicate alice@example.org"), "0 64\n");
  EXPECT_EQ(pipe_statuses("-- '<a@example.org>'"), "0 64\n");
}

TEST(CliUsage, UsageErrorIsNotKilledByLargeInput) {
  const std::string big(8 << 20, 'x');
  process_result r = run_gpgseal({"--", "a b@example.org"}, big);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace gpgseal::test::cli
