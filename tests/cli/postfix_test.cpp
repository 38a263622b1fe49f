// gpgseal-postfix, the real binary, with a sendmail stub that records each
// reinjection (its arguments and the copy on its stdin) and can be told to
// fail a given call: one copy per keyed recipient, encrypted to that
// recipient only; one unchanged copy for the rest; local domains and
// gateway mode; the reinjection journal after a failure part-way; and exit
// 75 with nothing reinjected for every failure, usage errors included.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cli/cli_support.hpp"
#include "support/mail_check.hpp"
#include "support/smime_certs.hpp"

namespace gpgseal::test::cli {
namespace {

namespace fs = std::filesystem;

const std::string postfix_binary = GPGSEAL_POSTFIX_BINARY;
constexpr int tempfail = 75;

// Alice's and Bob's secret keys each in a keyring of their own (their mail
// clients), and a server keyring with both public keys (Lacre's layout).
struct separate_keys {
  test_keyring alice_client;
  test_keyring bob_client;
  test_keyring server;
  separate_keys() {
    server.import(alice_client.export_public(alice_client.generate("Alice <alice@example.org>")));
    server.import(bob_client.export_public(bob_client.generate("Bob <bob@example.org>")));
    age_keyring(server.home());
  }
};

separate_keys& keys() {
  static separate_keys instance;
  return instance;
}

struct reinjection {
  std::vector<std::string> args;  // after the program name
  std::string message;
};

// A sendmail that records call N as args.N and mail.N, and exits 75
// without reading its input for a call N that fail(N) named.
class sendmail_stub {
 public:
  sendmail_stub() {
    write_file(dir_ / "sendmail",
               "#!/bin/bash\n"
               "dir='" +
                   dir_.path() +
                   "'\n"
                   "n=$(( $(find \"$dir\" -maxdepth 1 -name 'args.*' | wc -l) + 1 ))\n"
                   "printf '%s\\n' \"$@\" >\"$dir/args.$n\"\n"
                   "[[ -e $dir/fail.$n ]] && { echo \"stub: call $n fails\" >&2; exit 75; }\n"
                   "cat >\"$dir/mail.$n\"\n");
    fs::permissions(dir_ / "sendmail", fs::perms(0755));
  }
  [[nodiscard]] std::string path() const { return dir_ / "sendmail"; }
  void fail(int call) const { write_file(dir_ / ("fail." + std::to_string(call)), ""); }

  // The calls that queued a copy, in order.
  [[nodiscard]] std::vector<reinjection> queued() const {
    std::vector<reinjection> calls;
    for (int n = 1; fs::exists(dir_ / ("args." + std::to_string(n))); ++n) {
      std::string mail = dir_ / ("mail." + std::to_string(n));
      if (!fs::exists(mail)) continue;
      reinjection call{lines_of(read_file(dir_ / ("args." + std::to_string(n)))), read_file(mail)};
      calls.push_back(call);
    }
    return calls;
  }

 private:
  static std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::string::size_type start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
      lines.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }
  scratch_dir dir_;
};

std::vector<std::string> args_for(const std::vector<std::string>& recipients,
                                  const std::string& state_dir, const sendmail_stub& sendmail,
                                  std::vector<std::string> extra = {"--local-domain",
                                                                    "example.org"}) {
  std::vector<std::string> args = {"--gnupghome", keys().server.home(), "--state-dir",
                                   state_dir,     "--queue-id",         "4F2A91C03B",
                                   "--sendmail",  sendmail.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {"-f", "sender@example.net", "--"});
  args.insert(args.end(), recipients.begin(), recipients.end());
  return args;
}

// `args` (from args_for) with the keyring template `rings`/%d/%n, each local
// part's keyring linked there under example.org.
std::vector<std::string> with_keyring_template(
    std::vector<std::string> args, const scratch_dir& rings,
    const std::vector<std::pair<std::string, std::string>>& keyrings) {
  fs::create_directory(rings / "example.org");
  for (const auto& [local, home] : keyrings) {
    fs::create_directory_symlink(home, rings / ("example.org/" + local));
  }
  args[1] = rings / "%d/%n";
  return args;
}

process_result run_postfix(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {postfix_binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, input);
}

std::vector<std::string> sendmail_args(const std::vector<std::string>& recipients,
                                       const std::string& sender = "sender@example.net") {
  std::vector<std::string> args = {"-G", "-i", "-f", sender, "--"};
  args.insert(args.end(), recipients.begin(), recipients.end());
  return args;
}

// How many queued copies went to `recipient`.
std::size_t copies_for(const std::vector<reinjection>& calls, const std::string& recipient) {
  std::size_t count = 0;
  for (const auto& call : calls) count += std::count(call.args.begin(), call.args.end(), recipient);
  return count;
}

::testing::AssertionResult only_decrypts_for(const std::string& input, const std::string& copy,
                                             const test_keyring& owner, const test_keyring& other) {
  auto result = round_trips(input, copy, owner);
  if (!result) return result;
  std::string armored;
  if (!has_pgp_mime_structure(copy, &armored))
    return ::testing::AssertionFailure() << "no PGP/MIME";
  try {
    other.decrypt(armored);
  } catch (const std::runtime_error&) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "another recipient's key decrypts the copy";
}

TEST(CliPostfix, OneEncryptedCopyPerKeyedRecipientAndOneUnchangedForTheRest) {
  sendmail_stub sendmail;
  scratch_dir state;
  const std::string input = plain_message();
  process_result r =
      run_postfix(args_for({"alice@example.org", "bob@example.org", "nokey@example.org"},
                           state.path(), sendmail),
                  input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  auto calls = sendmail.queued();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].args, sendmail_args({"alice@example.org"}));
  EXPECT_TRUE(only_decrypts_for(input, calls[0].message, keys().alice_client, keys().bob_client));
  EXPECT_EQ(calls[1].args, sendmail_args({"bob@example.org"}));
  EXPECT_TRUE(only_decrypts_for(input, calls[1].message, keys().bob_client, keys().alice_client));
  EXPECT_EQ(calls[2].args, sendmail_args({"nokey@example.org"}));
  EXPECT_EQ(calls[2].message, input);
  EXPECT_TRUE(entries_of(state.path()).empty());
}

// The second of three copies cannot be queued: defer; the retry queues only
// the two missing copies, so each recipient has exactly one.
TEST(CliPostfix, FailedReinjectionPartWayDefersAndTheRetryQueuesOnlyWhatIsMissing) {
  sendmail_stub sendmail;
  scratch_dir state;
  const std::string input = plain_message();
  const std::vector<std::string> recipients = {"alice@example.org", "bob@example.org",
                                               "nokey@example.org"};
  sendmail.fail(2);
  process_result first = run_postfix(args_for(recipients, state.path(), sendmail), input);
  EXPECT_EQ(first.exit_code, tempfail);
  EXPECT_NE(first.err.find("stub: call 2 fails"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("1 copies already queued"), std::string::npos) << first.err;
  ASSERT_EQ(sendmail.queued().size(), 1u);
  EXPECT_EQ(entries_of(state.path()).size(), 1u);

  process_result retry = run_postfix(args_for(recipients, state.path(), sendmail), input);
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  auto calls = sendmail.queued();
  ASSERT_EQ(calls.size(), 3u);
  for (const auto& recipient : recipients) EXPECT_EQ(copies_for(calls, recipient), 1u) << recipient;
  EXPECT_TRUE(only_decrypts_for(input, calls[1].message, keys().bob_client, keys().alice_client));
  EXPECT_EQ(calls[2].message, input);
  EXPECT_TRUE(entries_of(state.path()).empty());
}

// A record counts only for the same message: a reused queue ID with other
// bytes gets every copy.
TEST(CliPostfix, JournalOfAnotherMessageWithTheSameQueueIdCountsForNothing) {
  sendmail_stub sendmail;
  scratch_dir state;
  const std::vector<std::string> recipients = {"alice@example.org", "bob@example.org"};
  sendmail.fail(2);
  EXPECT_EQ(run_postfix(args_for(recipients, state.path(), sendmail), plain_message()).exit_code,
            tempfail);
  const std::string other = plain_message() + "Another line makes it another message.\n";
  process_result r = run_postfix(args_for(recipients, state.path(), sendmail), other);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto calls = sendmail.queued();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_TRUE(round_trips(other, calls[1].message, keys().alice_client));
  EXPECT_TRUE(round_trips(other, calls[2].message, keys().bob_client));
}

// The per-recipient template of gpgseal: Alice's keyring holds her key,
// Bob's is empty, so only Alice's copy is encrypted.
TEST(CliPostfix, KeyringTemplateIsExpandedForEachRecipient) {
  sendmail_stub sendmail;
  scratch_dir state;
  scratch_dir rings;
  test_keyring alice_ring;
  alice_ring.import(keys().alice_client.export_public("alice@example.org"));
  scratch_dir bob_ring;
  std::vector<std::string> args = with_keyring_template(
      args_for({"alice@example.org", "bob@example.org"}, state.path(), sendmail), rings,
      {{"alice", alice_ring.home()}, {"bob", bob_ring.path()}});
  const std::string input = plain_message();
  process_result r = run_postfix(args, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto calls = sendmail.queued();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].args, sendmail_args({"alice@example.org"}));
  EXPECT_TRUE(round_trips(input, calls[0].message, keys().alice_client));
  EXPECT_EQ(calls[1].args, sendmail_args({"bob@example.org"}));
  EXPECT_EQ(calls[1].message, input);
}

// One process, two copies: Bob's keyring (OpenPGP only) comes first. Once,
// it decided for the whole process that gpgsm was never needed, and Alice's
// copy (her keyring holds a certificate) went out unchanged.
TEST(CliPostfix, OpenpgpCopyFirstThenAnSmimeCopyAreBothSealed) {
  sendmail_stub sendmail;
  scratch_dir state;
  scratch_dir rings;
  test_keyring bob_ring;
  bob_ring.import(keys().bob_client.export_public("bob@example.org"));
  smime_keyring alice_ring;
  alice_ring.import_cert("alice@example.org", "alice-ca");
  std::vector<std::string> args = with_keyring_template(
      args_for({"bob@example.org", "alice@example.org"}, state.path(), sendmail), rings,
      {{"bob", bob_ring.home()}, {"alice", alice_ring.home()}});
  const std::string input = plain_message();
  process_result r = run_postfix(args, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto calls = sendmail.queued();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].args, sendmail_args({"bob@example.org"}));
  EXPECT_TRUE(round_trips(input, calls[0].message, keys().bob_client));
  EXPECT_EQ(calls[1].args, sendmail_args({"alice@example.org"}));
  EXPECT_TRUE(smime_round_trips(input, calls[1].message, "alice-ca")) << r.err;
}

TEST(CliPostfix, RecipientOutsideTheLocalDomainsIsNotEncrypted) {
  sendmail_stub sendmail;
  scratch_dir state;
  const std::string input = plain_message();
  process_result r =
      run_postfix(args_for({"alice@example.org", "bob@example.org"}, state.path(), sendmail,
                           {"--local-domain", "Example.NET", "--log", "stderr"}),
                  input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto calls = sendmail.queued();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].args, sendmail_args({"alice@example.org", "bob@example.org"}));
  EXPECT_EQ(calls[0].message, input);
  EXPECT_NE(r.err.find("<alice@example.org> passed through UNENCRYPTED: the recipient is not in a "
                       "local domain"),
            std::string::npos)
      << r.err;
}

TEST(CliPostfix, GatewayEncryptsForEveryRecipientWithAKey) {
  sendmail_stub sendmail;
  scratch_dir state;
  const std::string input = plain_message();
  process_result r =
      run_postfix(args_for({"alice@example.org"}, state.path(), sendmail, {"--gateway"}), input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto calls = sendmail.queued();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(round_trips(input, calls[0].message, keys().alice_client));
}

TEST(CliPostfix, LocalDomainMatchesTheWholeDomainOnly) {
  sendmail_stub sendmail;
  scratch_dir state;
  const std::string input = plain_message();
  process_result r = run_postfix(
      args_for({"alice@example.org"}, state.path(), sendmail, {"--local-domain", "ample.org"}),
      input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(sendmail.queued().size(), 1u);
  EXPECT_EQ(sendmail.queued()[0].message, input);
}

TEST(CliPostfix, AlreadyEncryptedMailIsOneUnchangedCopy) {
  sendmail_stub sendmail;
  scratch_dir state;
  process_result encrypted =
      run_postfix(args_for({"alice@example.org"}, state.path(), sendmail), plain_message());
  ASSERT_EQ(encrypted.exit_code, 0) << encrypted.err;
  const std::string input = sendmail.queued().at(0).message;
  sendmail_stub again;
  process_result r =
      run_postfix(args_for({"alice@example.org", "bob@example.org"}, state.path(), again), input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(again.queued().size(), 1u);
  EXPECT_EQ(again.queued()[0].message, input);
}

TEST(CliPostfix, RepeatedRecipientGetsOneCopy) {
  sendmail_stub sendmail;
  scratch_dir state;
  process_result r =
      run_postfix(args_for({"alice@example.org", "alice@example.org"}, state.path(), sendmail),
                  plain_message());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(copies_for(sendmail.queued(), "alice@example.org"), 1u);
}

// pipe(8) passes a bounce's empty sender as an empty argument, and a sender
// that looks like an option stays the sender.
TEST(CliPostfix, SenderIsPassedOnAsGiven) {
  for (const std::string sender : {"", "-oi@example.net"}) {
    sendmail_stub sendmail;
    scratch_dir state;
    std::vector<std::string> args = args_for({"nokey@example.org"}, state.path(), sendmail);
    *std::find(args.begin(), args.end(), "sender@example.net") = sender;
    process_result r = run_postfix(args, plain_message());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(sendmail.queued().size(), 1u);
    EXPECT_EQ(sendmail.queued()[0].args, sendmail_args({"nokey@example.org"}, sender));
  }
}

void expect_deferred_with_nothing_queued(const process_result& r, const sendmail_stub& sendmail,
                                         const std::string& named_in_stderr) {
  EXPECT_EQ(r.exit_code, tempfail) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(sendmail.queued().empty());
  EXPECT_NE(r.err.find(named_in_stderr), std::string::npos) << r.err;
}

// Checked as strictly as a user's keyring: a shared keyring others can write
// to could hold keys someone planted.
TEST(CliPostfix, SharedKeyringWritableByGroupDefers) {
  sendmail_stub sendmail;
  scratch_dir state;
  scratch_dir ring;
  fs::permissions(ring.path(), fs::perms(0770));
  std::vector<std::string> args = args_for({"alice@example.org"}, state.path(), sendmail);
  args[1] = ring.path();
  expect_deferred_with_nothing_queued(run_postfix(args, plain_message()), sendmail, ring.path());
}

// With a template, a recipient without a keyring directory is an error, not
// a missing key: under the default --on-error fail the delivery waits.
TEST(CliPostfix, MissingTemplateDirectoryDefers) {
  sendmail_stub sendmail;
  scratch_dir state;
  scratch_dir rings;
  std::vector<std::string> args = args_for({"alice@example.org"}, state.path(), sendmail);
  args[1] = rings / "%d/%n";
  expect_deferred_with_nothing_queued(run_postfix(args, plain_message()), sendmail,
                                      rings / "example.org/alice");
}

TEST(CliPostfix, StateDirWritableByOthersDefers) {
  sendmail_stub sendmail;
  scratch_dir state;
  fs::permissions(state.path(), fs::perms(0777));
  expect_deferred_with_nothing_queued(
      run_postfix(args_for({"alice@example.org"}, state.path(), sendmail), plain_message()),
      sendmail, "writable by group or others");
}

TEST(CliPostfix, MissingSendmailDefers) {
  sendmail_stub sendmail;
  scratch_dir state;
  std::vector<std::string> args = args_for({"nokey@example.org"}, state.path(), sendmail);
  *std::find(args.begin(), args.end(), sendmail.path()) = "/nonexistent/sendmail";
  expect_deferred_with_nothing_queued(run_postfix(args, plain_message()), sendmail,
                                      "cannot run /nonexistent/sendmail");
}

std::vector<std::string> with_queue_id(const std::string& id, std::vector<std::string> args) {
  *std::find(args.begin(), args.end(), "4F2A91C03B") = id;
  return args;
}

// Postfix bounces on EX_USAGE: a typo in master.cf must defer instead.
TEST(CliPostfix, UsageErrorsDeferRatherThanBounce) {
  sendmail_stub sendmail;
  scratch_dir state;
  struct usage_case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<usage_case> cases = {
      {args_for({"alice@example.org"}, state.path(), sendmail, {}), "--local-domain"},
      {args_for({}, state.path(), sendmail), "no RECIPIENT"},
      {{"--gateway", "--state-dir", state.path(), "--queue-id", "A1", "--", "a@example.org"},
       "--sender is required"},
      {with_queue_id("../x", args_for({"alice@example.org"}, state.path(), sendmail)),
       "--queue-id ../x"},
      {args_for({"alice@example.org"}, state.path(), sendmail, {"--local-domain", "a b"}),
       "--local-domain 'a b'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    expect_deferred_with_nothing_queued(run_postfix(c.args, plain_message()), sendmail, c.message);
  }
}

TEST(CliPostfix, HelpNamesTheInvocation) {
  process_result r = run_postfix({"--help"}, "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Usage: gpgseal-postfix [OPTIONS] -f SENDER -- RECIPIENT..."),
            std::string::npos);
  EXPECT_NE(r.out.find("--on-error pass|fail (=fail)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace gpgseal::test::cli
