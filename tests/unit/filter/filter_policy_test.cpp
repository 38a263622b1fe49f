// The policies of the core filter: what happens to a message that is too
// large, too slow, without key, or whose keyring comes from a template.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::filter_options;
using test::shared_keys;

const std::string message = "From: b@example.org\nSubject: s\n\nbody line one\n";

filter_options for_alice() {
  return test::options_for(shared_keys().ring.home(), {"alice@example.org"});
}

TEST(FilterPolicy, TooLargeMessagePassesThroughWithoutTrying) {
  auto options = for_alice();
  options.max_size = 10;
  auto run = test::run_core(message, options);
  EXPECT_EQ(run.outcome.reason, pass_reason::too_large);
  EXPECT_EQ(run.outcome.action, filter_action::passed_through);
  EXPECT_EQ(run.output, message);
  EXPECT_NE(run.outcome.detail.find("larger than the size limit of 10 bytes"), std::string::npos);
}

TEST(FilterPolicy, TooLargeMessageWithFailPolicyWritesNothing) {
  auto options = for_alice();
  options.max_size = 10;
  options.on_error = on_failure::fail;
  auto run = test::run_core(message, options);
  EXPECT_EQ(run.outcome.action, filter_action::failed);
  EXPECT_TRUE(run.output.empty());
}

TEST(FilterPolicy, MessageAtTheSizeLimitIsEncrypted) {
  auto options = for_alice();
  options.max_size = message.size();
  auto run = test::run_core(message, options);
  EXPECT_TRUE(test::round_trips(message, run.output, shared_keys().ring));
}

// gpg hangs on this keyring (make_hanging_keyring): the deadline, not the
// speed of the machine, decides how the run ends.
filter_options for_alice_on_a_hanging_keyring(const std::string& home) {
  test::make_hanging_keyring(home);
  return test::options_for(home, {"alice@example.org"});
}

TEST(FilterPolicy, DeadlineStopsGpgAndPassesTheOriginalThrough) {
  const std::string dir = test::make_temp_dir();
  auto options = for_alice_on_a_hanging_keyring(dir + "/gnupg");
  options.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto run = test::run_core(message, options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  test::remove_tree(dir);
  EXPECT_EQ(run.outcome.reason, pass_reason::timed_out) << run.outcome.detail;
  EXPECT_EQ(run.output, message);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(FilterPolicy, DeadlineWithFailPolicyWritesNothing) {
  const std::string dir = test::make_temp_dir();
  auto options = for_alice_on_a_hanging_keyring(dir + "/gnupg");
  options.timeout = std::chrono::milliseconds(200);
  options.on_error = on_failure::fail;
  auto run = test::run_core(message, options);
  test::remove_tree(dir);
  EXPECT_EQ(run.outcome.action, filter_action::failed);
  EXPECT_EQ(run.outcome.reason, pass_reason::timed_out);
  EXPECT_TRUE(run.output.empty());
}

TEST(FilterPolicy, AGenerousDeadlineChangesNothing) {
  auto options = for_alice();
  options.timeout = std::chrono::seconds(60);
  auto run = test::run_core(message, options);
  EXPECT_TRUE(test::round_trips(message, run.output, shared_keys().ring));
}

TEST(FilterPolicy, KeyringTemplateIsExpandedForTheFirstAddress) {
  std::string root = test::make_temp_dir();
  std::filesystem::create_directories(root + "/example.org");
  std::filesystem::create_directory_symlink(shared_keys().ring.home(), root + "/example.org/alice");
  filter_options options = test::options_for(root + "/%d/%n", {"alice@example.org"});
  options.gnupg_home_is_template = true;
  auto run = test::run_core(message, options);
  EXPECT_TRUE(test::round_trips(message, run.output, shared_keys().ring));
  test::remove_tree(root);
}

TEST(FilterPolicy, TemplateEscapeIsAnErrorByPolicy) {
  filter_options options = test::options_for("/var/vmail/%d/%n", {"..@example.org"});
  options.gnupg_home_is_template = true;
  auto run = test::run_core(message, options);
  EXPECT_EQ(run.outcome.reason, pass_reason::error);
  EXPECT_EQ(run.output, message);
  options.on_error = on_failure::fail;
  EXPECT_TRUE(test::run_core(message, options).output.empty());
}

}  // namespace
}  // namespace gpgseal
