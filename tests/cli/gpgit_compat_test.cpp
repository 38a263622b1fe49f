// What admins replacing gpgit rely on: its options are accepted with its
// meaning, in any order with the addresses, under the name gpgit.
#include <unistd.h>

#include <filesystem>

#include "cli_support.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

namespace fs = std::filesystem;
constexpr int ex_usage = 64;

std::string decrypted_inline_body(const std::string& output) {
  std::size_t begin = output.find("-----BEGIN PGP MESSAGE-----");
  std::size_t end = output.find("-----END PGP MESSAGE-----");
  if (begin == std::string::npos || end == std::string::npos) return "<no armor>";
  return shared_keys().ring.decrypt(output.substr(begin, end + 25 - begin));
}

const std::string text_message =
    "From: b@example.org\nSubject: inline please\nContent-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n\nH\xc3\xa4llo, inline text.\n";

TEST(CliGpgit, EncryptModesAreAccepted) {
  for (const char* mode : {"pgpmime", "prefer-inline", "inline-or-plain"}) {
    process_result r =
        run_gpgseal(with_shared_ring({"--encrypt-mode", mode, "alice@example.org"}), text_message);
    EXPECT_EQ(r.exit_code, 0) << mode << ": " << r.err;
    EXPECT_NE(r.out.find("-----BEGIN PGP MESSAGE-----"), std::string::npos) << mode;
  }
}

TEST(CliGpgit, InlineModeDecryptsToTheText) {
  process_result r = run_gpgseal(
      with_shared_ring({"--encrypt-mode", "inline-or-plain", "alice@example.org"}), text_message);
  EXPECT_EQ(decrypted_inline_body(r.out), "H\xc3\xa4llo, inline text.\n");
  EXPECT_NE(r.out.find("Content-Type: text/plain; charset=utf-8\n"), std::string::npos);
}

TEST(CliGpgit, BadEncryptModeIsAUsageError) {
  process_result r =
      run_gpgseal(with_shared_ring({"--encrypt-mode", "inline", "a@example.org"}), text_message);
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_NE(r.err.find("--encrypt-mode inline"), std::string::npos) << r.err;
}

TEST(CliGpgit, InlineFlattenNeedsAnInlineMode) {
  process_result r =
      run_gpgseal(with_shared_ring({"--inline-flatten", "a@example.org"}), text_message);
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_NE(r.err.find("--inline-flatten"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliGpgit, SkipOptionsAreAccepted) {
  process_result r = run_gpgseal(
      with_shared_ring({"--skip-smime", "--skip-ms-bug", "alice@example.org"}), text_message);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(round_trips(text_message, r.out, shared_keys().ring));
}

TEST(CliGpgit, OptionsAndAddressesInAnyOrder) {
  process_result r =
      run_gpgseal({"alice@example.org", "--encrypt-mode", "prefer-inline", "bob@example.org",
                   "--gnupghome", shared_keys().ring.home(), "--inline-flatten"},
                  text_message);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(decrypted_inline_body(r.out), "H\xc3\xa4llo, inline text.\n");
}

TEST(CliGpgit, NoArgumentsIsAUsageErrorNotHelpOnStdout) {
  // gpgit printed its help on stdout and exited 0: Dovecot stored the help
  // text as the message. gpgseal differs on purpose.
  process_result r = run_gpgseal({}, text_message);
  EXPECT_EQ(r.exit_code, ex_usage);
  EXPECT_EQ(r.out, "");
}

TEST(CliGpgit, WorksUnderTheNameGpgit) {
  scratch_dir bin;
  fs::create_symlink(gpgseal_binary, bin / "gpgit");
  process_result r = run_process({bin / "gpgit", "--gnupghome", shared_keys().ring.home(),
                                  "--encrypt-mode", "prefer-inline", "alice@example.org"},
                                 text_message);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(decrypted_inline_body(r.out), "H\xc3\xa4llo, inline text.\n");
}

}  // namespace
}  // namespace gpgseal::test::cli
