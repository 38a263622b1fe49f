// Which keyring directory the binary uses (--gnupghome, then $GNUPGHOME, then
// $HOME/.gnupg — Dovecot sets only HOME) and what it does when that directory
// is missing or unreadable: the message passes through unchanged, and stderr
// names the directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli/cli_support.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

namespace fs = std::filesystem;

constexpr unsigned nobody_uid = 65534;

void expect_encrypted(const process_result& r, const std::string& input) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
}

void expect_passed_through(const process_result& r, const std::string& input,
                           const std::string& named_in_stderr) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find(named_in_stderr), std::string::npos) << r.err;
}

// A HOME whose .gnupg is a symlink to the shared test keyring.
class home_with_keyring {
 public:
  home_with_keyring() { fs::create_directory_symlink(shared_keys().ring.home(), home_ / ".gnupg"); }
  const std::string& path() const noexcept { return home_.path(); }

 private:
  scratch_dir home_;
};

// The keyring's files and directories (not the agent's sockets) in `to`.
void copy_keyring(const std::string& from, const std::string& to) {
  for (const auto& entry : fs::recursive_directory_iterator(from)) {
    fs::path target = to / fs::relative(entry.path(), from);
    if (entry.is_directory()) {
      fs::create_directory(target);
    } else if (entry.is_regular_file()) {
      fs::copy_file(entry.path(), target);
    }
  }
}

TEST(CliKeyring, MissingDirectoryPassesThroughNamingIt) {
  const std::string input = plain_message();
  process_result r = run_gpgseal({"--gnupghome", "/nonexistent/x", "alice@example.org"}, input);
  expect_passed_through(r, input, "/nonexistent/x");
}

TEST(CliKeyring, DirectoryThatIsAFilePassesThroughNamingIt) {
  scratch_dir dir;
  write_file(dir / "not-a-dir", "");
  const std::string input = plain_message();
  process_result r = run_gpgseal({"--gnupghome", dir / "not-a-dir", "alice@example.org"}, input);
  expect_passed_through(r, input, dir / "not-a-dir");
}

TEST(CliKeyring, EmptyDirectoryPassesThroughForMissingKey) {
  scratch_dir home;
  const std::string input = plain_message();
  process_result r =
      run_gpgseal({"--log", "stderr", "--gnupghome", home.path(), "alice@example.org"}, input);
  expect_passed_through(r, input, "no usable encryption key for <alice@example.org>");
  EXPECT_TRUE(fs::is_empty(home.path())) << "gpg must not create a keyring there";
  EXPECT_NE(r.err.find(home.path()), std::string::npos) << r.err;
}

// As root the directory is a copy owned by root, 0700, and the binary runs as
// nobody (from a copy nobody can reach) without HOME; otherwise it is chmod 000.
TEST(CliKeyring, UnreadableDirectoryPassesThroughNamingIt) {
  scratch_dir keyring;
  const std::string input = plain_message();
  process_options options = only_env({"PATH=/usr/local/bin:/usr/bin:/bin"});
  std::string binary = gpgseal_binary;
  if (::geteuid() == 0) {
    copy_keyring(shared_keys().ring.home(), keyring.path());
    ASSERT_EQ(::chmod(keyring.path().c_str(), 0700), 0);
    binary = runnable_by_anyone(gpgseal_binary);
    options.run_as_uid = nobody_uid;
  } else {
    ASSERT_EQ(::chmod(keyring.path().c_str(), 0), 0);
  }
  process_result r =
      run_process({binary, "--gnupghome", keyring.path(), "alice@example.org"}, input, options);
  ::chmod(keyring.path().c_str(), 0700);
  expect_passed_through(r, input, keyring.path());
}

TEST(CliKeyring, OptionBeatsEnvironment) {
  const std::string input = plain_message();
  process_result r = run_gpgseal(
      with_shared_ring({"alice@example.org"}), input,
      only_env({path_variable(), "GNUPGHOME=/nonexistent/gnupghome", "HOME=/nonexistent/home"}));
  expect_encrypted(r, input);
}

TEST(CliKeyring, GnupghomeVariableBeatsHome) {
  const std::string input = plain_message();
  process_result r =
      run_gpgseal({"alice@example.org"}, input,
                  only_env({path_variable(), "GNUPGHOME=" + shared_keys().ring.home(),
                            "HOME=/nonexistent/home"}));
  expect_encrypted(r, input);

  home_with_keyring home;
  r = run_gpgseal(
      {"alice@example.org"}, input,
      only_env({path_variable(), "GNUPGHOME=/nonexistent/gnupghome", "HOME=" + home.path()}));
  expect_passed_through(r, input, "/nonexistent/gnupghome");
}

// Dovecot's environment for a Sieve filter: HOME and nothing else.
TEST(CliKeyring, HomeAloneFindsDotGnupg) {
  home_with_keyring home;
  const std::string input = plain_message();
  process_result r = run_gpgseal({"alice@example.org"}, input, only_env({"HOME=" + home.path()}));
  expect_encrypted(r, input);
}

TEST(CliKeyring, EmptyGnupghomeVariableFallsBackToHome) {
  home_with_keyring home;
  const std::string input = plain_message();
  process_result r =
      run_gpgseal({"alice@example.org"}, input, only_env({"GNUPGHOME=", "HOME=" + home.path()}));
  expect_encrypted(r, input);
}

// gpgseal leaves gpg's directory to the environment when the two agree, so
// disagreeing must still mean the directory gpgseal chose, either way round.
TEST(CliKeyring, TheChosenDirectoryWinsOverWhatTheEnvironmentTellsGpg) {
  test_keyring other;
  const std::string other_alice = other.generate("Alice Elsewhere <alice@example.org>");
  const std::string shared = shared_keys().ring.home();
  const std::string input = plain_message();
  auto encrypted_to = [&](const std::string& option, const std::vector<std::string>& env) {
    process_result r = run_gpgseal({"--log", "stderr", "--gnupghome", option, "alice@example.org"},
                                   input, only_env(env));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto at = r.err.find("encrypted to 0x");
    return at == std::string::npos ? r.err : r.err.substr(at + 15, 40);
  };
  EXPECT_EQ(encrypted_to(shared, {path_variable(), "GNUPGHOME=" + other.home()}),
            shared_keys().alice);
  EXPECT_EQ(encrypted_to(other.home(), {path_variable(), "GNUPGHOME=" + shared}), other_alice);
  home_with_keyring home;
  EXPECT_EQ(encrypted_to(other.home(), {path_variable(), "HOME=" + home.path()}), other_alice);
  EXPECT_EQ(encrypted_to(home.path() + "/.gnupg", {path_variable(), "HOME=" + home.path()}),
            shared_keys().alice);
}

TEST(CliKeyring, RemembersTheChosenKeysInTheKeyringUnlessTold) {
  scratch_dir keyring;
  copy_keyring(shared_keys().ring.home(), keyring.path());
  age_keyring(keyring.path());
  const std::string cache = keyring / "gpgseal-keycache";
  const std::string input = plain_message();
  expect_encrypted(run_gpgseal({"--gnupghome", keyring.path(), "alice@example.org"}, input), input);
  struct stat st {};
  ASSERT_EQ(::stat(cache.c_str(), &st), 0) << "no key cache written";
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_NE(read_file(cache).find(shared_keys().alice), std::string::npos);
  fs::remove(cache);
  expect_encrypted(
      run_gpgseal({"--no-key-cache", "--gnupghome", keyring.path(), "alice@example.org"}, input),
      input);
  EXPECT_FALSE(fs::exists(cache));
}

TEST(CliKeyring, NoResolvableDirectoryPassesThrough) {
  const std::string input = plain_message();
  for (const auto& env : std::vector<std::vector<std::string>>{{}, {path_variable()}}) {
    SCOPED_TRACE(env.empty() ? "empty environment" : "PATH only");
    process_result r = run_gpgseal({"alice@example.org"}, input, only_env(env));
    expect_passed_through(r, input, "keyring directory");
  }
}

}  // namespace
}  // namespace gpgseal::test::cli
