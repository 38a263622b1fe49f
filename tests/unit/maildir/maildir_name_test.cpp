// Maildir file names as Dovecot reads them: base, S=, W= and the ":2," flags
// (keyword letters included) must survive a replacement exactly, and our tmp/
// names must be recognisable as ours and nobody else's.
#include <gtest/gtest.h>

#include <string>

#include "core/maildir/name.hpp"

namespace gpgseal {
namespace {

TEST(MaildirName, SplitsDovecotNameIntoBaseSizesAndFlags) {
  maildir_name name = parse_maildir_name("1700000000.M12P34.mail,S=1234,W=1260:2,FRSab");
  EXPECT_EQ(name.base, "1700000000.M12P34.mail");
  EXPECT_EQ(name.size, 1234u);
  EXPECT_EQ(name.virtual_size, 1260u);
  EXPECT_EQ(name.info, ":2,FRSab");
  EXPECT_EQ(name.flags(), "FRSab");
  EXPECT_EQ(name.extra, "");
  EXPECT_EQ(name.key(), "1700000000.M12P34.mail,S=1234,W=1260");
}

TEST(MaildirName, NameInNewWithoutInfoOrSizes) {
  maildir_name name = parse_maildir_name("1700000000.M12P34.mail");
  EXPECT_EQ(name.base, "1700000000.M12P34.mail");
  EXPECT_FALSE(name.size);
  EXPECT_FALSE(name.virtual_size);
  EXPECT_EQ(name.info, "");
  EXPECT_EQ(name.flags(), "");
  EXPECT_EQ(name.full(), "1700000000.M12P34.mail");
}

TEST(MaildirName, NewSizesKeepBaseOtherFieldsAndFlags) {
  maildir_name name = parse_maildir_name("123.abc.host,X=7,S=10:2,Sa");
  EXPECT_EQ(with_sizes(name, 2000, 2050).full(), "123.abc.host,X=7,S=2000,W=2050:2,Sa");
  EXPECT_EQ(with_sizes(parse_maildir_name("123.abc.host"), 5, 6).full(), "123.abc.host,S=5,W=6");
}

TEST(MaildirName, MalformedSizeIsReplacedNotKept) {
  // Dovecot reads the first ",S=": a stale one left in the name would win.
  maildir_name name = parse_maildir_name("123.host,S=12x,W=:2,");
  EXPECT_FALSE(name.size);
  EXPECT_EQ(with_sizes(name, 40, 42).full(), "123.host,S=40,W=42:2,");
}

TEST(MaildirName, KeyIsEverythingBeforeTheInfo) {
  EXPECT_EQ(maildir_key("1.2.host,S=5,W=6:2,FS"), "1.2.host,S=5,W=6");
  EXPECT_EQ(maildir_key("1.2.host"), "1.2.host");
}

TEST(MaildirName, VirtualSizeCountsBareLineFeedsAcrossChunks) {
  bare_lf_counter lfs;
  std::string text = "a\nb\r\nc\n\n";
  lfs.add(text.data(), 3);                    // "a\nb"
  lfs.add(text.data() + 3, 1);                // "\r"
  lfs.add(text.data() + 4, text.size() - 4);  // "\nc\n\n"
  EXPECT_EQ(lfs.count(), 3u);
}

TEST(MaildirName, TempNamesAreRecognisedAsOurs) {
  std::string name = temp_file_name(1700000000, 123456, 4242, 7, "mail.example.org");
  EXPECT_EQ(name, "1700000000.M123456P4242Q7.gpgseal.mail.example.org");
  auto origin = parse_temp_file_name(name);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->seconds, 1700000000);
  EXPECT_EQ(origin->pid, 4242);
  EXPECT_EQ(origin->host, "mail.example.org");
}

TEST(MaildirName, DovecotTempNamesAreNotOurs) {
  EXPECT_FALSE(parse_temp_file_name("1700000000.M123456P4242.mail.example.org"));
  EXPECT_FALSE(parse_temp_file_name("1700000000.M1P2Q3.gpgseal."));
  EXPECT_FALSE(parse_temp_file_name("x.M1P2Q3.gpgseal.host"));
  EXPECT_FALSE(parse_temp_file_name("dovecot-uidlist"));
}

TEST(MaildirName, HostSeparatorsAreEscaped) { EXPECT_EQ(escape_host("a/b:c"), "a\\057b\\072c"); }

}  // namespace
}  // namespace gpgseal
