#include "support/test_keyring.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "support/process.hpp"

namespace gpgseal::test {

void age_keyring(const std::string& home) {
  const timespec past{::time(nullptr) - 60, 0};
  const timespec times[2] = {past, past};
  for (const auto& entry : std::filesystem::directory_iterator(home)) {
    ::utimensat(AT_FDCWD, entry.path().c_str(), times, 0);
  }
}

void copy_public_keyring(const std::string& to) {
  namespace fs = std::filesystem;
  fs::create_directories(to);
  fs::permissions(to, fs::perms::owner_all);
  for (const char* name : {"pubring.kbx", "trustdb.gpg"}) {
    fs::copy_file(shared_keys().ring.home() + "/" + name, to + "/" + name);
  }
}

void make_hanging_keyring(const std::string& to) {
  copy_public_keyring(to);
  const std::string keybox = to + "/pubring.kbx";
  std::filesystem::remove(keybox);
  if (::mkfifo(keybox.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + keybox);
}

test_keyring::test_keyring() : home_(make_temp_dir()) {}

namespace {

// Folders and regular files only: an agent's sockets are no part of a keyring.
void copy_keyring_files(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  fs::create_directories(to);
  fs::permissions(to, fs::perms::owner_all);
  for (const auto& entry : fs::recursive_directory_iterator(from)) {
    fs::path target = fs::path(to) / fs::relative(entry.path(), from);
    if (entry.is_directory()) {
      fs::create_directories(target);
      fs::permissions(target, fs::perms::owner_all);
    } else if (entry.is_regular_file()) {
      fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing);
    }
  }
}

}  // namespace

void test_keyring::copy_from(const std::string& directory) { copy_keyring_files(directory, home_); }

test_keyring::~test_keyring() {
  run_process({"gpgconf", "--homedir", home_, "--kill", "all"});
  remove_tree(home_);
}

std::string test_keyring::gpg(const std::vector<std::string>& args,
                              const std::string& input) const {
  std::vector<std::string> argv = {
      "gpg",      "--homedir",       home_,      "--batch",      "--yes",
      "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_checked(argv, input);
}

std::string test_keyring::generate(const std::string& uid, const std::string& algo,
                                   const std::string& usage, const std::string& expire,
                                   const std::string& faked_time) {
  std::vector<std::string> args;
  if (!faked_time.empty()) args = {"--faked-system-time", faked_time + "!"};
  args.insert(args.end(), {"--quick-gen-key", uid, algo, usage, expire});
  gpg(args);
  // The newest key with this user ID is the one just made.
  std::istringstream listing(gpg({"--with-colons", "--list-keys", "=" + uid}));
  std::string line, fpr, last;
  bool in_key = false;
  while (std::getline(listing, line)) {
    if (line.rfind("pub:", 0) == 0) in_key = true;
    if (in_key && line.rfind("fpr:", 0) == 0) {
      last = line.substr(line.find_first_not_of(':', 3));
      last = last.substr(0, last.find(':'));
      in_key = false;
    }
  }
  if (last.empty()) throw std::runtime_error("generated key not found: " + uid);
  return last;
}

void test_keyring::revoke_key(const std::string& fingerprint) {
  std::string cert = read_file(home_ + "/openpgp-revocs.d/" + fingerprint + ".rev");
  // gpg stores the certificate with a leading ':' so it cannot be imported by accident.
  auto pos = cert.find(":-----BEGIN");
  if (pos == std::string::npos) throw std::runtime_error("revocation certificate not found");
  cert.erase(pos, 1);
  gpg({"--import"}, cert);
}

void test_keyring::add_uid(const std::string& fingerprint, const std::string& uid) {
  gpg({"--quick-add-uid", fingerprint, uid});
}

void test_keyring::revoke_uid(const std::string& fingerprint, const std::string& uid) {
  gpg({"--quick-revoke-uid", fingerprint, uid});
}

std::string test_keyring::export_public(const std::string& fingerprint) const {
  return gpg({"--armor", "--export", fingerprint});
}

void test_keyring::import(const std::string& armored) { gpg({"--import"}, armored); }

std::string test_keyring::encrypt_to(const std::string& fingerprint,
                                     const std::string& plaintext) const {
  return gpg({"--armor", "--trust-model", "always", "--encrypt", "-r", fingerprint}, plaintext);
}

std::string test_keyring::decrypt(const std::string& armored) const {
  return gpg({"--quiet", "--decrypt"}, armored);
}

std::string test_keyring::recipients_of(const std::string& armored) const {
  std::vector<std::string> argv = {
      "gpg",      "--homedir",    home_, "--batch", "--no-tty", "--list-packets", "--pinentry-mode",
      "loopback", "--passphrase", ""};
  process_result r = run_process(argv, armored);
  return r.out;
}

namespace {

std::unique_ptr<standard_keys> make_standard_keys() {
  auto k = std::make_unique<standard_keys>();
  auto& r = k->ring;
  k->alice = r.generate("Alice <alice@example.org>");
  k->malice = r.generate("Mallory <malice@example.org>");
  k->bob = r.generate("Bob <bob@example.org>");
  k->carol = r.generate("Carol <Carol.Mixed@Example.ORG>");
  k->dave =
      r.generate("Dave <dave@example.org>", "future-default", "default", "1d", "20200101T000000");
  k->erin = r.generate("Erin <erin@example.org>");
  r.revoke_key(k->erin);
  k->frank = r.generate("Frank <frank@example.org>", "ed25519", "sign", "never");
  k->gina = r.generate("Gina <gina@example.org>");
  r.add_uid(k->gina, "Gina <gina.new@example.org>");
  r.revoke_uid(k->gina, "Gina <gina@example.org>");
  k->henry1 = r.generate("Henry <henry@example.org>");
  k->henry2 = r.generate("Henry Work <henry@example.org>");
  return k;
}

// The fingerprint fields of standard_keys, by the names the saved file uses.
const std::pair<const char*, std::string standard_keys::*> key_fields[] = {
    {"alice", &standard_keys::alice},   {"malice", &standard_keys::malice},
    {"bob", &standard_keys::bob},       {"carol", &standard_keys::carol},
    {"dave", &standard_keys::dave},     {"erin", &standard_keys::erin},
    {"frank", &standard_keys::frank},   {"gina", &standard_keys::gina},
    {"henry1", &standard_keys::henry1}, {"henry2", &standard_keys::henry2},
};

const char* const fingerprints_file = "/gpgseal-test-fingerprints";

std::unique_ptr<standard_keys> load_standard_keys(const std::string& directory) {
  auto keys = std::make_unique<standard_keys>();
  keys->ring.copy_from(directory);
  std::istringstream lines(read_file(directory + fingerprints_file));
  for (std::string name, fingerprint; lines >> name >> fingerprint;) {
    for (const auto& [field, member] : key_fields) {
      if (name == field) (*keys).*member = fingerprint;
    }
  }
  std::filesystem::remove(keys->ring.home() + fingerprints_file);
  for (const auto& [field, member] : key_fields) {
    if (((*keys).*member).empty()) throw std::runtime_error("no saved key " + std::string(field));
  }
  return keys;
}

std::unique_ptr<standard_keys> standard_keys_for_this_process() {
  const char* saved = std::getenv("GPGSEAL_TEST_KEYS");
  if (saved && *saved && std::filesystem::exists(std::string(saved) + fingerprints_file)) {
    return load_standard_keys(saved);
  }
  return make_standard_keys();
}

std::unique_ptr<standard_keys>& storage() {
  static std::unique_ptr<standard_keys> keys;
  return keys;
}

// Removes the keyring (and stops its agent) when the test program ends.
class keyring_environment : public ::testing::Environment {
 public:
  void TearDown() override { storage().reset(); }
};

const auto* registered = ::testing::AddGlobalTestEnvironment(new keyring_environment);

}  // namespace

standard_keys& shared_keys() {
  if (!storage()) storage() = standard_keys_for_this_process();
  return *storage();
}

void save_standard_keys(const std::string& directory) {
  std::unique_ptr<standard_keys> keys = make_standard_keys();
  // Stop the agent first: its sockets are not part of a keyring.
  run_process({"gpgconf", "--homedir", keys->ring.home(), "--kill", "all"});
  std::filesystem::remove_all(directory);
  copy_keyring_files(keys->ring.home(), directory);
  std::string names;
  for (const auto& [field, member] : key_fields)
    names += std::string(field) + " " + (*keys).*member + "\n";
  write_file(directory + fingerprints_file, names);
}

}  // namespace gpgseal::test
