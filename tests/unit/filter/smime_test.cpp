// S/MIME round trips through the core filter: encrypt with gpgsm, decrypt with
// another implementation (openssl cms), compare with the input (RFC 8551
// application/pkcs7-mime, headers, payload bytes); and which certificates
// are usable, and which protocol a keyring with both kinds of key gets.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/base/library_init.hpp"
#include "core/openpgp/key_cache.hpp"
#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/smime_certs.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

// GPGME finds gpgsm only if the process chose CMS before its first context
// (select_engines). ctest runs each test in a process of its own: only a run
// that includes these tests chooses CMS, so that the others run as gpgseal
// does for OpenPGP-only keyrings.
class cms_engines : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string filter = ::testing::GTEST_FLAG(filter);
    if (filter != "*" && filter.find("Smime") == std::string::npos) return;
    initialise_libraries();
    select_engines(true);
  }
};
const auto* const engines = ::testing::AddGlobalTestEnvironment(new cms_engines);

const std::string alice = "alice@example.org";

const std::string message =
    "Return-Path: <bob@example.org>\n"
    "From: Bob <bob@example.org>\n"
    "To: alice@example.org\n"
    "Subject: quarterly figures\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org;\n b=c2lnbmF0dXJl\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
    "Message-ID: <1@example.org>\n"
    "\n"
    "--b1\nContent-Type: text/plain; charset=utf-8\n\nHello Alice \xc3\xbc   \n"
    "--b1\nContent-Type: application/octet-stream; name=\"figures.bin\"\n"
    "Content-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n--b1--\n";

std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

test::core_run seal(const test::smime_keyring& ring, const std::string& input,
                    protocol_preference prefer = protocol_preference::openpgp,
                    test::feed how = test::feed::file) {
  auto options = test::options_for(ring.home(), {alice});
  options.prefer = prefer;
  return test::run_core(input, options, how);
}

TEST(Smime, CaIssuedRsa2048RoundTripsThroughOpenssl) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  auto run = seal(ring, message);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(run.outcome.smime);
  EXPECT_EQ(run.outcome.fingerprints, std::vector<std::string>{test::cert_fingerprint("alice-ca")});
  EXPECT_TRUE(test::smime_round_trips(message, run.output, "alice-ca"));
  EXPECT_EQ(run.output.find("Hello Alice"), std::string::npos);
  EXPECT_EQ(run.output.find("figures.bin"), std::string::npos);
}

TEST(Smime, CrlfInputGivesCrlfOutput) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  const std::string input = crlf(message);
  auto run = seal(ring, input);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(test::smime_round_trips(input, run.output, "alice-ca"));
  for (std::size_t i = 0; i < run.output.size(); ++i) {
    if (run.output[i] == '\n') {
      ASSERT_TRUE(i > 0 && run.output[i - 1] == '\r') << "bare LF at " << i;
    }
  }
}

TEST(Smime, SelfSignedRsa3072WithTheAddressInOtherCase) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-self");  // its subject says Alice@Example.ORG
  auto run = seal(ring, message);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(test::smime_round_trips(message, run.output, "alice-self"));
}

TEST(Smime, ReadsThroughAPipeOneByteAtATime) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  auto run = seal(ring, message, protocol_preference::openpgp, test::feed::pipe_one_byte_at_a_time);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(test::smime_round_trips(message, run.output, "alice-ca"));
}

// RFC 9788's hcp_baseline holds for S/MIME too: the real Subject inside,
// "[...]" outside (without a Legacy Display Element, which would change the
// text this check compares).
TEST(Smime, HiddenSubjectIsProtectedInsideOnly) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  auto options = test::options_for(ring.home(), {alice});
  options.headers.hide_subject = true;
  options.headers.legacy_display = false;
  auto run = test::run_core(message, options, test::feed::file);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(run.outcome.smime);
  EXPECT_NE(run.output.find("Subject: [...]"), std::string::npos);
  EXPECT_EQ(run.output.find("quarterly figures"), std::string::npos);
  EXPECT_TRUE(test::smime_round_trips(message, run.output, "alice-ca", true));
}

TEST(Smime, OwnOutputPassesThroughASecondRunUnchanged) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  auto first = seal(ring, message);
  ASSERT_EQ(first.outcome.action, filter_action::encrypted) << first.outcome.detail;
  auto second = seal(ring, first.output);
  EXPECT_EQ(second.outcome.action, filter_action::passed_through);
  EXPECT_EQ(second.outcome.reason, pass_reason::already_encrypted);
  EXPECT_EQ(second.output, first.output);
}

// The certificate names a CRL distribution point on 127.0.0.1:9: had gpgsm
// not been offline for the first encryption of a context, it would have
// asked dirmngr and failed.
TEST(Smime, ARememberedCertificateIsUsedOfflineToo) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  test::age_keyring(ring.home());
  auto first = seal(ring, message);
  ASSERT_EQ(first.outcome.action, filter_action::encrypted) << first.outcome.detail;
  EXPECT_FALSE(test::read_file(ring.home() + "/gpgseal-keycache-cms").empty());
  auto second = seal(ring, message);
  ASSERT_EQ(second.outcome.action, filter_action::encrypted) << second.outcome.detail;
  EXPECT_TRUE(test::smime_round_trips(message, second.output, "alice-ca"));
}

// --- the certificate cache (gpgseal-keycache-cms) ---------------------------------

// Alice's and Bob's certificates in one keyring, old enough to be remembered.
struct cached_ring {
  test::smime_keyring ring;
  cached_ring() {
    ring.import_cert(alice, "alice-ca");
    ring.import_cert("bob@example.org", "bob-ca");
    test::age_keyring(ring.home());
  }
  // Plants a choice for Alice as if a listing of the keyring as it is now had made it.
  void remember_for_alice(const std::string& fingerprint) const {
    key_selection selection;
    selection.keys.push_back({fingerprint, 0});
    remember_keys(ring.home(), observe_keyring(ring.home()), {alice}, selection, std::time(nullptr),
                  certificate_cache_file_name);
  }
  [[nodiscard]] std::vector<std::string> recalled_for_alice() const {
    std::vector<std::string> fingerprints;
    auto keys = recall_keys(ring.home(), {alice}, std::time(nullptr), certificate_cache_file_name);
    for (const auto& key : keys.value_or(std::vector<recipient_key>{})) {
      fingerprints.push_back(key.fingerprint);
    }
    return fingerprints;
  }
};

// A planted choice is followed: the second run did not list the keyring.
TEST(Smime, ACertificateChoiceIsRememberedAndTheNextRunUsesIt) {
  cached_ring r;
  auto first = seal(r.ring, message);
  ASSERT_EQ(first.outcome.action, filter_action::encrypted) << first.outcome.detail;
  const std::string alice_fpr = test::cert_fingerprint("alice-ca");
  EXPECT_EQ(r.recalled_for_alice(), std::vector<std::string>{alice_fpr});
  EXPECT_FALSE(std::filesystem::exists(r.ring.home() + "/" + key_cache_file_name));
  r.remember_for_alice(test::cert_fingerprint("bob-ca"));
  auto second = seal(r.ring, message);
  ASSERT_EQ(second.outcome.action, filter_action::encrypted) << second.outcome.detail;
  EXPECT_EQ(second.outcome.fingerprints,
            std::vector<std::string>{test::cert_fingerprint("bob-ca")});
  EXPECT_TRUE(test::smime_round_trips(message, second.output, "bob-ca"));
}

// The roots gpgsm trusts are part of the keyring: a change to trustlist.txt
// (or to the certificates) forgets every remembered choice.
TEST(Smime, ATrustlistOrCertificateChangeForgetsTheChoice) {
  cached_ring r;
  const std::string alice_fpr = test::cert_fingerprint("alice-ca");
  for (int change = 0; change < 2; ++change) {
    r.remember_for_alice(test::cert_fingerprint("bob-ca"));
    ASSERT_FALSE(r.recalled_for_alice().empty());
    if (change == 0) {
      std::ofstream(r.ring.home() + "/trustlist.txt", std::ios::app) << "# reviewed\n";
    } else {
      r.ring.import_raw("malice");
    }
    EXPECT_TRUE(r.recalled_for_alice().empty()) << change;
    auto run = seal(r.ring, message);
    ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
    EXPECT_EQ(run.outcome.fingerprints, std::vector<std::string>{alice_fpr}) << change;
    EXPECT_TRUE(test::smime_round_trips(message, run.output, "alice-ca"));
    test::age_keyring(r.ring.home());
  }
}

TEST(Smime, ARememberedCertificateGpgsmRefusesMeansAFreshListing) {
  cached_ring r;
  r.remember_for_alice(std::string(40, 'D'));  // in no keyring
  auto run = seal(r.ring, message);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_EQ(run.outcome.fingerprints, std::vector<std::string>{test::cert_fingerprint("alice-ca")});
  EXPECT_TRUE(test::smime_round_trips(message, run.output, "alice-ca"));
}

// --- certificates that must not be used --------------------------------------

void expect_no_key(const test::smime_keyring& ring, const std::string& why) {
  auto run = seal(ring, message);
  EXPECT_EQ(run.outcome.action, filter_action::passed_through);
  EXPECT_EQ(run.outcome.reason, pass_reason::no_key);
  EXPECT_NE(run.outcome.detail.find(why), std::string::npos) << run.outcome.detail;
  EXPECT_EQ(run.output, message);
}

TEST(Smime, ExpiredCertificateIsNoKey) {
  test::smime_keyring ring;
  ring.import_cert("bob@example.org", "bob-ca");  // the CA and its trust
  ring.import_raw("alice-expired");
  expect_no_key(ring,
                "certificate 0x" + test::cert_fingerprint("alice-expired") + " expired 2020-01-02");
}

TEST(Smime, LookAlikeAddressIsNoKey) {
  test::smime_keyring ring;
  ring.import_cert("malice@example.org", "malice");
  expect_no_key(ring, "no usable S/MIME certificate for <alice@example.org>");
}

TEST(Smime, SigningOnlyCertificateIsNoKey) {
  test::smime_keyring ring;
  ring.import_cert("bob@example.org", "bob-ca");
  ring.import_raw("alice-signonly");
  expect_no_key(
      ring, "certificate 0x" + test::cert_fingerprint("alice-signonly") + " not for encryption");
}

TEST(Smime, CertificateWithoutATrustedRootIsNoKey) {
  test::smime_keyring ring;
  ring.import_raw("ca");
  ring.import_raw("alice-ca");
  expect_no_key(ring, "its chain is not valid here");
}

// --- a keyring with an OpenPGP key and a certificate -----------------------------

void add_openpgp_key_of_alice(const test::smime_keyring& ring) {
  test::run_checked({"gpg", "--homedir", ring.home(), "--batch", "--quiet", "--import"},
                    test::shared_keys().ring.export_public(test::shared_keys().alice));
}

TEST(Smime, BothKindsGetOpenpgpByDefault) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  add_openpgp_key_of_alice(ring);
  auto run = seal(ring, message);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_FALSE(run.outcome.smime);
  EXPECT_TRUE(test::round_trips(message, run.output, test::shared_keys().ring));
}

TEST(Smime, BothKindsGetSmimeWhenPreferred) {
  test::smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  add_openpgp_key_of_alice(ring);
  auto run = seal(ring, message, protocol_preference::smime);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(run.outcome.smime);
  EXPECT_TRUE(test::smime_round_trips(message, run.output, "alice-ca"));
}

TEST(Smime, PreferringSmimeWithoutACertificateGetsOpenpgp) {
  test::smime_keyring ring;
  ring.import_cert("bob@example.org", "bob-ca");
  add_openpgp_key_of_alice(ring);
  auto run = seal(ring, message, protocol_preference::smime);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_FALSE(run.outcome.smime);
  EXPECT_TRUE(test::round_trips(message, run.output, test::shared_keys().ring));
}

}  // namespace
}  // namespace gpgseal
