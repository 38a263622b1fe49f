// gpgseal-server report for S/MIME users (virtual users, --home-template):
// the line names the protocol, certificate and expiry the filter would use,
// and the exit status counts certificates as it counts OpenPGP keys; a user
// with both kinds is reported by --prefer. The OpenPGP side is run by
// tests/e2e/server_virtual_run.sh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "cli/cli_support.hpp"
#include "support/smime_certs.hpp"

namespace gpgseal::test::cli {
namespace {

namespace fs = std::filesystem;

constexpr unsigned user_uid = 4242;  // owns the virtual users' tree, as vmail would

// One virtual user, alice@example.org, whose keyring (--gnupghome) holds
// the certificate NAME (imported with gpgseal-import-cert, or raw with
// Bob's CA for one it refuses); home and keyring owned by user_uid.
class virtual_user {
 public:
  explicit virtual_user(const std::string& name, bool raw = false) {
    if (raw) {
      ring_.import_cert("bob@example.org", "bob-ca");
      ring_.import_raw(name);
    } else {
      ring_.import_cert("alice@example.org", name);
    }
    run_process({"gpgconf", "--homedir", ring_.home(), "--kill", "all"});
    fs::permissions(root_.path(), fs::perms(0755));
    for (const char* sub : {"cur", "new", "tmp"}) {
      fs::create_directories(root_ / "example.org/alice/Maildir/" + sub);
    }
    write_file(message_path(), plain_message());
    give_to_user();
  }
  ~virtual_user() {
    process_options as_user;
    as_user.run_as_uid = user_uid;
    run_process({"gpgconf", "--homedir", ring_.home(), "--kill", "all"}, "", as_user);
  }
  virtual_user(const virtual_user&) = delete;
  virtual_user& operator=(const virtual_user&) = delete;

  // Alice's OpenPGP key (the shared test key) beside her certificate.
  void add_openpgp_key() {
    run_checked({"gpg", "--homedir", ring_.home(), "--batch", "--quiet", "--import"},
                shared_keys().ring.export_public(shared_keys().alice));
    give_to_user();
  }

  process_result report(const std::string& warn_days, const std::string& prefer = "smime") const {
    return run({"report", "--warn-days", warn_days}, prefer);
  }
  process_result run(std::vector<std::string> args, const std::string& prefer = "smime") const {
    args.insert(args.begin(), runnable_by_anyone(GPGSEAL_SERVER_BINARY));
    for (const std::string& arg :
         {std::string("--home-template"), root_ / "%d/%n", std::string("--gnupghome"), ring_.home(),
          std::string("--prefer"), prefer}) {
      args.push_back(arg);
    }
    return run_process(args);
  }
  // The one stored message, a plain_message() until encrypted.
  std::string message_path() const {
    return root_ / "example.org/alice/Maildir/cur/1.M1P1.host:2,S";
  }

 private:
  void give_to_user() {
    for (const std::string& dir : {ring_.home(), root_ / "example.org"}) {
      ::chown(dir.c_str(), user_uid, user_uid);
      for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        ::lchown(entry.path().c_str(), user_uid, user_uid);
      }
    }
  }

  smime_keyring ring_;
  scratch_dir root_;
};

TEST(ServerReport, CertificateOnlyUserIsEncryptedWithSmime) {
  if (::geteuid() != 0) GTEST_SKIP() << "gpgseal-server runs as root";
  virtual_user alice("alice-ca");
  process_result r = alice.report("14");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("<alice@example.org>: encrypted with S/MIME to certificate 0x" +
                       cert_fingerprint("alice-ca") + ", expires "),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("WARNING"), std::string::npos) << r.out;
}

// The user the report calls encrypted is the one encrypt seals for.
TEST(ServerReport, CertificateOnlyUserIsEncryptedBySmimeByEncryptToo) {
  if (::geteuid() != 0) GTEST_SKIP() << "gpgseal-server runs as root";
  virtual_user alice("alice-ca");
  process_result r = alice.run({"encrypt"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string sealed;
  for (const auto& entry : fs::directory_iterator(fs::path(alice.message_path()).parent_path())) {
    sealed = read_file(entry.path());
  }
  EXPECT_TRUE(smime_round_trips(plain_message(), sealed, "alice-ca")) << r.out;
}

// Alice holds both kinds: the report names the one the filter would use,
// as --prefer chooses.
TEST(ServerReport, UserWithBothKindsIsReportedByThePreference) {
  if (::geteuid() != 0) GTEST_SKIP() << "gpgseal-server runs as root";
  virtual_user alice("alice-ca");
  alice.add_openpgp_key();
  process_result smime = alice.report("14", "smime");
  EXPECT_EQ(smime.exit_code, 0) << smime.out << smime.err;
  EXPECT_NE(smime.out.find("<alice@example.org>: encrypted with S/MIME to certificate 0x" +
                           cert_fingerprint("alice-ca")),
            std::string::npos)
      << smime.out;
  process_result openpgp = alice.report("14", "openpgp");
  EXPECT_EQ(openpgp.exit_code, 0) << openpgp.out << openpgp.err;
  EXPECT_NE(openpgp.out.find("<alice@example.org>: encrypted to 0x" + shared_keys().alice),
            std::string::npos)
      << openpgp.out;
  EXPECT_EQ(openpgp.out.find("S/MIME"), std::string::npos) << openpgp.out;
}

TEST(ServerReport, CertificateExpiringWithinTheWindowExitsOne) {
  if (::geteuid() != 0) GTEST_SKIP() << "gpgseal-server runs as root";
  virtual_user alice("alice-ca");  // valid for ten years
  process_result r = alice.report("4000");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("<alice@example.org>: WARNING: certificate expires soon: encrypted with "
                       "S/MIME to certificate 0x" +
                       cert_fingerprint("alice-ca")),
            std::string::npos)
      << r.out;
}

TEST(ServerReport, ExpiredCertificateIsNeverSilent) {
  if (::geteuid() != 0) GTEST_SKIP() << "gpgseal-server runs as root";
  virtual_user alice("alice-expired", true);
  process_result r = alice.report("14");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("<alice@example.org>: NOT ENCRYPTED: no usable S/MIME certificate for "
                       "<alice@example.org>"),
            std::string::npos)
      << r.out;
  EXPECT_NE(
      r.out.find("certificate 0x" + cert_fingerprint("alice-expired") + " expired 2020-01-02"),
      std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace gpgseal::test::cli
