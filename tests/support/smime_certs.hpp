// X.509 test certificates and S/MIME keyrings for the S/MIME tests. The
// certificates come from tests/support/make_test_certs.sh (INSECURE test keys,
// made once per ctest run by the make_test_certs fixture, else once per test
// program); a keyring is a fresh 0700 directory that gets
// them through gpgseal-import-cert, as a user's would, or through bare
// `gpgsm --import` for those the command refuses. Decryption is done by
// another implementation, `openssl cms`, never by gpgsm.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace gpgseal::test {

// The directory of the certificates: NAME.pem, NAME.key (see make_test_certs.sh).
const std::string& test_certs_dir();

// A certificate's SHA-1 fingerprint, upper-case hex, as gpgsm names it.
std::string cert_fingerprint(const std::string& name);

class smime_keyring {
 public:
  smime_keyring();
  ~smime_keyring();
  smime_keyring(const smime_keyring&) = delete;
  smime_keyring& operator=(const smime_keyring&) = delete;

  const std::string& home() const noexcept { return home_; }
  // gpgseal-import-cert ADDRESS NAME.pem (with the test CA); throws on failure.
  void import_cert(const std::string& address, const std::string& name);
  // gpgsm --import NAME.pem alone: no trust, no gpgsm.conf.
  void import_raw(const std::string& name);

 private:
  std::string home_;
};

// Decrypts binary CMS with `openssl cms` and NAME.key; throws std::runtime_error.
std::string openssl_decrypt(const std::string& der, const std::string& name);

// The whole S/MIME contract for an encrypted result: one application/pkcs7-mime
// part with smime-type=enveloped-data and name="smime.p7m", base64 and nothing
// else in the body, AES-256, decrypting with NAME's key (openssl) to the
// input's protected header fields, Content-* fields and body in canonical
// CRLF, outer fields kept (with `hidden_subject`, as mail_check.hpp's
// round_trips says; no Legacy Display Element).
::testing::AssertionResult smime_round_trips(const std::string& input, const std::string& output,
                                             const std::string& name, bool hidden_subject = false);

}  // namespace gpgseal::test
