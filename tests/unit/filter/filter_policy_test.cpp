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

std::string big_message(std::size_t megabytes) {
  std::string text = "Subject: big\nContent-Type: application/octet-stream\n\n";
  std::string line(76, 'A');
  for (std::size_t i = 0; i < megabytes * 1024 * 1024 / 77; ++i) {
    line[i % 76] = static_cast<char>('A' + i % 26);
    text += line + "\n";
  }
  return text;
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

TEST(FilterPolicy, DeadlineStopsGpgAndPassesTheOriginalThrough) {
  std::string input = big_message(40);
  auto options = for_alice();
  options.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto run = test::run_core(input, options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(run.outcome.reason, pass_reason::timed_out) << run.outcome.detail;
  EXPECT_EQ(run.output, input);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(FilterPolicy, DeadlineWithFailPolicyWritesNothing) {
  auto options = for_alice();
  options.timeout = std::chrono::milliseconds(200);
  options.on_error = on_failure::fail;
  auto run = test::run_core(big_message(40), options);
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
