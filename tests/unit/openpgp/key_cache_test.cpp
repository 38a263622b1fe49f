// Remembered key choices: used while the keyring is unchanged, dropped as soon
// as it changes, a key expires or an hour passes, and never read from a file
// someone else could have written. A remembered key gpg refuses means a fresh
// listing, not a message in clear.
#include "core/openpgp/key_cache.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <future>

#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using namespace std::chrono_literals;
using test::filter_options;

std::int64_t now() { return std::time(nullptr); }

key_selection selection_of(const std::vector<std::string>& fingerprints,
                           std::int64_t usable_until = 0) {
  key_selection selection;
  for (const auto& fpr : fingerprints) selection.keys.push_back({fpr, usable_until});
  return selection;
}

std::vector<std::string> fingerprints_of(const std::optional<std::vector<recipient_key>>& keys) {
  std::vector<std::string> out;
  if (keys) {
    for (const auto& key : *keys) out.push_back(key.fingerprint);
  }
  return out;
}

// A keyring of its own, since these tests change it.
struct own_ring {
  test::test_keyring ring;
  std::string alice = ring.generate("Alice <alice@example.org>");
  std::string bob = ring.generate("Bob <bob@example.org>");

  own_ring() { test::age_keyring(ring.home()); }
  [[nodiscard]] std::string cache_file() const { return ring.home() + "/" + key_cache_file_name; }
  void remember(const std::vector<std::string>& addresses,
                const std::vector<std::string>& fingerprints, std::int64_t usable_until = 0) {
    remember_keys(ring.home(), observe_keyring(ring.home()), addresses,
                  selection_of(fingerprints, usable_until), now());
  }
  [[nodiscard]] std::optional<std::vector<recipient_key>> recall(
      const std::vector<std::string>& addresses, std::int64_t at = now()) const {
    return recall_keys(ring.home(), addresses, at);
  }
};

const std::string fpr_a(40, 'A');
const std::string fpr_b(64, '0');

TEST(KeyCache, FormatAndParseRoundTrip) {
  key_cache cache{"file pubring.kbx 1 2 3 4.5 6.7\nfile gpg.conf absent\n",
                  {{{"alice@example.org"}, {fpr_a}, 1700000000},
                   {{"a@x.org", "B@Y.org"}, {fpr_a, fpr_b}, 1800000000}}};
  auto parsed = parse_key_cache(format_key_cache(cache));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->keyring_state, cache.keyring_state);
  ASSERT_EQ(parsed->entries.size(), 2u);
  EXPECT_EQ(parsed->entries[1].addresses, cache.entries[1].addresses);
  EXPECT_EQ(parsed->entries[1].fingerprints, cache.entries[1].fingerprints);
  EXPECT_EQ(parsed->entries[1].valid_until, 1800000000);
}

TEST(KeyCache, ParseRefusesAnythingElse) {
  const std::string head = "gpgseal key cache 1\nfile pubring.kbx 1 2 3 4.5 6.7\n";
  const std::string good = head + "entry 17 1 a@x.org " + fpr_a + "\nend\n";
  ASSERT_TRUE(parse_key_cache(good));
  for (const std::string& bad : std::vector<std::string>{
           "",
           "gpgseal key cache 2\nfile pubring.kbx 1\nend\n",
           head + "entry 17 1 a@x.org " + fpr_a + "\n",                      // cut short
           head + "entry 17 1 a@x.org " + fpr_a + "\nend\nentry\n",          // after the end
           head + "entry 17 1 a@x.org " + std::string(40, 'a') + "\nend\n",  // lower case
           head + "entry 17 1 a@x.org " + std::string(39, 'A') + "\nend\n",  // length
           head + "entry 17 2 a@x.org " + fpr_a + "\nend\n",                 // count
           head + "entry 17 1 a@x.org\nend\n",                               // no key
           head + "entry x 1 a@x.org " + fpr_a + "\nend\n",
           "gpgseal key cache 1\nentry 17 1 a@x.org " + fpr_a + "\nend\n",  // no state
           head + "surprise\nend\n",
       }) {
    EXPECT_FALSE(parse_key_cache(bad)) << bad;
  }
}

TEST(KeyCache, RecallsWhatItRememberedIgnoringAddressCase) {
  own_ring r;
  r.remember({"alice@example.org"}, {r.alice});
  EXPECT_EQ(fingerprints_of(r.recall({"alice@example.org"})), std::vector<std::string>{r.alice});
  EXPECT_EQ(fingerprints_of(r.recall({"ALICE@Example.org"})), std::vector<std::string>{r.alice});
  struct stat st {};
  ASSERT_EQ(::stat(r.cache_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(KeyCache, OnlyTheSameAddressesInTheSameOrderMatch) {
  own_ring r;
  r.remember({"alice@example.org", "bob@example.org"}, {r.alice, r.bob});
  EXPECT_FALSE(r.recall({"alice@example.org"}));
  EXPECT_FALSE(r.recall({"bob@example.org", "alice@example.org"}));
  EXPECT_FALSE(r.recall({"alice@example.org", "bob@example.org", "carol@example.org"}));
  EXPECT_TRUE(r.recall({"alice@example.org", "bob@example.org"}));
}

TEST(KeyCache, KeepsTheOtherAddressesChoices) {
  own_ring r;
  r.remember({"alice@example.org"}, {r.alice});
  r.remember({"bob@example.org"}, {r.bob});
  r.remember({"alice@example.org"}, {r.bob});  // replaces alice's, keeps bob's
  EXPECT_EQ(fingerprints_of(r.recall({"alice@example.org"})), std::vector<std::string>{r.bob});
  EXPECT_EQ(fingerprints_of(r.recall({"bob@example.org"})), std::vector<std::string>{r.bob});
}

TEST(KeyCache, AKeyringSharedByManyUsersKeepsTheNewestChoicesWithinBounds) {
  own_ring r;
  auto user = [](int n) { return "user" + std::to_string(n) + "@example.org"; };
  for (int n = 0; n < 300; ++n) r.remember({user(n)}, {r.alice});
  EXPECT_TRUE(r.recall({user(299)}));
  EXPECT_TRUE(r.recall({user(299 - 255)}));
  EXPECT_FALSE(r.recall({user(299 - 256)}));
  EXPECT_FALSE(r.recall({user(0)}));
  EXPECT_LE(std::filesystem::file_size(r.cache_file()), 64u * 1024);
  // Long address lists: the file stays readable, dropping the oldest.
  std::vector<std::string> many;
  for (int n = 0; n < 64; ++n) many.push_back(user(1000 + n) + std::string(200, 'x'));
  r.remember(many, {r.alice, r.bob});
  EXPECT_TRUE(r.recall(many));
  EXPECT_LE(std::filesystem::file_size(r.cache_file()), 64u * 1024);
}

TEST(KeyCache, AnyKeyringChangeForgets) {
  own_ring r;
  r.remember({"alice@example.org"}, {r.alice});
  ASSERT_TRUE(r.recall({"alice@example.org"}));
  r.ring.generate("Carol <carol@example.org>");
  EXPECT_FALSE(r.recall({"alice@example.org"}));
}

TEST(KeyCache, ARevocationForgets) {
  own_ring r;
  r.remember({"alice@example.org"}, {r.alice});
  r.ring.revoke_key(r.alice);
  EXPECT_FALSE(r.recall({"alice@example.org"}));
}

TEST(KeyCache, AChoiceEndsWhenItsKeyExpiresAndAfterAnHour) {
  own_ring r;
  const std::int64_t expires = now() + 100;
  r.remember({"alice@example.org"}, {r.alice}, expires);
  EXPECT_TRUE(r.recall({"alice@example.org"}, expires - 1));
  EXPECT_FALSE(r.recall({"alice@example.org"}, expires));
  r.remember({"bob@example.org"}, {r.bob});
  EXPECT_TRUE(r.recall({"bob@example.org"}, now() + key_cache_max_age - 5));
  EXPECT_FALSE(r.recall({"bob@example.org"}, now() + key_cache_max_age + 1));
  // A clock set back by a day must not stretch a choice either.
  EXPECT_FALSE(r.recall({"bob@example.org"}, now() - 86400));
}

TEST(KeyCache, NothingIsRememberedRightAfterTheKeyringChanged) {
  test::test_keyring ring;
  std::string alice = ring.generate("Alice <alice@example.org>");
  remember_keys(ring.home(), observe_keyring(ring.home()), {"alice@example.org"},
                selection_of({alice}), now());
  EXPECT_FALSE(std::filesystem::exists(ring.home() + "/" + key_cache_file_name));
}

TEST(KeyCache, IncompleteOrOddSelectionsAreNotRemembered) {
  own_ring r;
  key_selection incomplete = selection_of({r.alice});
  incomplete.addresses_without_key.push_back("bob@example.org");
  remember_keys(r.ring.home(), observe_keyring(r.ring.home()),
                {"alice@example.org", "bob@example.org"}, incomplete, now());
  r.remember({"alice@example.org"}, {"0x" + r.alice});
  r.remember({"alice@example.org"}, {});
  EXPECT_FALSE(std::filesystem::exists(r.cache_file()));
}

TEST(KeyCache, AFileOthersCanWriteIsIgnored) {
  own_ring r;
  r.remember({"alice@example.org"}, {r.alice});
  ASSERT_EQ(::chmod(r.cache_file().c_str(), 0620), 0);
  EXPECT_FALSE(r.recall({"alice@example.org"}));
  ASSERT_EQ(::chmod(r.cache_file().c_str(), 0602), 0);
  EXPECT_FALSE(r.recall({"alice@example.org"}));
  ASSERT_EQ(::chmod(r.cache_file().c_str(), 0644), 0);
  EXPECT_TRUE(r.recall({"alice@example.org"}));
}

TEST(KeyCache, ASymlinkOrAFifoIsIgnoredWithoutHanging) {
  own_ring r;
  r.remember({"alice@example.org"}, {r.alice});
  const std::string elsewhere = r.ring.home() + "/elsewhere";
  std::filesystem::rename(r.cache_file(), elsewhere);
  std::filesystem::create_symlink(elsewhere, r.cache_file());
  EXPECT_FALSE(r.recall({"alice@example.org"}));
  std::filesystem::remove(r.cache_file());
  ASSERT_EQ(::mkfifo(r.cache_file().c_str(), 0600), 0);
  auto recalled = std::async(std::launch::async, [&] { return r.recall({"alice@example.org"}); });
  ASSERT_EQ(recalled.wait_for(10s), std::future_status::ready) << "opening a FIFO blocked";
  EXPECT_FALSE(recalled.get());
}

TEST(KeyCache, ATruncatedFileIsIgnored) {
  own_ring r;
  r.remember({"alice@example.org"}, {r.alice});
  std::string text = test::read_file(r.cache_file());
  ASSERT_EQ(::truncate(r.cache_file().c_str(), static_cast<off_t>(text.size() - 5)), 0);
  EXPECT_FALSE(r.recall({"alice@example.org"}));
}

TEST(KeyCache, ForgetDropsEverything) {
  own_ring r;
  r.remember({"alice@example.org"}, {r.alice});
  forget_keys(r.ring.home());
  EXPECT_FALSE(r.recall({"alice@example.org"}));
  EXPECT_FALSE(std::filesystem::exists(r.cache_file()));
}

// --- through the filter --------------------------------------------------------------------

const std::string message = "From: b@example.org\nSubject: s\n\nbody line one\n";

filter_options for_alice(const own_ring& r) {
  return test::options_for(r.ring.home(), {"alice@example.org"});
}

TEST(FilterKeyCache, AListingIsRememberedAndTheNextRunUsesIt) {
  own_ring r;
  auto first = test::run_core(message, for_alice(r));
  EXPECT_EQ(first.outcome.fingerprints, std::vector<std::string>{r.alice});
  EXPECT_EQ(fingerprints_of(r.recall({"alice@example.org"})), std::vector<std::string>{r.alice});
  // Plant a different choice for an unchanged keyring: the run must follow it,
  // which shows that it did not list the keyring again.
  r.remember({"alice@example.org"}, {r.bob});
  auto second = test::run_core(message, for_alice(r));
  EXPECT_EQ(second.outcome.action, filter_action::encrypted);
  EXPECT_EQ(second.outcome.fingerprints, std::vector<std::string>{r.bob});
  EXPECT_TRUE(test::round_trips(message, second.output, r.ring));
}

TEST(FilterKeyCache, AKeyRevokedSinceIsNotUsed) {
  own_ring r;
  ASSERT_EQ(test::run_core(message, for_alice(r)).outcome.action, filter_action::encrypted);
  ASSERT_TRUE(r.recall({"alice@example.org"}));
  r.ring.revoke_key(r.alice);
  auto run = test::run_core(message, for_alice(r));
  EXPECT_EQ(run.outcome.action, filter_action::passed_through);
  EXPECT_EQ(run.outcome.reason, pass_reason::no_key);
  EXPECT_EQ(run.output, message);
}

TEST(FilterKeyCache, ARememberedKeyGpgRefusesMeansAFreshListing) {
  own_ring r;
  r.remember({"alice@example.org"}, {std::string(40, 'D')});  // in no keyring
  ASSERT_TRUE(r.recall({"alice@example.org"}));
  auto run = test::run_core(message, for_alice(r));
  EXPECT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_EQ(run.outcome.fingerprints, std::vector<std::string>{r.alice});
  EXPECT_TRUE(test::round_trips(message, run.output, r.ring));
  EXPECT_EQ(fingerprints_of(r.recall({"alice@example.org"})), std::vector<std::string>{r.alice});
}

TEST(FilterKeyCache, ARefusedKeyInInlineModeRetriesFromTheStartOfTheText) {
  own_ring r;
  r.remember({"alice@example.org"}, {std::string(40, 'D')});
  auto options = for_alice(r);
  options.mode = encrypt_mode::prefer_inline;
  auto run = test::run_core(message, options);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  auto begin = run.output.find("-----BEGIN PGP MESSAGE-----");
  ASSERT_NE(begin, std::string::npos) << run.output;
  EXPECT_EQ(test::to_lf(r.ring.decrypt(run.output.substr(begin))), "body line one\n");
}

TEST(FilterKeyCache, TurnedOffItNeitherReadsNorWrites) {
  own_ring r;
  auto options = for_alice(r);
  options.key_cache = false;
  ASSERT_EQ(test::run_core(message, options).outcome.action, filter_action::encrypted);
  EXPECT_FALSE(std::filesystem::exists(r.cache_file()));
  r.remember({"alice@example.org"}, {r.bob});
  EXPECT_EQ(test::run_core(message, options).outcome.fingerprints,
            std::vector<std::string>{r.alice});
}

}  // namespace
}  // namespace gpgseal
