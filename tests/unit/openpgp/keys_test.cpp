#include "core/openpgp/keys.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/base/library_init.hpp"
#include "core/error.hpp"
#include "core/openpgp/gpg_context.hpp"
#include "support/process.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::shared_keys;

key_selection select(std::vector<std::string> addresses) {
  initialise_libraries();
  auto ctx = make_gpg_context(shared_keys().ring.home());
  return select_keys(ctx.get(), addresses);
}

std::vector<std::string> fingerprints(const key_selection& s) {
  std::vector<std::string> out;
  for (const auto& k : s.keys) out.push_back(k.fingerprint);
  return out;
}

TEST(Keys, PicksTheExactMailboxNotTheLookAlike) {
  auto s = select({"alice@example.org"});
  EXPECT_TRUE(s.complete());
  EXPECT_EQ(fingerprints(s), std::vector<std::string>{shared_keys().alice});
}

TEST(Keys, TheLookAlikeGetsOnlyItsOwnKey) {
  auto s = select({"malice@example.org"});
  EXPECT_EQ(fingerprints(s), std::vector<std::string>{shared_keys().malice});
}

TEST(Keys, IgnoresAddressCase) {
  EXPECT_EQ(fingerprints(select({"ALICE@example.ORG"})),
            std::vector<std::string>{shared_keys().alice});
  EXPECT_EQ(fingerprints(select({"carol.mixed@example.org"})),
            std::vector<std::string>{shared_keys().carol});
}

TEST(Keys, NoSubstringOrPartialMatches) {
  for (const char* address :
       {"lice@example.org", "alice@example.or", "example.org@example.org", "nobody@example.org"}) {
    auto s = select({address});
    EXPECT_FALSE(s.complete()) << address;
    EXPECT_TRUE(s.keys.empty()) << address;
  }
}

TEST(Keys, ExpiredKeyIsRejectedWithItsDate) {
  auto s = select({"dave@example.org"});
  EXPECT_FALSE(s.complete());
  ASSERT_EQ(s.rejected.size(), 1u);
  EXPECT_EQ(s.rejected[0].fingerprint, shared_keys().dave);
  EXPECT_EQ(s.rejected[0].reason, "expired 2020-01-02");
  EXPECT_EQ(s.describe_missing("/home/d/.gnupg"),
            "no usable encryption key for <dave@example.org> in /home/d/.gnupg (key 0x" +
                shared_keys().dave + " expired 2020-01-02)");
}

TEST(Keys, RevokedKeyIsRejected) {
  auto s = select({"erin@example.org"});
  EXPECT_FALSE(s.complete());
  ASSERT_EQ(s.rejected.size(), 1u);
  EXPECT_EQ(s.rejected[0].reason, "revoked");
}

TEST(Keys, SignOnlyKeyIsRejected) {
  auto s = select({"frank@example.org"});
  EXPECT_FALSE(s.complete());
  ASSERT_EQ(s.rejected.size(), 1u);
  EXPECT_EQ(s.rejected[0].reason, "has no encryption subkey");
}

TEST(Keys, RevokedUserIdDoesNotCountButOtherUserIdsDo) {
  auto old = select({"gina@example.org"});
  EXPECT_FALSE(old.complete());
  ASSERT_EQ(old.rejected.size(), 1u);
  EXPECT_EQ(old.rejected[0].reason, "user ID revoked");
  EXPECT_EQ(fingerprints(select({"gina.new@example.org"})),
            std::vector<std::string>{shared_keys().gina});
}

TEST(Keys, EveryValidKeyOfAnAddressIsUsed) {
  auto s = select({"henry@example.org"});
  EXPECT_TRUE(s.complete());
  auto f = fingerprints(s);
  std::sort(f.begin(), f.end());
  std::vector<std::string> expected{shared_keys().henry1, shared_keys().henry2};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(f, expected);
}

TEST(Keys, SeveralAddressesAllNeedAKey) {
  auto both = select({"alice@example.org", "bob@example.org"});
  EXPECT_TRUE(both.complete());
  EXPECT_EQ(fingerprints(both), (std::vector<std::string>{shared_keys().alice, shared_keys().bob}));
  auto one_missing = select({"alice@example.org", "nobody@example.org"});
  EXPECT_FALSE(one_missing.complete());
  EXPECT_EQ(one_missing.addresses_without_key, std::vector<std::string>{"nobody@example.org"});
}

TEST(Keys, TheSameAddressTwiceUsesItsKeyOnce) {
  EXPECT_EQ(fingerprints(select({"alice@example.org", "Alice@Example.org"})),
            std::vector<std::string>{shared_keys().alice});
}

TEST(Keys, ABrokenKeyringIsAnError) {
  initialise_libraries();
  std::string home = test::make_temp_dir();
  test::write_file(home + "/pubring.kbx", "this is not a keybox");
  auto ctx = make_gpg_context(home);
  EXPECT_THROW(select_keys(ctx.get(), {"alice@example.org"}), gpgseal::error);
  test::remove_tree(home);
}

}  // namespace
}  // namespace gpgseal
