// Which keys the binary encrypts to: every address, exactly that address
// (case-insensitively, never a look-alike), and only keys that can encrypt.
// An address without a usable key passes the whole message through unchanged
// with a reason on stderr that names the address and the keyring.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_support.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

std::vector<std::string> colon_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string field; std::getline(in, field, ':');) fields.push_back(field);
  return fields;
}

// The long key ID of the encryption subkey of `fingerprint`, as
// `gpg --list-packets` prints it in a public-key encrypted session key packet.
std::string encryption_subkey_id(const std::string& fingerprint) {
  std::istringstream listing(run_checked({"gpg", "--homedir", shared_keys().ring.home(), "--batch",
                                          "--with-colons", "--list-keys", fingerprint}));
  for (std::string line; std::getline(listing, line);) {
    auto f = colon_fields(line);
    if (f.size() > 11 && f[0] == "sub" && f[11].find('e') != std::string::npos) return f[4];
  }
  ADD_FAILURE() << "no encryption subkey for " << fingerprint;
  return "no encryption subkey";
}

// The packet listing of the ciphertext the binary wrote for `addresses`.
std::string recipients_for(const std::vector<std::string>& addresses) {
  const std::string input = plain_message();
  process_result r = run_gpgseal(with_shared_ring(addresses), input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::string armored;
  EXPECT_TRUE(has_pgp_mime_structure(r.out, &armored));
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
  return shared_keys().ring.recipients_of(armored);
}

bool lists_key(const std::string& packets, const std::string& fingerprint) {
  return packets.find("keyid " + encryption_subkey_id(fingerprint)) != std::string::npos;
}

std::size_t session_key_packets(const std::string& packets) {
  std::size_t count = 0;
  for (auto pos = packets.find(":pubkey enc packet:"); pos != std::string::npos;
       pos = packets.find(":pubkey enc packet:", pos + 1)) {
    ++count;
  }
  return count;
}

TEST(CliRecipients, EncryptsToTheAddressKey) {
  std::string packets = recipients_for({"alice@example.org"});
  EXPECT_TRUE(lists_key(packets, shared_keys().alice)) << packets;
  EXPECT_EQ(session_key_packets(packets), 1u) << packets;
}

TEST(CliRecipients, SeveralAddressesGiveOneMessageForAll) {
  const auto& keys = shared_keys();
  std::string packets = recipients_for({"alice@example.org", "bob@example.org"});
  EXPECT_TRUE(lists_key(packets, keys.alice)) << packets;
  EXPECT_TRUE(lists_key(packets, keys.bob)) << packets;
  EXPECT_EQ(session_key_packets(packets), 2u) << packets;
}

TEST(CliRecipients, AddressCaseDoesNotMatter) {
  const auto& keys = shared_keys();
  std::string packets = recipients_for({"ALICE@EXAMPLE.ORG"});
  EXPECT_TRUE(lists_key(packets, keys.alice)) << packets;
  EXPECT_FALSE(lists_key(packets, keys.malice)) << packets;
}

TEST(CliRecipients, MixedCaseUserIdMatchesLowerCaseAddress) {
  std::string packets = recipients_for({"carol.mixed@example.org"});
  EXPECT_TRUE(lists_key(packets, shared_keys().carol)) << packets;
}

// "alice@example.org" is a substring of malice's user ID.
TEST(CliRecipients, NeverUsesLookAlikeKey) {
  const auto& keys = shared_keys();
  std::string packets = recipients_for({"alice@example.org"});
  EXPECT_FALSE(lists_key(packets, keys.malice)) << packets;
  packets = recipients_for({"malice@example.org"});
  EXPECT_TRUE(lists_key(packets, keys.malice)) << packets;
  EXPECT_FALSE(lists_key(packets, keys.alice)) << packets;
}

TEST(CliRecipients, ValidUserIdOfKeyWithRevokedOneMatches) {
  std::string packets = recipients_for({"gina.new@example.org"});
  EXPECT_TRUE(lists_key(packets, shared_keys().gina)) << packets;
}

// --domain completes a bare login (Debian's `userdb passwd` gives Dovecot the
// login, not the address); an address that has a domain is kept as it is.
TEST(CliRecipients, DomainCompletesABareLogin) {
  const auto& keys = shared_keys();
  std::string packets = recipients_for({"--domain", "example.org", "alice"});
  EXPECT_TRUE(lists_key(packets, keys.alice)) << packets;
  EXPECT_FALSE(lists_key(packets, keys.malice)) << packets;
  packets = recipients_for({"--domain", "example.net", "bob@example.org"});
  EXPECT_TRUE(lists_key(packets, keys.bob)) << packets;
  EXPECT_EQ(session_key_packets(packets), 1u) << packets;
}

// Without --domain a bare login is a usage error that says how to fix it,
// and a --domain that is not a mail domain is refused before any mail is read.
TEST(CliRecipients, BareLoginWithoutDomainAndABadDomainAreUsageErrors) {
  process_result r = run_gpgseal(with_shared_ring({"alice"}), plain_message());
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("a bare login needs --domain"), std::string::npos) << r.err;
  for (const std::string bad : {"alice@example.org", "exa mple.org"}) {
    r = run_gpgseal(with_shared_ring({"--domain", bad, "alice"}), plain_message());
    EXPECT_EQ(r.exit_code, 64) << bad;
    EXPECT_EQ(r.out, "") << bad;
    EXPECT_NE(r.err.find("--domain " + bad + ": not a mail domain"), std::string::npos) << r.err;
  }
}

struct no_key_case {
  std::string address;
  std::string reason;  // expected in stderr besides the address and keyring
};

void expect_passed_through_for_missing_key(const std::vector<std::string>& addresses,
                                           const no_key_case& missing) {
  SCOPED_TRACE("address " + missing.address);
  const std::string input = plain_message();
  // A missing key is policy, not an error: its reason is on stderr only with --log stderr.
  std::vector<std::string> args = {"--log", "stderr"};
  for (const auto& a : with_shared_ring(addresses)) args.push_back(a);
  process_result r = run_gpgseal(args, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find("no usable encryption key for <" + missing.address + ">"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(shared_keys().ring.home()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(missing.reason), std::string::npos) << r.err;
}

TEST(CliRecipients, AddressWithoutUsableKeyPassesThrough) {
  for (const no_key_case& c : std::vector<no_key_case>{{"nobody@example.org", ""},
                                                       {"dave@example.org", "expired"},
                                                       {"erin@example.org", "revoked"},
                                                       {"frank@example.org", ""},
                                                       {"gina@example.org", ""}}) {
    expect_passed_through_for_missing_key({c.address}, c);
  }
}

// Dovecot logs a filter's stderr at Error level; a user without a key is not one.
TEST(CliRecipients, MissingKeyIsQuietOnStderrByDefault) {
  const std::string input = plain_message();
  process_result r = run_gpgseal(with_shared_ring({"nobody@example.org"}), input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, input);
  EXPECT_EQ(r.err, "");
}

// All or nothing: a message that only some recipients could read would be
// lost to the others.
TEST(CliRecipients, OneAddressWithoutKeyPassesWholeMessageThrough) {
  expect_passed_through_for_missing_key({"alice@example.org", "nobody@example.org"},
                                        {"nobody@example.org", ""});
  expect_passed_through_for_missing_key({"dave@example.org", "bob@example.org"},
                                        {"dave@example.org", "expired"});
}

}  // namespace
}  // namespace gpgseal::test::cli
