// Regression tests for ways a crafted message got stored in clear, or made the
// "already encrypted?" check expensive, found while hardening (issue 6) and by
// the fuzz target tests/fuzz/detect_fuzz.cpp. Each is named after what broke.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "core/base/library_init.hpp"
#include "core/mime/detect.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"

namespace gpgseal {
namespace {

// The detector as the filter runs it: layout first, then the decision.
class DetectRegression : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { initialise_libraries(); }
  static protection detect(const std::string& text) {
    auto spool = test::fd_with(text);
    message_layout layout = scan_message(spool.get(), text.size());
    return detect_protection(spool.get(), layout);
  }
};

// Real ciphertext (to a key that is not ours; detection does not decrypt).
const std::string& armor() {
  static const std::string text = [] {
    std::string file = test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/pass-pgp-mime.eml");
    std::size_t begin = file.find("-----BEGIN PGP MESSAGE-----");
    std::size_t end = file.find("-----END PGP MESSAGE-----") + 25;
    return file.substr(begin, end - begin) + "\n";
  }();
  return text;
}

std::string pgp_mime(const std::string& boundary_param, const std::string& boundary,
                     const std::string& after_close = "") {
  return "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"" +
         boundary_param + "\n\n--" + boundary + "\nContent-Type: application/pgp-encrypted\n\n" +
         "Version: 1\n\n--" + boundary + "\nContent-Type: application/octet-stream\n\n" + armor() +
         "--" + boundary + "--\n" + after_close;
}

const std::string clear_text = "This confidential sentence must never be stored in clear.\n";

TEST_F(DetectRegression, PgpMimeStillRecognisedWithTheStreamingSplit) {
  EXPECT_EQ(detect(pgp_mime("; boundary=\"b\"", "b")), protection::pgp_mime);
  EXPECT_EQ(detect(pgp_mime("; boundary=\"b\"", "b", "\n  \n")), protection::pgp_mime);
}

// GMime accepted boundary="" with "--" delimiter lines, and ignored the epilogue.
TEST_F(DetectRegression, EmptyBoundaryWithClearTextAfterTheCloseIsNotEncrypted) {
  EXPECT_EQ(detect(pgp_mime("; boundary=\"\"", "", clear_text)), protection::none);
}

// GMime ignored a whole part after the close delimiter: stored in clear.
TEST_F(DetectRegression, PartAfterTheCloseDelimiterIsNotEncrypted) {
  EXPECT_EQ(detect(pgp_mime("; boundary=\"b\"", "b",
                            "--b\nContent-Type: text/plain\n\n" + clear_text + "--b--\n")),
            protection::none);
}

TEST_F(DetectRegression, ClearTextAfterTheCloseDelimiterIsNotEncrypted) {
  EXPECT_EQ(detect(pgp_mime("; boundary=\"b\"", "b", clear_text)), protection::none);
}

TEST_F(DetectRegression, BoundaryOfSeventyOneCharactersIsNotWellFormed) {
  std::string b(71, 'b');
  EXPECT_EQ(detect(pgp_mime("; boundary=\"" + b + "\"", b)), protection::none);
  b.pop_back();
  EXPECT_EQ(detect(pgp_mime("; boundary=\"" + b + "\"", b)), protection::pgp_mime);
}

// A boundary that ends in CR made the delimiter longer than the line's text.
TEST_F(DetectRegression, BoundaryHoldingALineEndIsNotWellFormed) {
  EXPECT_EQ(detect(pgp_mime("; boundary=\"b\r\"", "b\r")), protection::none);
}

TEST_F(DetectRegression, RealPgpMimeWithRfc2231ParametersIsRecognised) {
  std::string text = pgp_mime("", "b1");
  text.replace(text.find("protocol="), 36,
               "protocol*=us-ascii''application%2Fpgp-encrypted; boundary*0=b; boundary*1=1");
  EXPECT_EQ(detect(text), protection::pgp_mime);
}

// The S/MIME label alone used to be enough to keep any body in clear.
TEST_F(DetectRegression, SmimeLabelOnAClearBodyIsNotEncrypted) {
  const std::string type =
      "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n"
      "Content-Transfer-Encoding: base64\n\n";
  EXPECT_EQ(detect(type + "MIAGCSqGSIb3DQEHA6CAMIACAQAx\n" + clear_text), protection::none);
  // base64 of "This confidential sentence must never be stored in clear."
  EXPECT_EQ(
      detect(type +
             "VGhpcyBjb25maWRlbnRpYWwgc2VudGVuY2UgbXVzdCBuZXZlciBiZSBzdG9yZWQgaW4gY2xlYXIu\n"),
      protection::none);
  EXPECT_EQ(
      detect("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n\n" + clear_text),
      protection::none);
}

TEST_F(DetectRegression, SmimeEnvelopedDataIsRecognisedInEveryDerLengthForm) {
  const std::string type =
      "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n"
      "Content-Transfer-Encoding: base64\n\n";
  EXPECT_EQ(detect(type + "MIAGCSqGSIb3DQEHA6CAMIACAQAx\n"), protection::smime_enveloped);  // 30 80
  EXPECT_EQ(detect(type + "MIIBxAYJKoZIhvcNAQcDoIIBtTCCAbEC\n"),
            protection::smime_enveloped);                                                   // 30 82
  EXPECT_EQ(detect(type + "MHUGCSqGSIb3DQEHA6BoMGYCAQAx\n"), protection::smime_enveloped);  // 30 75
  // id-ct-authEnvelopedData, RFC 5083.
  EXPECT_EQ(detect("Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data\n"
                   "Content-Transfer-Encoding: base64\n\nMIAGCyqGSIb3DQEJEAEXoIAwgAIB\n"),
            protection::smime_enveloped);
}

// Found by fuzz_detect: GLib's base64 decoder skips a '=' that GMime's stops at.
TEST_F(DetectRegression, SmimePaddingInsideTheDataIsNotEncrypted) {
  EXPECT_EQ(detect("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n"
                   "Content-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEH=6CAMIACAQAx\n"),
            protection::none);
}

// GMime's parser built the whole MIME tree of a spoofed label: 1 GiB of header
// objects for a 14 MiB message. The split now streams; measured in-process.
TEST_F(DetectRegression, HugePartHeadersUnderAnEncryptedLabelCostNoMemory) {
  std::string text =
      "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
      "boundary=\"b\"\n\n"
      "--b\nContent-Type: application/pgp-encrypted\n";
  for (int i = 0; i < 200000; ++i) text += "X-F: a\n";
  text += "\nVersion: 1\n--b\nContent-Type: application/octet-stream\n\nx\n--b--\n";
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  EXPECT_EQ(detect(text), protection::none);
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 32 * 1024) << "KiB of peak RSS added";
}

}  // namespace
}  // namespace gpgseal
