// A throwaway GnuPG home (fresh 0700 temp dir) with keys generated at test
// time, driven through the real gpg binary. The keys are INSECURE test keys
// without passphrase; they live only as long as the fixture.
#pragma once

#include <string>
#include <vector>

namespace gpgseal::test {

class test_keyring {
 public:
  test_keyring();
  ~test_keyring();
  test_keyring(const test_keyring&) = delete;
  test_keyring& operator=(const test_keyring&) = delete;

  const std::string& home() const noexcept { return home_; }

  // Copies the files and folders of another keyring directory (sockets
  // aside) into this one: a keyring made once serves many test processes.
  void copy_from(const std::string& directory);

  // Returns the new key's fingerprint. `faked_time` (gpg's ISO form, e.g.
  // "20200101T000000") creates the key in the past, for expired keys.
  std::string generate(const std::string& uid, const std::string& algo = "future-default",
                       const std::string& usage = "default", const std::string& expire = "never",
                       const std::string& faked_time = "");
  void revoke_key(const std::string& fingerprint);
  void add_uid(const std::string& fingerprint, const std::string& uid);
  void revoke_uid(const std::string& fingerprint, const std::string& uid);

  std::string export_public(const std::string& fingerprint) const;
  void import(const std::string& armored);

  // Encrypts with the gpg binary (armored), to build already-encrypted inputs.
  std::string encrypt_to(const std::string& fingerprint, const std::string& plaintext) const;
  // Decrypts with the gpg binary; throws std::runtime_error on failure.
  std::string decrypt(const std::string& armored) const;
  // The fingerprints a message was encrypted to, as gpg reports them.
  std::string recipients_of(const std::string& armored) const;

 private:
  std::string gpg(const std::vector<std::string>& args, const std::string& input = "") const;
  std::string home_;
};

// Sets the times of every file directly in `home` a minute back. gpgseal
// remembers key choices only from a keyring not written in the last seconds
// (key_cache.hpp); a keyring a test has just made is aged past that.
void age_keyring(const std::string& home);

// Keys every unit test can use, generated once per test program.
struct standard_keys {
  test_keyring ring;
  std::string alice;   // alice@example.org
  std::string malice;  // malice@example.org: the look-alike a substring match would pick
  std::string bob;     // bob@example.org
  std::string carol;   // user ID written Carol.Mixed@Example.ORG
  std::string dave;    // dave@example.org, expired in 2020
  std::string erin;    // erin@example.org, revoked
  std::string frank;   // frank@example.org, sign-only
  std::string gina;    // gina@example.org user ID revoked; gina.new@example.org valid
  std::string henry1;  // henry@example.org, first of two valid keys
  std::string henry2;  // henry@example.org, second
};

// The standard keys: copied from the directory $GPGSEAL_TEST_KEYS names, when
// it holds a saved set (ctest makes one before the tests, so that each test
// process need not generate eleven keys), else generated.
standard_keys& shared_keys();

// The public half of the shared keyring in a directory of its own, so that
// the gpg processes working on it can be told apart by their arguments.
void copy_public_keyring(const std::string& to);

// A keyring on which every gpg hangs, however fast the machine: its keybox is
// a FIFO nobody writes, so gpg blocks in open(2) for ever. A real hang, with
// no test-only hook in gpgseal.
void make_hanging_keyring(const std::string& to);

// Generates the standard keys and saves them in `directory` (created), with a
// file naming each fingerprint.
void save_standard_keys(const std::string& directory);

}  // namespace gpgseal::test
