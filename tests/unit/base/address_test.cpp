#include "core/base/address.hpp"

#include <gtest/gtest.h>

namespace gpgseal {
namespace {

TEST(Address, AcceptsPlainMailboxes) {
  for (const char* ok : {"alice@example.org", "a.b+tag@sub.example.org", "ALICE@EXAMPLE.ORG",
                         "o'brien@example.ie", "j\xc3\xb6rg@example.de"}) {
    EXPECT_FALSE(mailbox_problem(ok)) << ok;
  }
}

TEST(Address, RejectsAnythingGpgCouldReadAsSomethingElse) {
  for (const char* bad :
       {"", "-alice@example.org", "<alice@example.org>", "@example.org", "=alice@example.org",
        "*alice@example.org", "0xDEADBEEF@example.org", "0xDEADBEEF", "alice smith@example.org",
        "alice@example.org ", "alice\t@example.org", "alice@", "alice", "a@b@c",
        "al,ice@example.org", "alice@exa\nmple.org", "\"a\"@example.org"}) {
    EXPECT_TRUE(mailbox_problem(bad)) << bad;
  }
}

TEST(Address, ComparesIgnoringAsciiCase) {
  EXPECT_TRUE(same_mailbox("Alice@Example.ORG", "alice@example.org"));
  EXPECT_FALSE(same_mailbox("malice@example.org", "alice@example.org"));
  EXPECT_FALSE(same_mailbox("alice@example.org.evil", "alice@example.org"));
}

}  // namespace
}  // namespace gpgseal
