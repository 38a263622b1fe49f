// gpgseal-maildir's core when the world moves: Dovecot renaming (flag change,
// new/ to cur/) or expunging a message between the steps of its replacement,
// a crash between the steps (a child process that dies there), a stop
// request, a second run on the same folder, and leftovers in tmp/. In every
// case no message is lost or duplicated, and a re-run finishes the job.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "core/base/fd_io.hpp"
#include "core/maildir/name.hpp"
#include "core/maildir/replace.hpp"
#include "support/maildir_fixture.hpp"
#include "unit/maildir/maildir_support.hpp"

namespace gpgseal::test {
namespace {

// A hook that acts once, at `step`, on the message being replaced.
maildir_options acting_once_at(replace_step step, std::function<void(const std::string&)> act) {
  maildir_options options = alice_options();
  options.jobs = 1;
  auto done = std::make_shared<bool>(false);
  options.hook = [=](replace_step now, const std::string& original, const std::string&) {
    if (now != step || *done) return;
    *done = true;
    act(original);
  };
  return options;
}

void rename_flags(const std::string& path, const std::string& info) {
  std::string renamed = path.substr(0, path.find(':')) + info;
  ASSERT_EQ(std::rename(path.c_str(), renamed.c_str()), 0);
}

class MaildirRace : public ::testing::TestWithParam<replace_step> {};

TEST_P(MaildirRace, FlagChangeIsFollowedAndKept) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host,S=300:2,S", maildir_message("a"));
  auto options = acting_once_at(GetParam(), [](const std::string& p) { rename_flags(p, ":2,RS"); });
  maildir_summary summary = run_maildir(maildir, options);
  EXPECT_EQ(summary.encrypted, 1u);
  EXPECT_EQ(summary.retried, 1u);
  EXPECT_EQ(summary.changed, 0u);
  EXPECT_TRUE(
      holds_one_encrypted(maildir, "", "cur", "1.M1P1.host", ":2,RS", maildir_message("a")));
  EXPECT_TRUE(tmp_is_empty(maildir));
}

TEST_P(MaildirRace, ExpungedMessageStaysExpunged) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  maildir.add("", "cur", "2.M1P1.host:2,S", maildir_message("b"));
  auto options = acting_once_at(GetParam(), [](const std::string& p) { std::remove(p.c_str()); });
  std::vector<message_report> reports;
  maildir_summary summary = run_maildir(maildir, options, &reports);
  EXPECT_EQ(summary.changed, 1u);
  EXPECT_EQ(summary.encrypted, 1u);
  EXPECT_TRUE(summary.complete());  // someone else's change is not our failure
  EXPECT_EQ(maildir.names("", "cur").size(), 1u);
  EXPECT_TRUE(tmp_is_empty(maildir));
}

INSTANTIATE_TEST_SUITE_P(BeforeAndAfterTheRename, MaildirRace,
                         ::testing::Values(replace_step::temp_synced, replace_step::renamed),
                         [](const ::testing::TestParamInfo<replace_step>& info) {
                           return info.param == replace_step::renamed ? "AfterRename"
                                                                      : "BeforeRename";
                         });

// One message at a time; `after_each` acts between two, like a client would.
maildir_options one_at_a_time(std::function<void(const message_report&)> after_each) {
  maildir_options options = alice_options();
  options.jobs = 1;
  options.on_report = std::move(after_each);
  return options;
}

TEST(MaildirRaces, FileThatVanishesBeforeItIsOpenedIsChanged) {
  temp_maildir maildir;
  std::string first = maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  std::string second = maildir.add("", "cur", "2.M1P1.host:2,S", maildir_message("b"));
  // Whichever is done first, the other one goes before it is opened.
  auto options = one_at_a_time([&](const message_report& r) {
    std::remove((r.path.find("/1.M1P1") != std::string::npos ? second : first).c_str());
  });
  maildir_summary summary = encrypt_maildir(maildir.root(), options);
  EXPECT_EQ(summary.encrypted, 1u);
  EXPECT_EQ(summary.changed, 1u);
  EXPECT_EQ(maildir.names("", "cur").size(), 1u);
}

TEST(MaildirRaces, MessageMovedFromNewToCurIsFollowed) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  std::string fresh = maildir.add("", "new", "2.M1P1.host", maildir_message("b"));
  // cur/ is listed first: the message in new/ moves before its turn.
  auto options = one_at_a_time([&](const message_report&) {
    std::rename(fresh.c_str(), (maildir.root() + "/cur/2.M1P1.host:2,").c_str());
  });
  maildir_summary summary = encrypt_maildir(maildir.root(), options);
  EXPECT_EQ(summary.encrypted, 2u);
  EXPECT_TRUE(maildir.names("", "new").empty());
  EXPECT_TRUE(holds_one_encrypted(maildir, "", "cur", "2.M1P1.host", ":2,", maildir_message("b")));
}

// Runs the core in a child that dies (like a power cut or SIGKILL) at `step`.
void crash_at(const temp_maildir& maildir, replace_step step) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    maildir_options options = acting_once_at(step, [](const std::string&) { _exit(0); });
    encrypt_maildir(maildir.root(), options);
    _exit(3);  // the hook never ran
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST(MaildirCrash, AfterTheTempFileRerunRemovesIt) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  crash_at(maildir, replace_step::temp_synced);
  EXPECT_EQ(maildir.names("", "tmp").size(), 1u);
  EXPECT_EQ(maildir.names("", "cur"), std::vector<std::string>{"1.M1P1.host:2,S"});
  maildir_summary summary = run_maildir(maildir, alice_options());
  EXPECT_EQ(summary.stale_temp_removed, 1u);
  EXPECT_EQ(summary.encrypted, 1u);
  EXPECT_TRUE(tmp_is_empty(maildir));
}

TEST(MaildirCrash, AfterTheRenameRerunRemovesThePlaintextTwin) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host,S=310,W=318:2,Sa", maildir_message("a"));
  crash_at(maildir, replace_step::renamed);
  ASSERT_EQ(maildir.names("", "cur").size(), 2u);  // both versions, nothing lost

  auto before = maildir.snapshot();
  maildir_options dry = alice_options();
  dry.dry_run = true;
  EXPECT_EQ(run_maildir(maildir, dry).leftovers_removed, 1u);
  EXPECT_EQ(maildir.snapshot(), before);

  std::vector<message_report> reports;
  maildir_summary summary = run_maildir(maildir, alice_options(), &reports);
  EXPECT_EQ(summary.leftovers_removed, 1u);
  EXPECT_EQ(summary.already_encrypted, 1u);
  EXPECT_EQ(summary.encrypted, 0u);
  EXPECT_TRUE(
      holds_one_encrypted(maildir, "", "cur", "1.M1P1.host", ":2,Sa", maildir_message("a")));
}

TEST(MaildirCrash, PlaintextBesideAForeignEncryptedTwinIsKept) {
  temp_maildir maildir;
  std::string other = read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/pass-pgp-mime.eml");
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  maildir.add("", "cur", "1.M1P1.host,S=" + std::to_string(other.size()) + ":2,S", other);
  auto before = maildir.snapshot();
  std::vector<message_report> reports;
  maildir_summary summary = run_maildir(maildir, alice_options(), &reports);
  EXPECT_EQ(summary.failed, 1u);
  EXPECT_EQ(summary.already_encrypted, 1u);
  EXPECT_EQ(maildir.snapshot(), before);
}

TEST(MaildirCrash, IncompleteEncryptedTwinNeverCostsThePlaintext) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  run_maildir(maildir, alice_options());
  std::string encrypted = only_file_with_base(maildir, "", "cur", "1.M1P1.host");
  std::string bytes = read_file(maildir.root() + "/cur/" + encrypted);
  // The copy claims more bytes than it has: cut short, not to be trusted.
  std::filesystem::rename(
      maildir.root() + "/cur/" + encrypted,
      maildir.root() + "/cur/1.M1P1.host,S=" + std::to_string(bytes.size() + 1) + ":2,S");
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  auto before = maildir.snapshot();
  EXPECT_EQ(run_maildir(maildir, alice_options()).failed, 1u);
  EXPECT_EQ(maildir.snapshot(), before);
}

TEST(MaildirRaces, StopRequestLeavesTheRestUntouched) {
  temp_maildir maildir;
  for (int i = 1; i <= 6; ++i) {
    maildir.add("", "cur", std::to_string(i) + ".M1P1.host:2,S",
                maildir_message(std::to_string(i)));
  }
  std::atomic<bool> stop{false};
  auto options = one_at_a_time([&](const message_report&) { stop = true; });
  options.stop = &stop;
  maildir_summary summary = encrypt_maildir(maildir.root(), options);
  EXPECT_TRUE(summary.stopped);
  EXPECT_FALSE(summary.complete());
  EXPECT_EQ(summary.encrypted, 1u);
  EXPECT_EQ(maildir.names("", "cur").size(), 6u);
  EXPECT_TRUE(tmp_is_empty(maildir));
}

TEST(MaildirRaces, FolderLockedByAnotherRunIsReportedAndUntouched) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  unique_fd held(open(maildir.root().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_EQ(flock(held.get(), LOCK_EX), 0);
  auto before = maildir.snapshot();
  maildir_summary summary = run_maildir(maildir, alice_options());
  EXPECT_EQ(summary.folders_failed, 1u);
  EXPECT_FALSE(summary.complete());
  EXPECT_EQ(maildir.snapshot(), before);
}

TEST(MaildirRaces, OnlyOurDeadRunsTempFilesAreRemoved) {
  temp_maildir maildir;
  std::string host = maildir_host_name();
  const std::string tmp = maildir.root() + "/tmp/";
  std::string dovecots = "1700000000.M1P99.host";
  std::string live_run = temp_file_name(std::time(nullptr), 1, 1, 0, host);  // pid 1 lives
  std::string dead_run = temp_file_name(std::time(nullptr), 1, 999999999, 0, host);
  std::string ancient = temp_file_name(1000000000, 1, 1, 0, "elsewhere");
  for (const auto& name : {dovecots, live_run, dead_run, ancient}) write_file(tmp + name, "x");
  maildir_summary summary = run_maildir(maildir, alice_options());
  EXPECT_EQ(summary.stale_temp_removed, 2u);
  EXPECT_EQ(maildir.names("", "tmp"), (std::vector<std::string>{dovecots, live_run}));
}

}  // namespace
}  // namespace gpgseal::test
