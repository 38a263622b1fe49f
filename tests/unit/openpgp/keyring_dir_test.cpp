#include "core/openpgp/keyring_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "support/process.hpp"

namespace gpgseal {
namespace {

TEST(KeyringTemplate, ExpandsDovecotVariables) {
  EXPECT_EQ(expand_keyring_template("/var/vmail/%d/%n/.gnupg", "alice@example.org"),
            "/var/vmail/example.org/alice/.gnupg");
  EXPECT_EQ(expand_keyring_template("/k/%u", "alice@example.org"), "/k/alice@example.org");
  EXPECT_EQ(expand_keyring_template("/k/100%%/%n", "a@b"), "/k/100%/a");
  EXPECT_EQ(expand_keyring_template("/plain/path", "a@b"), "/plain/path");
}

TEST(KeyringTemplate, RefusesPartsThatLeaveTheirDirectory) {
  for (const char* address :
       {"a/../b@example.org", "..@example.org", "x@..", ".@example.org", "a/b@example.org"}) {
    EXPECT_THROW(expand_keyring_template("/var/vmail/%d/%n/.gnupg", address), error) << address;
  }
  // A dot inside a name is fine.
  EXPECT_EQ(expand_keyring_template("/v/%n", "first.last@example.org"), "/v/first.last");
}

TEST(KeyringTemplate, ReportsBadSyntax) {
  EXPECT_TRUE(keyring_template_problem("/v/%x"));
  EXPECT_TRUE(keyring_template_problem("/v/%"));
  EXPECT_FALSE(keyring_template_problem("/v/%d/%n/%u/%%"));
  EXPECT_THROW(expand_keyring_template("/v/%q", "a@b"), error);
}

class KeyringDirectory : public ::testing::Test {
 protected:
  void TearDown() override { test::remove_tree(dir_); }
  std::string dir_ = test::make_temp_dir();
};

TEST_F(KeyringDirectory, AcceptsAPrivateDirectoryOfTheRunningUser) {
  EXPECT_NO_THROW(check_keyring_directory(dir_));
}

TEST_F(KeyringDirectory, RefusesGroupOrWorldWritable) {
  for (mode_t mode : {0770, 0702, 0777}) {
    ASSERT_EQ(chmod(dir_.c_str(), mode), 0);
    try {
      check_keyring_directory(dir_);
      ADD_FAILURE() << "accepted mode " << std::oct << mode;
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("writable by group or others"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find(dir_), std::string::npos);
    }
  }
}

TEST_F(KeyringDirectory, RefusesADirectoryOwnedBySomeoneElse) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the directory away";
  ASSERT_EQ(chown(dir_.c_str(), 65534, 65534), 0);
  try {
    check_keyring_directory(dir_);
    ADD_FAILURE() << "accepted a foreign directory";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("is owned by uid 65534"), std::string::npos) << e.what();
  }
}

TEST_F(KeyringDirectory, RefusesMissingAndNonDirectories) {
  EXPECT_THROW(check_keyring_directory(dir_ + "/missing"), error);
  test::write_file(dir_ + "/file", "x");
  EXPECT_THROW(check_keyring_directory(dir_ + "/file"), error);
  EXPECT_THROW(check_keyring_directory(""), error);
}

TEST_F(KeyringDirectory, KnowsWhetherAPublicKeyringExists) {
  EXPECT_FALSE(has_public_keyring(dir_));
  test::write_file(dir_ + "/pubring.kbx", "");
  EXPECT_TRUE(has_public_keyring(dir_));
}

}  // namespace
}  // namespace gpgseal
