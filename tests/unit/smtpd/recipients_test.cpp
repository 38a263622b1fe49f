// gpgseal-smtpd's one message for many recipients (src/cli/smtpd/recipients.hpp
// and README "One message, many recipients"): the recipients smtpd reported
// for a transaction, checked and sealed the way the filter does it, with the
// standard test keys and the real gpg.
#include "cli/smtpd/recipients.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/common/usage.hpp"
#include "cli/smtpd/sessions.hpp"
#include "support/mail_check.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal::smtpd {
namespace {

using test::shared_keys;

const std::string message =
    "From: <sender@example.com>\nTo: <alice@example.org>, <bob@example.org>\n"
    "Subject: for two\n\nthe body both of them must be able to read\n";

cli::shared_options with_ring(const std::string& home) {
  cli::shared_options options;
  options.gnupg_home = home;
  return options;
}

// The recipients smtpd reports, collected as the filter's session table does.
std::vector<std::string> transaction(const std::vector<std::string>& rcpts) {
  session_table table("/tmp");
  table.begin("s");
  for (const auto& r : rcpts) table.add_recipient("s", r);
  return table.data_line("s", "t", ".")->recipients;
}

// What the filter does with a message it may seal: the core, with the
// settings and policy its options give for all the recipients.
test::core_run seal_for(const std::vector<std::string>& recipients,
                        const cli::shared_options& options) {
  test::filter_options o;
  static_cast<seal_settings&>(o) = cli::settings_for(options, recipients);
  static_cast<failure_policy&>(o) = cli::policy_for(options);
  return test::run_core(message, o);
}

TEST(SmtpdRecipients, AllKeyedMeansOneEncryptionToAllTheirKeys) {
  auto recipients = transaction({"alice@example.org", "bob@example.org", "alice@example.org"});
  auto options = with_ring(shared_keys().ring.home());
  auto verdict = check_recipients(recipients, {"example.org"}, options);
  ASSERT_TRUE(verdict.sealable) << verdict.why;
  auto run = seal_for(recipients, options);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  auto fprs = run.outcome.fingerprints;
  std::sort(fprs.begin(), fprs.end());
  auto expected = std::vector<std::string>{shared_keys().alice, shared_keys().bob};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(fprs, expected);
  std::string armored;
  ASSERT_TRUE(test::has_pgp_mime_structure(run.output, &armored));
  // One ciphertext with a session key for each of the two keys.
  std::string packets = shared_keys().ring.recipients_of(armored);
  std::size_t session_keys = 0;
  for (auto at = packets.find(":pubkey enc packet:"); at != std::string::npos;
       at = packets.find(":pubkey enc packet:", at + 1)) {
    ++session_keys;
  }
  EXPECT_EQ(session_keys, 2U) << packets;
  EXPECT_TRUE(test::round_trips(message, run.output, shared_keys().ring));
}

// Documented: a recipient without a usable key makes the whole message go on
// unchanged to everybody (--on-missing-key pass), or be refused (fail, a 451
// at the commit phase); never sealed to the keyed ones only.
TEST(SmtpdRecipients, OneUnkeyedRecipientPassesTheMessageUnchangedToAll) {
  auto recipients = transaction({"alice@example.org", "nobody@example.org"});
  auto options = with_ring(shared_keys().ring.home());
  ASSERT_TRUE(check_recipients(recipients, {"example.org"}, options).sealable);
  auto run = seal_for(recipients, options);
  EXPECT_EQ(run.outcome.action, filter_action::passed_through);
  EXPECT_EQ(run.output, message);
  EXPECT_NE(run.outcome.detail.find("nobody@example.org"), std::string::npos) << run.outcome.detail;

  options.on_missing_key = on_failure::fail;
  run = seal_for(recipients, options);
  EXPECT_EQ(run.outcome.action, filter_action::failed);
  EXPECT_EQ(run.output.find("BEGIN PGP MESSAGE"), std::string::npos);
}

TEST(SmtpdRecipients, ARecipientOutsideTheLocalDomainsIsNotSealedFor) {
  auto options = with_ring(shared_keys().ring.home());
  auto verdict =
      check_recipients({"alice@example.org", "someone@example.net"}, {"example.org"}, options);
  EXPECT_FALSE(verdict.sealable);
  EXPECT_NE(verdict.why.find("<someone@example.net> is not in a --local-domain"), std::string::npos)
      << verdict.why;
  // Domains compare without case; no --local-domain means any domain.
  std::vector<std::string> domains = {"Example.ORG"};
  check_domains(domains);
  EXPECT_TRUE(check_recipients({"alice@EXAMPLE.org"}, domains, options).sealable);
  EXPECT_TRUE(check_recipients({"someone@example.net"}, {}, options).sealable);
  EXPECT_FALSE(check_recipients({}, {}, options).sealable);
}

TEST(SmtpdRecipients, SeparateKeyringsOfATemplateAreNeverMixed) {
  auto per_user = with_ring("/var/lib/gpgseal/%d/%n");
  auto verdict = check_recipients({"alice@example.org", "bob@example.org"}, {}, per_user);
  EXPECT_FALSE(verdict.sealable);
  EXPECT_NE(verdict.why.find("separate keyrings"), std::string::npos) << verdict.why;
  // One recipient, or recipients that share the template's expansion, are fine.
  EXPECT_TRUE(check_recipients({"alice@example.org"}, {}, per_user).sealable);
  auto per_domain = with_ring("/var/lib/gpgseal/%d");
  EXPECT_TRUE(check_recipients({"alice@example.org", "bob@example.org"}, {}, per_domain).sealable);
  EXPECT_FALSE(check_recipients({"alice@example.org", "bob@example.net"}, {}, per_domain).sealable);
}

TEST(SmtpdRecipients, ABadLocalDomainIsAUsageError) {
  std::vector<std::string> domains = {"exa mple.org"};
  EXPECT_THROW(check_domains(domains), cli::usage_error);
}

// A second transaction of one session starts without the first's recipients.
TEST(SmtpdSessions, ANewTransactionForgetsTheLastOnesRecipients) {
  session_table table("/tmp");
  table.begin("s");
  table.add_recipient("s", "alice@example.org");
  ASSERT_TRUE(table.data_line("s", "t1", "."));
  table.begin("s");
  table.add_recipient("s", "bob@example.org");
  auto m = table.data_line("s", "t2", ".");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->recipients, std::vector<std::string>{"bob@example.org"});
}

}  // namespace
}  // namespace gpgseal::smtpd
