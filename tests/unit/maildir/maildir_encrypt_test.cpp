// gpgseal-maildir's core on temp Maildirs, when nothing else is running:
// every stored message becomes PGP/MIME that decrypts to the original, under
// its base name and flags with S=/W= right and mode, owner and mtime kept;
// nothing else in the Maildir is touched; a second run and a dry run change
// nothing; already encrypted and key-less messages are left alone.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "support/maildir_fixture.hpp"
#include "unit/maildir/maildir_support.hpp"

namespace gpgseal::test {
namespace {

std::string corpus(const std::string& name) {
  return read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/" + name);
}

TEST(MaildirEncrypt, EncryptsEveryFolderAndKeepsFlagsAndKeywords) {
  temp_maildir maildir;
  maildir.add_folder(".Sent");
  maildir.add_folder(".Archive.2024");
  maildir.add("", "cur", "1500000001.M1P1.host,S=300,W=307:2,FRSab", maildir_message("a"));
  maildir.add("", "new", "1500000002.M2P1.host", maildir_message("b"));
  maildir.add(".Sent", "cur", "1500000003.M3P1.host:2,S", maildir_message("c"));
  maildir.add(".Archive.2024", "cur", "1500000004.M4P1.host,S=1:2,c", maildir_message("d"));
  maildir_summary summary = run_maildir(maildir, alice_options());
  EXPECT_EQ(summary.seen, 4u);
  EXPECT_EQ(summary.encrypted, 4u);
  EXPECT_EQ(summary.folders, 3u);
  EXPECT_TRUE(summary.complete());

  EXPECT_TRUE(holds_one_encrypted(maildir, "", "cur", "1500000001.M1P1.host", ":2,FRSab",
                                  maildir_message("a")));
  // A message in new/ stays in new/, still without info.
  EXPECT_TRUE(
      holds_one_encrypted(maildir, "", "new", "1500000002.M2P1.host", "", maildir_message("b")));
  EXPECT_TRUE(holds_one_encrypted(maildir, ".Sent", "cur", "1500000003.M3P1.host", ":2,S",
                                  maildir_message("c")));
  EXPECT_TRUE(holds_one_encrypted(maildir, ".Archive.2024", "cur", "1500000004.M4P1.host", ":2,c",
                                  maildir_message("d")));
  for (const char* folder : {"", ".Sent", ".Archive.2024"})
    EXPECT_TRUE(tmp_is_empty(maildir, folder));
  EXPECT_TRUE(maildir.names(".Sent", "new").empty());
}

TEST(MaildirEncrypt, KeepsModeOwnerAndMtime) {
  temp_maildir maildir;
  std::string path = maildir.add("", "cur", "1500000001.M1P1.host:2,S", maildir_message("a"),
                                 1262304000);  // 2010-01-01, the INTERNALDATE
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  const bool root = geteuid() == 0;
  if (root) {
    ASSERT_EQ(lchown(path.c_str(), 4321, 4322), 0);
  }
  file_state before = state_of(path);
  run_maildir(maildir, alice_options());
  file_state after = state_of(maildir.root() + "/cur/" +
                              only_file_with_base(maildir, "", "cur", "1500000001.M1P1.host"));
  EXPECT_EQ(after.mode, before.mode);
  EXPECT_EQ(after.mtime, before.mtime);
  EXPECT_EQ(after.mtime_nsec, before.mtime_nsec);
  EXPECT_EQ(after.uid, before.uid);
  EXPECT_EQ(after.gid, before.gid);
  if (root) {
    EXPECT_EQ(after.uid, 4321u);
  }
}

TEST(MaildirEncrypt, SecondRunChangesNothing) {
  temp_maildir maildir;
  maildir.add_folder(".Sent");
  maildir.add("", "cur", "1500000001.M1P1.host:2,S", maildir_message("a"));
  maildir.add(".Sent", "new", "1500000002.M1P1.host", maildir_message("b"));
  ASSERT_EQ(run_maildir(maildir, alice_options()).encrypted, 2u);
  auto before = maildir.snapshot();
  maildir_summary again = run_maildir(maildir, alice_options());
  EXPECT_EQ(again.encrypted, 0u);
  EXPECT_EQ(again.already_encrypted, 2u);
  EXPECT_TRUE(again.complete());
  EXPECT_EQ(maildir.snapshot(), before);
}

TEST(MaildirEncrypt, DryRunWritesNothingAndSaysWhatWouldChange) {
  temp_maildir maildir;
  maildir.add("", "cur", "1500000001.M1P1.host:2,S", maildir_message("a"));
  maildir.add("", "cur", "1500000002.M1P1.host:2,S", corpus("pass-pgp-mime.eml"));
  std::filesystem::remove(maildir.root() + "/tmp");  // a dry run must not even create tmp/
  auto before = maildir.snapshot();
  maildir_options options = alice_options();
  options.dry_run = true;
  std::vector<message_report> reports;
  maildir_summary summary = run_maildir(maildir, options, &reports);
  EXPECT_EQ(summary.would_encrypt, 1u);
  EXPECT_EQ(summary.already_encrypted, 1u);
  EXPECT_EQ(summary.encrypted, 0u);
  EXPECT_EQ(maildir.snapshot(), before);
  EXPECT_EQ(count_of(reports, message_result::would_encrypt), 1u);
}

// Not even the key cache: a dry run leaves the keyring directory as it was.
TEST(MaildirEncrypt, DryRunWritesNothingToTheKeyringEither) {
  test::test_keyring ring;
  ring.generate("Alice <alice@example.org>");
  test::age_keyring(ring.home());  // old enough for key choices to be remembered
  temp_maildir maildir;
  maildir.add("", "cur", "1500000001.M1P1.host:2,S", maildir_message("a"));
  maildir_options options = alice_options();
  options.filter.gnupg_home = ring.home();
  options.dry_run = true;
  EXPECT_EQ(run_maildir(maildir, options).would_encrypt, 1u);
  EXPECT_FALSE(std::filesystem::exists(ring.home() + "/gpgseal-keycache"));
  options.dry_run = false;
  EXPECT_EQ(run_maildir(maildir, options).encrypted, 1u);
  EXPECT_TRUE(std::filesystem::exists(ring.home() + "/gpgseal-keycache"));
}

TEST(MaildirEncrypt, LeavesAlreadyEncryptedMessagesUntouched) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", corpus("pass-pgp-mime.eml"));
  maildir.add("", "cur", "2.M1P1.host:2,S", corpus("pass-inline-pgp.eml"));
  maildir.add("", "cur", "3.M1P1.host:2,S", corpus("pass-smime-enveloped.eml"));
  auto before = maildir.snapshot();
  maildir_summary summary = run_maildir(maildir, alice_options());
  EXPECT_EQ(summary.already_encrypted, 3u);
  EXPECT_EQ(maildir.snapshot(), before);
}

// Dovecot's mail_crypt stores each message as its own ciphertext: encrypting
// those bytes as a headerless message destroyed it (found with a real
// Dovecot in tests/e2e/imapsieve_run.sh). A look-alike without the binary
// magic is a message like any other.
TEST(MaildirEncrypt, LeavesMailCryptFilesAsTheyAre) {
  temp_maildir maildir;
  const std::string crypted = std::string("CRYPTED\x03\x07\x02\x00\x00\x01", 13) + "\x9c\xffrest";
  maildir.add("", "cur", "1.M1P1.host:2,S", crypted);
  maildir.add("", "cur", "2.M1P1.host:2,S", "CRYPTED but just text\n\nbody\n");
  maildir_summary summary = run_maildir(maildir, alice_options());
  EXPECT_EQ(summary.server_encrypted, 1u);
  EXPECT_EQ(summary.encrypted, 1u);
  EXPECT_TRUE(summary.complete());
  EXPECT_EQ(read_file(maildir.root() + "/cur/1.M1P1.host:2,S"), crypted);
}

TEST(MaildirEncrypt, LeavesEverythingUntouchedWithoutKey) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  maildir.add("", "cur", "2.M1P1.host:2,S", corpus("pass-pgp-mime.eml"));
  auto before = maildir.snapshot();
  // malice@ has a key; mallory@ has none, and no substring match may stand in.
  maildir_summary summary = run_maildir(maildir, alice_options({"mallory@example.org"}));
  EXPECT_FALSE(summary.keys_available);
  EXPECT_NE(summary.no_key_detail.find("mallory@example.org"), std::string::npos);
  EXPECT_EQ(summary.no_key, 1u);
  EXPECT_EQ(summary.already_encrypted, 1u);
  EXPECT_TRUE(summary.complete());
  EXPECT_EQ(maildir.snapshot(), before);
}

// encmaildir.sh deleted dovecot-uidlist, the indexes and dovecot-keywords, and
// its find -regex matched whole paths: a Maildir under "dovecot-" lost all mail.
TEST(MaildirEncrypt, NeverTouchesFilesThatAreNotMessages) {
  temp_maildir maildir;
  std::string root = maildir.root();
  for (const char* name :
       {"dovecot-uidlist", "dovecot-keywords", "dovecot.index", "dovecot.index.log",
        "dovecot.index.cache", "dovecot-uidvalidity", "dovecot-uidvalidity.65a1b2c3",
        "subscriptions", "maildirfolder", "1500000009.M1P1.host:2,S"}) {
    write_file(root + "/" + name, maildir_message(name));
  }
  write_file(root + "/cur/.hidden", maildir_message("hidden"));
  std::filesystem::create_directory(root + "/cur/subdir");
  write_file(root + "/cur/subdir/1500000008.M1P1.host", maildir_message("nested"));
  std::filesystem::create_symlink(root + "/dovecot-keywords", root + "/cur/1500000007.M1P1.host");
  write_file(root + "/tmp/1500000006.M1P99.host", maildir_message("dovecot delivering"));
  std::filesystem::create_directory(root + "/.NotAFolder");  // no cur/ and new/
  write_file(root + "/.NotAFolder/1500000005.M1P1.host", maildir_message("nf"));
  maildir.add("", "cur", "1500000001.M1P1.host:2,S", maildir_message("a"));
  auto before = maildir.snapshot();
  maildir_summary summary = run_maildir(maildir, alice_options());
  EXPECT_EQ(summary.seen, 1u);
  EXPECT_EQ(summary.encrypted, 1u);
  auto after = maildir.snapshot();
  for (const auto& [path, state] : before) {
    if (path.find("1500000001.M1P1.host") != std::string::npos) continue;
    ASSERT_TRUE(after.count(path)) << path << " disappeared";
    EXPECT_EQ(after.at(path), state) << path << " changed";
  }
}

TEST(MaildirEncrypt, MaildirUnderADovecotNamedPathKeepsItsMail) {
  temp_maildir maildir;
  maildir.add_folder(".dovecot-archive");
  maildir.add(".dovecot-archive", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  EXPECT_EQ(run_maildir(maildir, alice_options()).encrypted, 1u);
  EXPECT_TRUE(holds_one_encrypted(maildir, ".dovecot-archive", "cur", "1.M1P1.host", ":2,S",
                                  maildir_message("a")));
}

TEST(MaildirEncrypt, SelectsMessagesByMtime) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("old"), 1262304000);     // 2010
  maildir.add("", "cur", "2.M1P1.host:2,S", maildir_message("middle"), 1420070400);  // 2015
  maildir.add("", "cur", "3.M1P1.host:2,S", maildir_message("new"), 1577836800);     // 2020
  maildir_options options = alice_options();
  options.newer_than = 1300000000;
  options.older_than = 1500000000;
  maildir_summary summary = run_maildir(maildir, options);
  EXPECT_EQ(summary.encrypted, 1u);
  EXPECT_EQ(summary.outside_dates, 2u);
  EXPECT_EQ(only_file_with_base(maildir, "", "cur", "1.M1P1.host"), "1.M1P1.host:2,S");
  EXPECT_EQ(only_file_with_base(maildir, "", "cur", "3.M1P1.host"), "3.M1P1.host:2,S");
  EXPECT_NE(only_file_with_base(maildir, "", "cur", "2.M1P1.host"), "2.M1P1.host:2,S");
}

TEST(MaildirEncrypt, NoRecurseStaysInOneFolder) {
  temp_maildir maildir;
  maildir.add_folder(".Sent");
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("a"));
  maildir.add(".Sent", "cur", "2.M1P1.host:2,S", maildir_message("b"));
  maildir_options options = alice_options();
  options.recurse = false;
  EXPECT_EQ(run_maildir(maildir, options).encrypted, 1u);
  EXPECT_EQ(maildir.names(".Sent", "cur"), std::vector<std::string>{"2.M1P1.host:2,S"});
}

TEST(MaildirEncrypt, CrlfStoredMessageGetsEqualSizes) {
  // Dovecot with mail_save_crlf = yes stores CRLF: then W= equals S=.
  temp_maildir maildir;
  std::string crlf;
  for (char c : maildir_message("crlf"))
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  maildir.add("", "cur", "1.M1P1.host:2,", crlf);
  run_maildir(maildir, alice_options());
  std::string name = only_file_with_base(maildir, "", "cur", "1.M1P1.host");
  maildir_name parsed = parse_maildir_name(name);
  EXPECT_EQ(parsed.size, parsed.virtual_size);
  EXPECT_TRUE(holds_encrypted(maildir.root() + "/cur/" + name, crlf));
}

TEST(MaildirEncrypt, InlineOrPlainModeEncryptsTextAndLeavesTheRest) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", maildir_message("text"));
  maildir.add("", "cur", "2.M1P1.host:2,S", corpus("html-alternative.eml"));
  maildir_options options = alice_options();
  options.filter.mode = encrypt_mode::inline_or_plain;
  maildir_summary summary = run_maildir(maildir, options);
  EXPECT_EQ(summary.encrypted, 1u);
  EXPECT_EQ(summary.not_inline, 1u);
  EXPECT_TRUE(summary.complete());
  EXPECT_EQ(only_file_with_base(maildir, "", "cur", "2.M1P1.host"), "2.M1P1.host:2,S");
  std::string path =
      maildir.root() + "/cur/" + only_file_with_base(maildir, "", "cur", "1.M1P1.host");
  EXPECT_TRUE(sizes_in_name_are_right(path));
  std::string stored = read_file(path);
  std::string body = stored.substr(stored.find("\n\n") + 2);
  EXPECT_EQ(to_lf(shared_keys().ring.decrypt(body)), split_message(maildir_message("text")).body);
  maildir_summary again = run_maildir(maildir, options);
  EXPECT_EQ(again.already_encrypted, 1u);
  EXPECT_EQ(again.not_inline, 1u);
}

TEST(MaildirEncrypt, EmptyFileIsAFailureAndStays) {
  temp_maildir maildir;
  maildir.add("", "cur", "1.M1P1.host:2,S", "");
  std::vector<message_report> reports;
  maildir_summary summary = run_maildir(maildir, alice_options(), &reports);
  EXPECT_EQ(summary.failed, 1u);
  EXPECT_FALSE(summary.complete());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].path.find("1.M1P1.host:2,S"), std::string::npos);
  EXPECT_EQ(maildir.names("", "cur"), std::vector<std::string>{"1.M1P1.host:2,S"});
}

TEST(MaildirEncrypt, NotAMaildirIsAUsageError) {
  std::string dir = make_temp_dir();
  maildir_options options = alice_options();
  try {
    encrypt_maildir(dir, options);
    ADD_FAILURE() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::bad_target);
    EXPECT_NE(std::string(e.what()).find("not a Maildir"), std::string::npos);
  }
  remove_tree(dir);
}

}  // namespace
}  // namespace gpgseal::test
