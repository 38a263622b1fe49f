// Failing environments for the real binary (issue 6): no PATH/TMPDIR/HOME, a
// temp directory that is unwritable or fills up, a keyring that is unreadable,
// corrupted or locked, a gpg that dies or hangs, stdout closed early, SIGTERM
// in the middle. In every case: the policy outcome (the default is pass: the
// original on stdout, exit 0), a message that says why, and no temp file left.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <random>

#include "cli/measured_run.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

namespace fs = std::filesystem;
using names = std::vector<std::string>;

constexpr uid_t nobody = 65534;

bool is_root() { return ::geteuid() == 0; }

// A CRLF message whose body is `size` random bytes (no line ends inside the
// lines), so gpg can neither compress it nor finish quickly.
std::string large_message(std::size_t size) {
  std::mt19937 random(42);
  std::string text = "From: a@example.net\r\nTo: alice@example.org\r\nSubject: large\r\n\r\n";
  while (text.size() < size) {
    for (int i = 0; i < 76; ++i) {
      char c = static_cast<char>(random());
      text += c == '\n' || c == '\r' ? ' ' : c;
    }
    text += "\r\n";
  }
  return text;
}

// gpg processes (GPGME detaches them from gpgseal) whose arguments name `home`.
std::vector<pid_t> gpg_processes_using(const std::string& home, const std::string& also = "") {
  std::vector<pid_t> found;
  for (pid_t pid : processes_naming(home)) {
    std::string cmdline = cmdline_of(pid);
    if (cmdline.find("gpg") != std::string::npos &&
        (also.empty() || cmdline.find(also) != std::string::npos)) {
      found.push_back(pid);
    }
  }
  return found;
}

// Waits up to 5 s for every gpg on `home` to go; kills what is left.
bool gpg_gone(const std::string& home) {
  for (int i = 0; i < 500 && !gpg_processes_using(home).empty(); ++i) ::usleep(10000);
  auto left = gpg_processes_using(home);
  for (pid_t pid : left) ::kill(pid, SIGKILL);
  return left.empty();
}

// A small tmpfs at a fresh directory, when the test may mount (root).
class small_tmpfs {
 public:
  explicit small_tmpfs(std::size_t bytes) {
    if (!is_root()) return;
    std::string options = "size=" + std::to_string(bytes) + ",mode=1777";
    mounted_ =
        ::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
  }
  ~small_tmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& path() const { return dir_.path(); }

 private:
  scratch_dir dir_;
  bool mounted_ = false;
};

launch_options tmpdir_env(const std::string& tmpdir) { return with_env({"TMPDIR=" + tmpdir}); }

// The default policy's outcome for a failure: the original, exit 0, and why.
void expect_passed_with_reason(const measured_run& run, const std::string& input,
                               const std::string& reason) {
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.output() == input) << "stdout is not the original message";
  EXPECT_NE(run.err.find(reason), std::string::npos) << run.err;
  expect_bounded(run);
}

TEST(EnvironmentFailure, NoPathNoTmpdirNoHomeStillEncrypts) {
  const std::string input = large_message(1 << 20);
  measured_run run =
      run_gpgseal_measured(with_shared_ring({"alice@example.org"}), whole(input), with_env({}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_TRUE(round_trips(input, run.output(), shared_keys().ring));
  expect_bounded(run);
}

TEST(EnvironmentFailure, UnwritableTmpdirPassesTheMessageThrough) {
  if (!is_root()) GTEST_SKIP() << "needs root to run gpgseal as another user";
  scratch_dir tmp;
  fs::permissions(tmp.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  launch_options options = tmpdir_env(tmp.path());
  options.uid = nobody;
  const std::string input = plain_message();
  // The keyring is never reached: spooling fails first.
  measured_run run = run_gpgseal_measured({"--gnupghome", "/nonexistent", "alice@example.org"},
                                          whole(input), options);
  expect_passed_with_reason(run, input, "cannot create a temporary file in " + tmp.path());
  EXPECT_EQ(entries_of(tmp.path()), names{});
}

// A temp directory that fills up: while spooling (a 1 MiB message; what was
// read is written back unchanged), or after it (600 KiB fit, the encrypted
// copy does not). Either way the original goes out and the reason names it.
struct full_disk_case {
  std::size_t input_size;
  std::string reason;  // followed by the directory in the message
};
const full_disk_case while_spooling{1 << 20, "cannot spool the message: "};
const full_disk_case while_encrypting{600 << 10, "the encrypted message to a temporary file in "};

void expect_full_disk_passes(const full_disk_case& c, const std::string& tmpdir,
                             launch_options options) {
  const std::string input = large_message(c.input_size);
  measured_run run =
      run_gpgseal_measured(with_shared_ring({"alice@example.org"}), whole(input), options);
  expect_passed_with_reason(run, input, c.reason);
  EXPECT_NE(run.err.find(tmpdir), std::string::npos) << run.err;
  EXPECT_EQ(entries_of(tmpdir), names{});
}

// A real full file system, where the test may mount one.
void expect_full_tmpfs_passes(const full_disk_case& c, std::size_t tmpfs_size) {
  small_tmpfs tmp(tmpfs_size);
  if (!tmp.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here; see the RLIMIT_FSIZE variant";
  expect_full_disk_passes(c, tmp.path(), tmpdir_env(tmp.path()));
}

// An injected one anywhere: writes past RLIMIT_FSIZE fail with EFBIG.
void expect_file_size_limit_passes(const full_disk_case& c, rlim_t limit) {
  scratch_dir tmp;
  launch_options options = tmpdir_env(tmp.path());
  options.file_size_limit = limit;
  expect_full_disk_passes(c, tmp.path(), options);
}

TEST(EnvironmentFailure, FullTmpfsWhileSpoolingPassesTheMessageThrough) {
  expect_full_tmpfs_passes(while_spooling, 64 << 10);
}

TEST(EnvironmentFailure, FileSizeLimitWhileSpoolingPassesTheMessageThrough) {
  expect_file_size_limit_passes(while_spooling, 64 << 10);
}

TEST(EnvironmentFailure, FullTmpfsWhileEncryptingPassesTheMessageThrough) {
  expect_full_tmpfs_passes(while_encrypting, 1 << 20);
}

TEST(EnvironmentFailure, FileSizeLimitWhileEncryptingPassesTheMessageThrough) {
  expect_file_size_limit_passes(while_encrypting, 700 << 10);
}

TEST(EnvironmentFailure, UnreadableKeyringPassesTheMessageThrough) {
  if (!is_root()) GTEST_SKIP() << "root reads every file; needs root to run as another user";
  scratch_dir dir;
  copy_public_keyring(dir / "gnupg");
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    ::chown(entry.path().c_str(), nobody, nobody);
  }
  ::chown(dir.path().c_str(), nobody, nobody);
  fs::permissions(dir / "gnupg/pubring.kbx", fs::perms::none);
  launch_options options = tmpdir_env(dir.path());
  options.uid = nobody;
  const std::string input = plain_message();
  measured_run run = run_gpgseal_measured({"--gnupghome", dir / "gnupg", "alice@example.org"},
                                          whole(input), options);
  expect_passed_with_reason(run, input, "keyring");
  EXPECT_TRUE(gpg_gone(dir / "gnupg"));
}

TEST(EnvironmentFailure, CorruptedKeyringPassesTheMessageThrough) {
  scratch_dir dir;
  copy_public_keyring(dir / "gnupg");
  std::string garbage(3000, '\0');
  std::mt19937 random(7);
  for (char& c : garbage) c = static_cast<char>(random());
  write_file(dir / "gnupg/pubring.kbx", garbage);
  const std::string input = plain_message();
  measured_run run =
      run_gpgseal_measured({"--log", "stderr", "--gnupghome", dir / "gnupg", "alice@example.org"},
                           whole(input), tmpdir_env(dir / "gnupg"));
  // gpg reads some garbage as an error, some as an empty keybox: either way
  // the line names the keyring.
  expect_passed_with_reason(run, input, dir / "gnupg");
  EXPECT_TRUE(gpg_gone(dir / "gnupg"));
}

// gpg takes no lock to read a keybox, so a lock held by a live process (the
// test itself) does not stop encryption, nor make it wait.
TEST(EnvironmentFailure, LockedKeyringStillEncrypts) {
  scratch_dir dir;
  copy_public_keyring(dir / "gnupg");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  write_file(dir / "gnupg/pubring.kbx.lock", std::to_string(::getpid()) + "\n" + host + "\n");
  const std::string input = plain_message();
  measured_run run = run_gpgseal_measured({"--gnupghome", dir / "gnupg", "alice@example.org"},
                                          whole(input), tmpdir_env(dir.path()));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(round_trips(input, run.output(), shared_keys().ring));
  EXPECT_LT(run.seconds, 10);
  expect_bounded(run);
}

// Runs gpgseal on a large message with the keyring `dir`/gnupg and TMPDIR
// `dir`/tmp, and sends `signal` to its gpg once it has read 4 MiB of the
// message, so in the middle of it; `signalled` says if it did. (A gpg killed
// with SIGKILL leaves its dotlock file, .#lk0x…, in the keyring: that is
// gpg's, not gpgseal's.)
measured_run signal_gpg_mid_encryption(const scratch_dir& dir, int signal, const std::string& input,
                                       std::vector<std::string> args, bool& signalled) {
  const std::string home = dir / "gnupg";
  copy_public_keyring(home);
  fs::create_directory(dir / "tmp");
  args.insert(args.end(), {"--gnupghome", home, "alice@example.org"});
  signalled = false;
  return run_gpgseal_measured(args, whole(input), tmpdir_env(dir / "tmp"),
                              [&](pid_t, std::uint64_t) {
                                if (signalled) return;
                                for (pid_t gpg : gpg_processes_using(home, "--encrypt")) {
                                  if (io_of(gpg, "rchar") > (4u << 20))
                                    signalled = ::kill(gpg, signal) == 0;
                                }
                              });
}

// Regressions: with gpgme_op_encrypt, gpgseal spun at 100% CPU for ever once
// its gpg died (GPGME polled the dead pipe, got POLLERR, and polled again);
// GPGME's encrypt status handler called the truncated result a success.
TEST(EnvironmentFailure, GpgDyingMidEncryptionPassesTheMessageThrough) {
  scratch_dir dir;
  const std::string input = large_message(32 << 20);
  bool killed = false;
  measured_run run = signal_gpg_mid_encryption(dir, SIGKILL, input, {"--log", "stderr"}, killed);
  ASSERT_TRUE(killed) << "gpg finished before the test could kill it";
  expect_passed_with_reason(run, input, "gpg stopped before finishing");
  EXPECT_LT(run.seconds, 20);
  EXPECT_EQ(entries_of(dir / "tmp"), names{});
}

// With --timeout 2 a hanging gpg makes gpgseal give up within about 3 s,
// kill its gpg, and apply --on-error (default pass).
TEST(EnvironmentFailure, GpgHangingOnItsKeyringIsAbandonedAfterTheTimeout) {
  scratch_dir dir;
  make_hanging_keyring(dir / "gnupg");
  const std::string input = plain_message();
  measured_run run =
      run_gpgseal_measured({"--timeout", "2", "--gnupghome", dir / "gnupg", "alice@example.org"},
                           whole(input), tmpdir_env(dir.path()));
  expect_passed_with_reason(run, input, "time");
  EXPECT_LT(run.seconds, 3.5);
  EXPECT_TRUE(gpg_gone(dir / "gnupg")) << "gpgseal left its hanging gpg behind";
}

// The same for a gpg stopped (SIGSTOP) in mid-encryption.
TEST(EnvironmentFailure, GpgStoppedMidEncryptionIsKilledAfterTheTimeout) {
  scratch_dir dir;
  const std::string input = large_message(32 << 20);
  bool stopped = false;
  measured_run run = signal_gpg_mid_encryption(dir, SIGSTOP, input, {"--timeout", "2"}, stopped);
  ASSERT_TRUE(stopped);
  expect_passed_with_reason(run, input, "time");
  EXPECT_LT(run.seconds, 6);
  EXPECT_TRUE(gpg_gone(dir / "gnupg")) << "gpgseal left its stopped gpg behind";
  EXPECT_EQ(entries_of(dir / "tmp"), names{});
}

// Nothing can be delivered, so exit 74 (Dovecot then stores the original).
TEST(EnvironmentFailure, StdoutClosedEarlyIsAnIoErrorWithNoTempFileLeft) {
  scratch_dir tmp;
  launch_options options = tmpdir_env(tmp.path());
  options.stdout_reader_gone = true;
  measured_run run = run_gpgseal_measured(with_shared_ring({"alice@example.org"}),
                                          whole(large_message(1 << 20)), options);
  EXPECT_EQ(run.exit_code, 74) << run.err;
  EXPECT_EQ(run.signal, 0) << "killed by SIGPIPE instead of reporting it";
  EXPECT_NE(run.err.find("standard output"), std::string::npos) << run.err;
  EXPECT_EQ(entries_of(tmp.path()), names{});
  expect_bounded(run);
}

// SIGTERM (Dovecot's or an admin's) mid-message: no partial message on
// stdout, no temp file, no gpg left running on the user's keyring.
void expect_clean_termination(const measured_run& run, const std::string& tmpdir,
                              const std::string& home) {
  EXPECT_TRUE(run.signal == SIGTERM || run.exit_code > 0) << run.exit_code;
  EXPECT_EQ(run.out_size, 0u) << "a partial message reached stdout";
  EXPECT_EQ(entries_of(tmpdir), names{});
  EXPECT_TRUE(gpg_gone(home)) << "gpg outlived gpgseal";
}

TEST(EnvironmentFailure, SigtermWhileReadingLeavesNothingBehind) {
  scratch_dir dir;
  copy_public_keyring(dir / "gnupg");
  fs::create_directory(dir / "tmp");
  bool sent = false;
  measured_run run = run_gpgseal_measured({"--gnupghome", dir / "gnupg", "alice@example.org"},
                                          whole(large_message(64 << 20)), tmpdir_env(dir / "tmp"),
                                          [&](pid_t pid, std::uint64_t written) {
                                            if (!sent && written > (8u << 20))
                                              sent = ::kill(pid, SIGTERM) == 0;
                                          });
  ASSERT_TRUE(sent);
  expect_clean_termination(run, dir / "tmp", dir / "gnupg");
}

TEST(EnvironmentFailure, SigtermWhileGpgEncryptsLeavesNothingBehind) {
  scratch_dir dir;
  copy_public_keyring(dir / "gnupg");
  fs::create_directory(dir / "tmp");
  bool sent = false;
  measured_run run = run_gpgseal_measured(
      {"--gnupghome", dir / "gnupg", "alice@example.org"}, whole(large_message(32 << 20)),
      tmpdir_env(dir / "tmp"), [&](pid_t pid, std::uint64_t) {
        if (!sent && !gpg_processes_using(dir / "gnupg", "--encrypt").empty()) {
          sent = ::kill(pid, SIGTERM) == 0;
        }
      });
  ASSERT_TRUE(sent) << "gpg finished before the test could stop gpgseal";
  expect_clean_termination(run, dir / "tmp", dir / "gnupg");
}

// Dovecot logs a filter that dies silently only as failed: one stderr line
// says why.
TEST(EnvironmentFailure, SigtermIsReportedOnStderr) {
  scratch_dir tmp;
  bool sent = false;
  measured_run run =
      run_gpgseal_measured(with_shared_ring({"alice@example.org"}), whole(large_message(64 << 20)),
                           tmpdir_env(tmp.path()), [&](pid_t pid, std::uint64_t written) {
                             if (!sent && written > (8u << 20)) sent = ::kill(pid, SIGTERM) == 0;
                           });
  ASSERT_TRUE(sent);
  EXPECT_NE(run.err.find("SIGTERM"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace gpgseal::test::cli
