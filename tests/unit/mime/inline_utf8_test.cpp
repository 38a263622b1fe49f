// --inline-utf8: the inline text is converted to UTF-8 before it is
// encrypted, and the outer charset says so, so that readers that decode
// inline PGP as UTF-8 (OpenPGP.js, NeoMutt) show the original characters.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::shared_keys;

test::core_run seal_utf8(const std::string& input, bool flatten = false) {
  auto options = test::options_for(shared_keys().ring.home(), {"alice@example.org"});
  options.mode = encrypt_mode::prefer_inline;
  options.inline_flatten = flatten;
  options.inline_utf8 = true;
  return test::run_core(input, options);
}

std::string decrypted_body(const std::string& output) {
  std::size_t begin = output.find("-----BEGIN PGP MESSAGE-----");
  std::size_t end = output.find("-----END PGP MESSAGE-----");
  if (begin == std::string::npos || end == std::string::npos) return "<no armor>";
  return test::to_lf(shared_keys().ring.decrypt(output.substr(begin, end + 25 - begin)));
}

std::vector<std::string> fields_of(const std::string& output) {
  return test::split_message(output).fields;
}

bool has_field(const std::string& output, const std::string& field) {
  auto fields = fields_of(output);
  return std::find(fields.begin(), fields.end(), field + "\n") != fields.end();
}

const std::string grusse =
    "Gr\xc3\xbc\xc3\x9f"
    "e aus M\xc3\xbcnchen, \xc3\xa7"
    "a va tr\xc3\xa8s bien.\n";

TEST(InlineUtf8, Latin1CorpusMessageDecryptsToUtf8) {
  std::string in = test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/latin1-8bit.eml");
  auto run = seal_utf8(in);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_EQ(decrypted_body(run.output), grusse +
                                            "Der Stra\xc3\x9f"
                                            "enname enth\xc3\xa4lt Umlaute.\n");
  EXPECT_TRUE(has_field(run.output, "Content-Type: text/plain; charset=utf-8"));
  EXPECT_TRUE(has_field(run.output, "Content-Transfer-Encoding: 7bit"));
}

TEST(InlineUtf8, Utf8CorpusMessageStaysAsItIs) {
  std::string in = test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/utf8-8bit.eml");
  auto run = seal_utf8(in);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_EQ(decrypted_body(run.output), test::split_message(in).body);
  EXPECT_TRUE(has_field(run.output, "Content-Type: text/plain; charset=utf-8"));
}

TEST(InlineUtf8, QuotedPrintableLatin1KeepsItsOtherParameters) {
  std::string in =
      "From: b@example.org\nSubject: s\n"
      "Content-Type: text/plain; charset=\"ISO-8859-1\"; format=flowed\n"
      "Content-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe\n";
  auto run = seal_utf8(in);
  EXPECT_EQ(decrypted_body(run.output),
            "Gr\xc3\xbc\xc3\x9f"
            "e\n");
  EXPECT_TRUE(has_field(run.output, "Content-Type: text/plain; charset=utf-8; format=flowed"));
}

TEST(InlineUtf8, UndeclaredCharsetIsUtf8IfValidElseWindows1252) {
  std::string valid =
      "Subject: s\n\nGr\xc3\xbc\xc3\x9f"
      "e\n";
  auto run = seal_utf8(valid);
  EXPECT_EQ(decrypted_body(run.output),
            "Gr\xc3\xbc\xc3\x9f"
            "e\n");
  EXPECT_TRUE(has_field(run.output, "Content-Type: text/plain; charset=utf-8"));
  EXPECT_TRUE(has_field(run.output, "MIME-Version: 1.0"));
  std::string cp1252 =
      "Subject: s\nContent-Type: text/plain; charset=us-ascii\n\n\x93quoted\x94 \x80\n";
  run = seal_utf8(cp1252);
  EXPECT_EQ(decrypted_body(run.output), "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac\n");
}

TEST(InlineUtf8, FlattenedLatin1LeafIsConvertedToo) {
  std::string in =
      "From: b@example.org\nSubject: s\nMIME-Version: 1.0\n"
      "Content-Type: multipart/alternative; boundary=\"b\"\n\n"
      "--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
      "Gr\xfc\xdf"
      "e aus M\xfcnchen\n"
      "--b\nContent-Type: text/html; charset=iso-8859-1\n\n<p>Gr\xfc\xdf"
      "e</p>\n--b--\n";
  auto run = seal_utf8(in, true);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_EQ(decrypted_body(run.output),
            "Gr\xc3\xbc\xc3\x9f"
            "e aus M\xc3\xbcnchen");
  EXPECT_TRUE(has_field(run.output, "Content-Type: text/plain; charset=utf-8"));
}

}  // namespace
}  // namespace gpgseal
