// The process environment the binary gets from an MTA: possibly nothing at all
// (no PATH, HOME, GNUPGHOME or TMPDIR), and a TMPDIR that may be missing. The
// binary must still find gpg, must leave no temporary file behind, and must
// never lose a message it cannot spool.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/cli_support.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

// A fresh TMPDIR and an environment that points at it.
class temp_dir_env {
 public:
  const std::string& path() const noexcept { return dir_.path(); }
  process_options options() const { return only_env({path_variable(), "TMPDIR=" + path()}); }
  std::vector<std::string> leftovers() const { return entries_of(path()); }

 private:
  scratch_dir dir_;
};

using names = std::vector<std::string>;

// What Dovecot gives a filter, minus HOME: gpg must be found without PATH.
TEST(CliEnvironment, EmptyEnvironmentWithGnupghomeEncrypts) {
  const std::string input = plain_message();
  process_result r = run_gpgseal(with_shared_ring({"alice@example.org"}), input, only_env({}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
}

TEST(CliEnvironment, EncryptingLeavesTmpdirEmpty) {
  temp_dir_env tmp;
  const std::string input = plain_message();
  process_result r = run_gpgseal(with_shared_ring({"alice@example.org"}), input, tmp.options());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
  EXPECT_EQ(tmp.leftovers(), names{});
}

TEST(CliEnvironment, PassingThroughLeavesTmpdirEmpty) {
  temp_dir_env tmp;
  const std::string input = plain_message();
  process_result r = run_gpgseal(with_shared_ring({"nobody@example.org"}), input, tmp.options());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_EQ(tmp.leftovers(), names{});
}

TEST(CliEnvironment, ErrorLeavesTmpdirEmpty) {
  temp_dir_env tmp;
  const std::string input = plain_message();
  process_result r =
      run_gpgseal({"--gnupghome", "/nonexistent/x", "alice@example.org"}, input, tmp.options());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err, "");
  EXPECT_EQ(tmp.leftovers(), names{});
}

TEST(CliEnvironment, UsageErrorLeavesTmpdirEmpty) {
  temp_dir_env tmp;
  process_result r = run_gpgseal({"--", "noat"}, plain_message(), tmp.options());
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_EQ(tmp.leftovers(), names{});
}

// Spooling is impossible, so the message goes out as it came in, with a
// reason that names the directory. An encrypted result would do as well.
void expect_not_lost_without_tmpdir(const std::string& input) {
  process_options options = only_env({path_variable(), "TMPDIR=/nonexistent/tmpdir"});
  process_result r = run_gpgseal(with_shared_ring({"alice@example.org"}), input, options);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.out != input) {
    EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring))
        << "neither passed through nor encrypted";
  }
  EXPECT_NE(r.err.find("/nonexistent/tmpdir"), std::string::npos) << r.err;
}

TEST(CliEnvironment, MissingTmpdirNeverLosesTheMessage) {
  expect_not_lost_without_tmpdir(plain_message());
}

TEST(CliEnvironment, MissingTmpdirNeverLosesALargeMessage) {
  std::string input = plain_message();
  while (input.size() < (2u << 20)) {
    input += "Another line of a long body that does not fit any pipe buffer at all.\n";
  }
  expect_not_lost_without_tmpdir(input);
}

TEST(CliEnvironment, TmpdirThatIsAFileNeverLosesTheMessage) {
  scratch_dir dir;
  write_file(dir / "file", "");
  const std::string input = plain_message();
  process_result r = run_gpgseal(with_shared_ring({"alice@example.org"}), input,
                                 only_env({path_variable(), "TMPDIR=" + (dir / "file")}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.out != input) {
    EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
  }
  EXPECT_NE(r.err.find(dir / "file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gpgseal::test::cli
