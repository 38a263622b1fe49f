// gpgseal-maildir applies the same header protection as the filter (README
// "Protected headers"), so old mail and new mail look the same.
#include <gtest/gtest.h>

#include "support/mail_check.hpp"
#include "support/run_core.hpp"
#include "unit/maildir/maildir_support.hpp"

namespace gpgseal {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the test support

// The outer fields less the Content-Type, whose boundary is random.
std::vector<std::string> outer_fields(const std::string& message) {
  std::vector<std::string> fields;
  for (const auto& f : split_message(message).fields) {
    if (field_name(f) != "content-type") fields.push_back(f);
  }
  return fields;
}

TEST(MaildirHeaders, StoredMailGetsTheFilterSHeaderProtection) {
  temp_maildir maildir;
  maildir.add("", "cur", "1500000001.M1P1.host:2,S", maildir_message("a"));
  maildir_options options = alice_options();
  options.filter.headers.hide_subject = true;
  options.filter.headers.legacy_display = false;
  ASSERT_EQ(run_maildir(maildir, options).encrypted, 1u);
  std::string stored = read_file(maildir.root() + "/cur/" +
                                 only_file_with_base(maildir, "", "cur", "1500000001.M1P1.host"));
  EXPECT_TRUE(round_trips(maildir_message("a"), stored, shared_keys().ring, true));

  // The filter writes the same outer fields and the same payload.
  auto filter = options_for(shared_keys().ring.home(), {"alice@example.org"});
  filter.headers = options.filter.headers;
  std::string delivered = run_core(maildir_message("a"), filter).output;
  EXPECT_EQ(outer_fields(stored), outer_fields(delivered));
  EXPECT_EQ(decrypted_payload(stored, shared_keys().ring),
            decrypted_payload(delivered, shared_keys().ring));
  // A second run, with or without hiding, sees encrypted mail only.
  EXPECT_EQ(run_maildir(maildir, alice_options()).already_encrypted, 1u);
}

}  // namespace
}  // namespace gpgseal
