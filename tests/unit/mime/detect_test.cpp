#include "core/mime/detect.hpp"

#include <gtest/gtest.h>

#include "core/base/library_init.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

protection detect(const std::string& text) {
  initialise_libraries();
  auto fd = test::fd_with(text);
  return detect_protection(fd.get(), scan_message(fd.get(), text.size()));
}

const std::string& ciphertext() {
  static const std::string text =
      test::shared_keys().ring.encrypt_to(test::shared_keys().alice, "secret\n");
  return text;
}

std::string pgp_mime(const std::string& second_part_type, const std::string& armor,
                     const std::string& protocol = "application/pgp-encrypted") {
  return "From: a@example.org\nMIME-Version: 1.0\n"
         "Content-Type: multipart/encrypted; protocol=\"" +
         protocol +
         "\"; boundary=\"XX\"\n\n"
         "preamble\n--XX\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
         "--XX\nContent-Type: " +
         second_part_type + "\n\n" + armor + "\n--XX--\n";
}

TEST(Detect, PlainMessagesAreNotEncrypted) {
  EXPECT_EQ(detect("Subject: x\n\nhello\n"), protection::none);
  EXPECT_EQ(detect("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n"),
            protection::none);
}

TEST(Detect, RecognisesWellFormedPgpMime) {
  EXPECT_EQ(detect(pgp_mime("application/octet-stream", ciphertext())), protection::pgp_mime);
}

TEST(Detect, PgpMimeBehindAnMboxLineAndWithCrlf) {
  std::string crlf;
  for (char c : pgp_mime("application/octet-stream", ciphertext())) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  }
  EXPECT_EQ(detect("From a@example.org Mon Jan  1 00:00:00 2024\r\n" + crlf), protection::pgp_mime);
}

TEST(Detect, MultipartEncryptedLabelAloneIsNotEnough) {
  EXPECT_EQ(detect(pgp_mime("text/plain", "my secret in clear")), protection::none);
  EXPECT_EQ(detect(pgp_mime("application/octet-stream", "my secret in clear")), protection::none);
  EXPECT_EQ(detect(pgp_mime("application/octet-stream", ciphertext(), "application/other")),
            protection::none);
  EXPECT_EQ(detect("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
                   "boundary=XX\n\nno parts at all\n"),
            protection::none);
}

TEST(Detect, RecognisesSmimeEnvelopedData) {
  for (const char* type : {"application/pkcs7-mime; smime-type=enveloped-data",
                           "application/x-pkcs7-mime; smime-type=\"enveloped-data\"",
                           "application/pkcs7-mime; smime-type=authEnveloped-data"}) {
    EXPECT_EQ(
        detect(
            std::string("Content-Type: ") + type +
            "; name=smime.p7m\nContent-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHA6CAMIACAQ\n"),
        protection::smime_enveloped)
        << type;
  }
}

TEST(Detect, SmimeSignedDataIsNotEncryption) {
  EXPECT_EQ(detect("Content-Type: application/pkcs7-mime; smime-type=signed-data\n\nMIAG\n"),
            protection::none);
}

TEST(Detect, RecognisesInlinePgpInASingleTextPart) {
  EXPECT_EQ(detect("Subject: x\n\n" + ciphertext()), protection::inline_pgp);
  EXPECT_EQ(detect("Content-Type: text/plain; charset=us-ascii\n\n\n" + ciphertext() + "\n"),
            protection::inline_pgp);
}

TEST(Detect, DecodesTheTransferEncodingBeforeLookingForArmor) {
  std::string qp;
  for (char c : ciphertext()) qp += c == '=' ? std::string("=3D") : std::string(1, c);
  EXPECT_EQ(
      detect("Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n" + qp),
      protection::inline_pgp);
}

TEST(Detect, QuotedArmorAmongTextIsNotEncryption) {
  EXPECT_EQ(detect("Subject: re\n\nYou wrote:\n" + ciphertext() + "\nThanks!\n"), protection::none);
  EXPECT_EQ(detect("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + ciphertext() +
                   "\n--b\n\nclear text\n--b--\n"),
            protection::none);
}

TEST(Detect, AmbiguousContentTypeMeansEncrypt) {
  EXPECT_EQ(detect("Content-Type: text/plain\nContent-Type: text/html\n\n" + ciphertext()),
            protection::none);
}

std::string exchange_mixed_up(const std::string& first_part, const std::string& version_body,
                              const std::string& extra = "") {
  return "Subject: x\nContent-Type: multipart/mixed; boundary=\"EX\"\n\n" + first_part +
         "--EX\nContent-Type: application/pgp-encrypted; name=\"PGPMIME Versions Identification\"\n"
         "Content-Description: PGP/MIME version identification\n\n" +
         version_body +
         "\n--EX\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n" +
         ciphertext() + "\n" + extra + "--EX--\n";
}

TEST(Detect, RecognisesPgpMimeRewrittenByExchange) {
  const std::string empty_text = "--EX\nContent-Type: text/plain; charset=us-ascii\n\n\n";
  EXPECT_EQ(detect(exchange_mixed_up(empty_text, "Version: 1")), protection::exchange_pgp_mime);
  EXPECT_EQ(detect(exchange_mixed_up("", "Version: 1\n")), protection::exchange_pgp_mime);
}

TEST(Detect, ExchangeShapeWithAnythingInClearIsEncrypted) {
  EXPECT_EQ(
      detect(exchange_mixed_up("--EX\nContent-Type: text/plain\n\nsecret words\n", "Version: 1")),
      protection::none);
  EXPECT_EQ(detect(exchange_mixed_up("", "Version: 1 and a secret")), protection::none);
  EXPECT_EQ(detect(exchange_mixed_up("", "Version: 1",
                                     "--EX\nContent-Type: text/plain\n\nan extra part\n")),
            protection::none);
  EXPECT_EQ(detect(exchange_mixed_up("--EX\nContent-Type: text/html\n\n\n", "Version: 1")),
            protection::none);
}

// Found by fuzz_detect: without the empty line after a part's headers,
// parsers disagree where its body starts, so it is no proof of ciphertext.
TEST(Detect, APartWithoutTheEmptyLineAfterItsHeadersIsNotCiphertext) {
  std::string glued = exchange_mixed_up("", "Version: 1");
  std::size_t at = glued.find("name=\"encrypted.asc\"\n\n");
  ASSERT_NE(at, std::string::npos);
  glued.erase(at + 21, 1);
  EXPECT_EQ(detect(glued), protection::none);
  std::string rfc3156 = pgp_mime("application/octet-stream", ciphertext());
  rfc3156.replace(rfc3156.find("octet-stream\n\n"), 14, "octet-stream\n");
  EXPECT_EQ(detect(rfc3156), protection::none);
}

TEST(Detect, InlineArmorInANonTextPartIsNotInlinePgp) {
  EXPECT_EQ(detect("Content-Type: application/octet-stream\n\n" + ciphertext()), protection::none);
}

}  // namespace
}  // namespace gpgseal
