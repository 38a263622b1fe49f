#include "support/smime_certs.hpp"

#include <gmime/gmime.h>
#include <unistd.h>

#include <cctype>
#include <mutex>
#include <stdexcept>

#include "support/mail_check.hpp"
#include "support/process.hpp"

namespace gpgseal::test {

namespace {

const std::string source_dir = GPGSEAL_SOURCE_DIR;

// The certificates ctest made once for the whole run (make_test_certs in
// tests/CMakeLists.txt), else a set of this process's own.
std::string make_certs() {
  const std::string saved = GPGSEAL_TEST_CERTS_DIR;
  if (::access((saved + "/ca.pem").c_str(), R_OK) == 0) return saved;
  std::string dir = make_temp_dir();
  run_checked({source_dir + "/tests/support/make_test_certs.sh", dir});
  return dir;
}

std::string temp_file_with(const std::string& dir, const std::string& bytes) {
  std::string path = dir + "/data";
  write_file(path, bytes);
  return path;
}

// The single part of `output`, or failure.
::testing::AssertionResult smime_body(const std::string& output, std::string* der) {
  GMimeMessage* message = parse_gmime_message(output);
  if (!message) return ::testing::AssertionFailure() << "output does not parse as a message";
  auto result = ::testing::AssertionSuccess();
  GMimeObject* top = g_mime_message_get_mime_part(message);
  GMimeContentType* type = top ? g_mime_object_get_content_type(top) : nullptr;
  const char* smime_type =
      top ? g_mime_object_get_content_type_parameter(top, "smime-type") : nullptr;
  const char* name = top ? g_mime_object_get_content_type_parameter(top, "name") : nullptr;
  if (!type || !g_mime_content_type_is_type(type, "application", "pkcs7-mime") ||
      !GMIME_IS_PART(top)) {
    result = ::testing::AssertionFailure() << "top level is not application/pkcs7-mime";
  } else if (!smime_type || std::string(smime_type) != "enveloped-data" || !name ||
             std::string(name) != "smime.p7m") {
    result = ::testing::AssertionFailure() << "smime-type or name missing or wrong";
  } else if (g_mime_part_get_content_encoding(GMIME_PART(top)) != GMIME_CONTENT_ENCODING_BASE64) {
    result = ::testing::AssertionFailure() << "not base64";
  } else {
    *der = decoded_content(top);
  }
  g_object_unref(message);
  return result;
}

::testing::AssertionResult only_base64_lines(const std::string& body) {
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > 76) return ::testing::AssertionFailure() << "a base64 line over 76";
    for (char c : line) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') {
        return ::testing::AssertionFailure() << "not base64 in the body: " << line;
      }
    }
    start = end + 1;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

const std::string& test_certs_dir() {
  static std::once_flag once;
  static std::string dir;
  std::call_once(once, [] { dir = make_certs(); });
  return dir;
}

std::string cert_fingerprint(const std::string& name) {
  std::string out = run_checked({"openssl", "x509", "-in", test_certs_dir() + "/" + name + ".pem",
                                 "-noout", "-fingerprint", "-sha1"});
  std::string fpr;
  for (char c : out.substr(out.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) fpr += static_cast<char>(std::toupper(c));
  }
  return fpr;
}

smime_keyring::smime_keyring() : home_(make_temp_dir()) {}

smime_keyring::~smime_keyring() {
  run_process({"gpgconf", "--homedir", home_, "--kill", "all"});
  remove_tree(home_);
}

void smime_keyring::import_cert(const std::string& address, const std::string& name) {
  const std::string& dir = test_certs_dir();
  run_checked({source_dir + "/scripts/gpgseal-import-cert", "--gnupghome", home_, "--ca",
               dir + "/ca.pem", address, dir + "/" + name + ".pem"});
}

void smime_keyring::import_raw(const std::string& name) {
  run_checked({"gpgsm", "--homedir", home_, "--batch", "--disable-dirmngr", "--import",
               test_certs_dir() + "/" + name + ".pem"});
}

std::string openssl_decrypt(const std::string& der, const std::string& name) {
  std::string dir = make_temp_dir();
  std::string path = temp_file_with(dir, der);
  const std::string key = test_certs_dir() + "/" + name;
  auto result = run_process({"openssl", "cms", "-decrypt", "-inform", "DER", "-in", path, "-inkey",
                             key + ".key", "-recip", key + ".pem"});
  auto printed =
      run_process({"openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", path});
  remove_tree(dir);
  if (result.exit_code != 0) throw std::runtime_error("openssl cms -decrypt: " + result.err);
  if (printed.out.find("aes-256-cbc") == std::string::npos) {
    throw std::runtime_error("not AES-256-CBC");
  }
  return result.out;
}

::testing::AssertionResult smime_round_trips(const std::string& input, const std::string& output,
                                             const std::string& name, bool hidden_subject) {
  std::string der;
  if (auto s = smime_body(output, &der); !s) return s;
  std::string payload;
  try {
    payload = openssl_decrypt(der, name);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "decryption failed: " << e.what();
  }
  if (auto same = payload_matches(input, output, payload, hidden_subject); !same) return same;
  return only_base64_lines(split_message(output).body);
}

}  // namespace gpgseal::test
