// The key report's view of a keyring with X.509 certificates: the protocol,
// certificate and expiry the filter would use (smime_test.cpp seals with the
// same keyrings), and refused certificates named with their reason. The
// suite's name starts with "Smime" so that smime_test.cpp's environment
// chooses CMS for a run of several tests in one process.
#include "core/key_status.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/smime_certs.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

const std::string alice = "alice@example.org";

key_status status_of(const test::smime_keyring& ring,
                     protocol_preference prefer = protocol_preference::openpgp) {
  seal_settings settings = test::options_for(ring.home(), {alice});
  settings.prefer = prefer;
  return inspect_keys(settings);
}

// NAME.pem's notAfter as openssl reads it, in seconds since the epoch.
std::int64_t not_after(const std::string& name) {
  std::string out =
      test::run_checked({"openssl", "x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in",
                         test::test_certs_dir() + "/" + name + ".pem"});
  std::tm tm{};
  if (!strptime(out.c_str(), "notAfter=%Y-%m-%d %H:%M:%S", &tm)) return -1;
  return timegm(&tm);
}

void add_openpgp_key_of_alice(const test::smime_keyring& ring) {
  test::run_checked({"gpg", "--homedir", ring.home(), "--batch", "--quiet", "--import"},
                    test::shared_keys().ring.export_public(test::shared_keys().alice));
}

TEST(SmimeKeyStatus, CertificateOnlyIsUsableWithItsFingerprintAndExpiry) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  key_status status = status_of(ring);
  ASSERT_EQ(status.state, key_state::usable) << status.detail;
  EXPECT_TRUE(status.smime);
  ASSERT_EQ(status.keys.size(), 1u);
  EXPECT_EQ(status.keys[0].fingerprint, test::cert_fingerprint("alice-ca"));
  EXPECT_EQ(status.keys[0].expires, not_after("alice-ca"));
  EXPECT_GT(status.keys[0].expires, std::time(nullptr));
}

TEST(SmimeKeyStatus, ExpiredCertificateIsRefusedWithItsDate) {
  test::smime_keyring ring;
  ring.import_cert("bob@example.org", "bob-ca");  // the CA and its trust
  ring.import_raw("alice-expired");
  key_status status = status_of(ring);
  EXPECT_EQ(status.state, key_state::no_key);
  ASSERT_EQ(status.rejected.size(), 1u);
  EXPECT_EQ(status.rejected[0].fingerprint, test::cert_fingerprint("alice-expired"));
  EXPECT_EQ(status.rejected[0].reason, "expired 2020-01-02");
  EXPECT_NE(status.detail.find("no usable S/MIME certificate for <alice@example.org>"),
            std::string::npos)
      << status.detail;
}

TEST(SmimeKeyStatus, BothKindsFollowThePreference) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  add_openpgp_key_of_alice(ring);
  key_status openpgp = status_of(ring);
  ASSERT_EQ(openpgp.state, key_state::usable) << openpgp.detail;
  EXPECT_FALSE(openpgp.smime);
  ASSERT_EQ(openpgp.keys.size(), 1u);
  EXPECT_EQ(openpgp.keys[0].fingerprint, test::shared_keys().alice);
  key_status smime = status_of(ring, protocol_preference::smime);
  ASSERT_EQ(smime.state, key_state::usable) << smime.detail;
  EXPECT_TRUE(smime.smime);
  ASSERT_EQ(smime.keys.size(), 1u);
  EXPECT_EQ(smime.keys[0].fingerprint, test::cert_fingerprint("alice-ca"));
}

}  // namespace
}  // namespace gpgseal
