// gpgit's inline modes through the core filter: decrypting the body gives
// the decoded text in its original charset, the headers stay, and messages
// that cannot be inline-encrypted get PGP/MIME or stay unchanged by mode.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::shared_keys;

test::core_run seal(const std::string& input, encrypt_mode mode, bool flatten = false) {
  auto options = test::options_for(shared_keys().ring.home(), {"alice@example.org"});
  options.mode = mode;
  options.inline_flatten = flatten;
  return test::run_core(input, options);
}

// The armored block of an inline result, decrypted.
std::string decrypted_body(const std::string& output) {
  std::size_t begin = output.find("-----BEGIN PGP MESSAGE-----");
  std::size_t end = output.find("-----END PGP MESSAGE-----");
  if (begin == std::string::npos || end == std::string::npos) return "<no armor>";
  return shared_keys().ring.decrypt(output.substr(begin, end + 25 - begin));
}

bool has_field(const std::string& output, const std::string& field) {
  auto fields = test::split_message(output).fields;
  return std::find(fields.begin(), fields.end(), field + "\n") != fields.end();
}

const std::string latin1_qp =
    "From: b@example.org\nSubject: =?ISO-8859-1?Q?Gr=FC=DFe?=\n"
    "DKIM-Signature: v=1; d=example.org; b=abc\n"
    "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
    "Gr=FC=DFe aus M=FCnchen,=20\nein langer Satz mit wei=\nchem Umbruch.\n";

TEST(InlineMode, DecryptsToTheDecodedTextInItsCharset) {
  auto run = seal(latin1_qp, encrypt_mode::prefer_inline);
  EXPECT_EQ(run.outcome.action, filter_action::encrypted);
  EXPECT_EQ(decrypted_body(run.output),
            "Gr\xfc\xdf"
            "e aus M\xfcnchen, \nein langer Satz mit weichem Umbruch.\n");
  EXPECT_TRUE(has_field(run.output, "Content-Type: text/plain; charset=iso-8859-1"));
  EXPECT_TRUE(has_field(run.output, "Content-Transfer-Encoding: 7bit"));
  EXPECT_TRUE(has_field(run.output, "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?="));
  EXPECT_TRUE(has_field(run.output, "X-Gpgit-Executed: True"));
  EXPECT_EQ(run.output.find("DKIM-Signature"), std::string::npos);
  EXPECT_EQ(run.output.find("quoted-printable"), std::string::npos);
}

TEST(InlineMode, Base64TextAndCrlfInput) {
  std::string input =
      "Subject: b64\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZSwgV2VsdCEK\r\n";
  auto run = seal(input, encrypt_mode::inline_or_plain);
  EXPECT_EQ(decrypted_body(run.output),
            "Gr\xc3\xbc\xc3\x9f"
            "e, Welt!\n");
  for (std::size_t i = 0; i < run.output.size(); ++i) {
    if (run.output[i] == '\n') {
      ASSERT_EQ(run.output[i - 1], '\r') << "bare LF at " << i;
    }
  }
}

TEST(InlineMode, AMessageWithoutMimeHeadersIsPlainText) {
  std::string input = "Subject: old mailer\n\nplain old text\n";
  auto run = seal(input, encrypt_mode::inline_or_plain);
  EXPECT_EQ(decrypted_body(run.output), "plain old text\n");
  EXPECT_EQ(run.output.find("Content-Transfer-Encoding"), std::string::npos);
}

const std::string multipart_mixed =
    "Subject: with attachment\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=M\n\n"
    "--M\nContent-Type: text/plain\n\nsee the attachment please\n--M\n"
    "Content-Type: application/pdf\n\n%PDF-1.4 secret\n--M--\n";

TEST(InlineMode, PreferInlineFallsBackToPgpMime) {
  auto run = seal(multipart_mixed, encrypt_mode::prefer_inline, true);
  EXPECT_TRUE(test::round_trips(multipart_mixed, run.output, shared_keys().ring));
}

TEST(InlineMode, InlineOrPlainLeavesOtherMessagesUnchanged) {
  auto run = seal(multipart_mixed, encrypt_mode::inline_or_plain, true);
  EXPECT_EQ(run.outcome.reason, pass_reason::not_inline);
  EXPECT_EQ(run.output, multipart_mixed);
}

TEST(InlineMode, HtmlOnlyIsNotInline) {
  std::string html = "Subject: h\nContent-Type: text/html\n\n<p>hello</p>\n";
  EXPECT_EQ(seal(html, encrypt_mode::inline_or_plain).output, html);
  EXPECT_TRUE(
      test::round_trips(html, seal(html, encrypt_mode::prefer_inline).output, shared_keys().ring));
}

TEST(InlineMode, FlattenedMessageNamesItsOriginalStructure) {
  std::string input =
      test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/related-cid-quoted.eml");
  auto run = seal(input, encrypt_mode::inline_or_plain, true);
  EXPECT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(has_field(run.output,
                        "X-Gpgit-Flattened-From: "
                        "multipart/related(multipart/alternative(text/plain,text/html),"
                        "image/png)"));
  EXPECT_TRUE(has_field(run.output, "Content-Type: text/plain; charset=utf-8"));
  EXPECT_TRUE(has_field(run.output, "Content-Transfer-Encoding: 7bit"));
  EXPECT_TRUE(has_field(run.output, "Subject: newsletter with an inline logo (quoted cid)"));
  EXPECT_EQ(decrypted_body(run.output),
            "Our spring newsletter: three new products and a discount code for you. \n"
            "Gr\xc3\xbc\xc3\x9f"
            "e, the team");
  EXPECT_EQ(run.output.find("multipart/alternative;"), std::string::npos);
  EXPECT_EQ(run.output.find("iVBORw0KGgo"), std::string::npos) << "image left in clear";
}

TEST(InlineMode, FlattensUnquotedPercentEncodedCidsWithCrlf) {
  std::string input =
      test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/related-cid-unquoted.eml");
  auto run = seal(input, encrypt_mode::prefer_inline, true);
  EXPECT_TRUE(has_field(run.output,
                        "X-Gpgit-Flattened-From: "
                        "multipart/related(multipart/alternative(text/plain,text/html),"
                        "image/gif)"));
  EXPECT_EQ(test::to_lf(decrypted_body(run.output)),
            "The plain text version says the same as the HTML one.");
}

TEST(InlineMode, WithoutFlattenAMultipartIsNotInline) {
  std::string input =
      test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/related-cid-quoted.eml");
  EXPECT_EQ(seal(input, encrypt_mode::inline_or_plain, false).output, input);
}

}  // namespace
}  // namespace gpgseal
