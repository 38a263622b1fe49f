// The real gpgseal-maildir binary: help and version without a keyring, usage
// errors (64), the summary on stdout, a dry run's list, the exit status when
// a message fails (75), keyring resolution, date selection, the progress bar,
// and SIGINT/SIGTERM mid-run (clean stop, nothing lost, a re-run finishes).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "cli/cli_support.hpp"
#include "support/maildir_fixture.hpp"
#include "support/smime_certs.hpp"

namespace gpgseal::test::cli {
namespace {

const std::string maildir_binary = GPGSEAL_MAILDIR_BINARY;

process_result run_tool(const std::vector<std::string>& args, const process_options& options = {}) {
  std::vector<std::string> argv = {maildir_binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, "", options);
}

// `--gnupghome <shared ring> MAILDIR alice@example.org`, after `options`.
std::vector<std::string> for_alice(const temp_maildir& maildir,
                                   std::vector<std::string> options = {}) {
  options.insert(options.end(),
                 {"--gnupghome", shared_keys().ring.home(), maildir.root(), "alice@example.org"});
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t encrypted_count(const temp_maildir& maildir) {
  std::size_t n = 0;
  for (const auto& name : maildir.names("", "cur")) n += contains(name, ",S=") ? 1 : 0;
  return n;
}

TEST(MaildirCli, HelpAndVersionNeedNothingElse) {
  process_result help = run_tool({"--help"}, only_env({}));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "Usage: gpgseal-maildir [OPTIONS] MAILDIR ADDRESS..."));
  EXPECT_TRUE(contains(help.out, "--dry-run"));
  process_result version = run_tool({"--version"}, only_env({}));
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("gpgseal-maildir ", 0), 0u);
}

TEST(MaildirCli, UsageErrorsExit64WithoutTouchingAnything) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  auto before = maildir.snapshot();
  const std::string root = maildir.root();
  const std::vector<std::vector<std::string>> bad = {
      {},
      {root},
      {root, "alice"},
      {root, "-alice@example.org"},
      {"--frobnicate", root, "alice@example.org"},
      {"--jobs", "many", root, "alice@example.org"},
      {"--jobs", "100000", root, "alice@example.org"},
      {"--newer-than", "yesterday", root, "alice@example.org"},
      {"--older-than", "2024-13-01", root, "alice@example.org"},
      {"--progress", "sometimes", root, "alice@example.org"},
      {"--encrypt-mode", "smime", root, "alice@example.org"},
      {"--inline-flatten", root, "alice@example.org"},
      {root + "/cur", "alice@example.org"},
      {root + "/no-such-folder", "alice@example.org"},
  };
  for (const auto& args : bad) {
    process_result r = run_tool(args);
    EXPECT_EQ(r.exit_code, 64) << ::testing::PrintToString(args) << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "gpgseal-maildir: ")) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(maildir.snapshot(), before);
}

TEST(MaildirCli, EncryptsPrintsSummaryAndSecondRunIsNoOp) {
  temp_maildir maildir;
  maildir.add_folder(".Sent");
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  maildir.add(".Sent", "new", "2.M1P1.host", maildir_message("b"));
  process_result first = run_tool(for_alice(maildir));
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.err, "");  // no progress bar when stderr is no terminal
  EXPECT_TRUE(contains(first.out, "messages seen              2  (in 2 folders)")) << first.out;
  EXPECT_TRUE(contains(first.out, "encrypted                  2")) << first.out;
  EXPECT_TRUE(contains(first.out, "failed                     0")) << first.out;
  process_result second = run_tool(for_alice(maildir));
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_TRUE(contains(second.out, "encrypted                  0")) << second.out;
  EXPECT_TRUE(contains(second.out, "already encrypted          2")) << second.out;
}

TEST(MaildirCli, DryRunListsWhatWouldChangeAndWritesNothing) {
  temp_maildir maildir;
  std::string path = maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  auto before = maildir.snapshot();
  process_result r = run_tool(for_alice(maildir, {"--dry-run"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "would encrypt " + path + "\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "would encrypt              1")) << r.out;
  EXPECT_EQ(maildir.snapshot(), before);
}

TEST(MaildirCli, VerboseListsEveryMessage) {
  temp_maildir maildir;
  std::string path = maildir.add("", "new", "1.M1P1.host", maildir_message("a"));
  process_result r = run_tool(for_alice(maildir, {"-v"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "encrypted " + path + "\n")) << r.out;
}

TEST(MaildirCli, KeyringFromGnupghomeVariable) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  process_result r = run_tool(
      {maildir.root(), "alice@example.org"},
      only_env({path_variable(), "GNUPGHOME=" + shared_keys().ring.home(), "HOME=/nonexistent"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(encrypted_count(maildir), 1u);
}

TEST(MaildirCli, WithoutKeyExits0AndSaysWhy) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  auto before = maildir.snapshot();
  process_result r =
      run_tool({"--gnupghome", shared_keys().ring.home(), maildir.root(), "mallory@example.org"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "no usable encryption key for <mallory@example.org>")) << r.err;
  EXPECT_TRUE(contains(r.out, "without key                1")) << r.out;
  EXPECT_EQ(maildir.snapshot(), before);
}

TEST(MaildirCli, UnusableKeyringStopsBeforeTouchingAnything) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  auto before = maildir.snapshot();
  process_result r =
      run_tool({"--gnupghome", "/nonexistent/keyring", maildir.root(), "alice@example.org"});
  EXPECT_EQ(r.exit_code, 78) << r.err;  // EX_CONFIG, as gpgseal for the same keyring
  EXPECT_TRUE(contains(r.err, "/nonexistent/keyring")) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(maildir.snapshot(), before);
}

TEST(MaildirCli, SelectsByDateAndAge) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("old"), 1577836800);  // 2020
  maildir.add("", "cur", "2.M1P1.host:2,S", maildir_message("new"), std::time(nullptr) - 60);
  process_result r = run_tool(for_alice(maildir, {"--older-than", "2021-01-01"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "outside the dates          1")) << r.out;
  auto names = maildir.names("", "cur");
  EXPECT_TRUE(contains(names.at(0), "1.M1P1.host,S="));  // 2020: encrypted
  EXPECT_EQ(names.at(1), "2.M1P1.host:2,S");
  r = run_tool(for_alice(maildir, {"--newer-than", "30d"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(encrypted_count(maildir), 2u);
}

TEST(MaildirCli, ProgressBarWhenAskedFor) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  process_result r = run_tool(for_alice(maildir, {"--progress", "always"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "] 1/1")) << r.err;
  EXPECT_EQ(r.err.substr(r.err.size() - 4), "\r\033[K");  // cleared before the summary
}

// A message the tool cannot read: reported with its name and reason, the run
// goes on, and the exit status says something failed.
TEST(MaildirCli, FailedMessageIsNamedAndExits75) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run as another user";
  const uid_t nobody = 65534;
  temp_maildir maildir;
  std::string unreadable = maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  maildir.add("", "cur", "2.M1P1.host:2,S", maildir_message("b"));
  scratch_dir ring;
  run_checked({"gpg", "--batch", "--quiet", "--homedir", ring.path(), "--import"},
              shared_keys().ring.export_public(shared_keys().alice));
  std::string top = std::filesystem::path(maildir.root()).parent_path().string();
  // run_as_uid keeps gid 0: the files get that group, so that the copy can have it too.
  for (const auto& dir : {top, ring.path()}) {
    run_checked({"chown", "-R", std::to_string(nobody) + ":0", dir});
  }
  ASSERT_EQ(chmod(unreadable.c_str(), 0), 0);
  process_options as_nobody = only_env({path_variable()});
  as_nobody.run_as_uid = nobody;
  process_result r = run_process({runnable_by_anyone(maildir_binary), "--gnupghome", ring.path(),
                                  maildir.root(), "alice@example.org"},
                                 "", as_nobody);
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_TRUE(contains(r.err, unreadable + ": failed: cannot open")) << r.err;
  EXPECT_TRUE(contains(r.out, "encrypted                  1")) << r.err;
  EXPECT_TRUE(contains(r.out, "failed                     1")) << r.err;
  run_checked({"gpgconf", "--homedir", ring.path(), "--kill", "all"});
}

// Starts the binary without waiting; stdout and stderr go to files.
pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(o, STDOUT_FILENO);
  dup2(e, STDERR_FILENO);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(maildir_binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

class MaildirCliSignal : public ::testing::TestWithParam<int> {};

TEST_P(MaildirCliSignal, StopsCleanlyAndRerunFinishes) {
  constexpr int messages = 40;
  temp_maildir maildir;
  for (int i = 0; i < messages; ++i) {
    maildir.add("", "cur", std::to_string(1000 + i) + ".M1P1.host:2,S",
                maildir_message(std::to_string(i)));
  }
  scratch_dir logs;
  pid_t pid = spawn(for_alice(maildir, {"--jobs", "2"}), logs / "out", logs / "err");
  ASSERT_GT(pid, 0);
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (encrypted_count(maildir) == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, GetParam());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 75) << read_file(logs / "err");
  EXPECT_TRUE(contains(read_file(logs / "out"), "interrupted")) << read_file(logs / "out");
  EXPECT_TRUE(maildir.names("", "tmp").empty());
  EXPECT_EQ(maildir.names("", "cur").size(), static_cast<std::size_t>(messages));
  EXPECT_LT(encrypted_count(maildir), static_cast<std::size_t>(messages));

  process_result rerun = run_tool(for_alice(maildir));
  EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(maildir.names("", "cur").size(), static_cast<std::size_t>(messages));
  EXPECT_EQ(encrypted_count(maildir), static_cast<std::size_t>(messages));
}

INSTANTIATE_TEST_SUITE_P(IntAndTerm, MaildirCliSignal, ::testing::Values(SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == SIGINT ? "Sigint" : "Sigterm";
                         });

// An S/MIME user's stored mail, sealed by two threads: every message becomes
// application/pkcs7-mime that openssl (not gpgsm) decrypts to the original.
TEST(MaildirCli, SmimeUserStoredMailIsSealedByEveryJob) {
  smime_keyring ring;
  ring.import_cert("alice@example.org", "alice-ca");
  temp_maildir maildir;
  const std::vector<std::string> tags = {"a", "b", "c", "d"};
  for (std::size_t i = 0; i < tags.size(); ++i) {
    maildir.add("", i % 2 ? "new" : "cur", tags[i] + ".M1P1.host" + (i % 2 ? "" : ":2,S"),
                maildir_message(tags[i]));
  }
  process_result r =
      run_tool({"--jobs", "2", "--gnupghome", ring.home(), maildir.root(), "alice@example.org"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_TRUE(contains(r.out, "encrypted                  4")) << r.out;
  std::size_t checked = 0;
  for (const char* subdir : {"cur", "new"}) {
    for (const auto& name : maildir.names("", subdir)) {
      const std::string tag = name.substr(0, name.find('.'));
      EXPECT_TRUE(smime_round_trips(maildir_message(tag),
                                    read_file(maildir.folder("") + "/" + subdir + "/" + name),
                                    "alice-ca"))
          << name;
      ++checked;
    }
  }
  EXPECT_EQ(checked, tags.size());
}

}  // namespace
}  // namespace gpgseal::test::cli
