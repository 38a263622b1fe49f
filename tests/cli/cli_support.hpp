// What every CLI test needs: where the real gpgseal binary is, a way to run
// it, the messages to feed it and scratch directories that clean up after
// themselves. The tests drive the binary only from the outside (argv,
// environment, stdin) and judge it only by exit status, stdout and stderr.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal::test::cli {

inline const std::string gpgseal_binary = GPGSEAL_BINARY;

// Runs the real binary; `options.env` (if set) is the whole environment.
inline process_result run_gpgseal(const std::vector<std::string>& args, const std::string& input,
                                  const process_options& options = {}) {
  std::vector<std::string> argv = {gpgseal_binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, input, options);
}

// `--gnupghome <the shared test keyring>` followed by `addresses`.
inline std::vector<std::string> with_shared_ring(const std::vector<std::string>& addresses) {
  std::vector<std::string> args = {"--gnupghome", shared_keys().ring.home()};
  args.insert(args.end(), addresses.begin(), addresses.end());
  return args;
}

// A whole environment with only the given variables.
inline process_options only_env(std::vector<std::string> variables) {
  process_options options;
  options.env = std::move(variables);
  return options;
}

inline std::string path_variable() {
  const char* path = std::getenv("PATH");
  return std::string("PATH=") + (path ? path : "/usr/local/bin:/usr/bin:/bin");
}

inline std::string with_line_endings(const std::string& lf_text, const std::string& eol) {
  std::string out;
  for (char c : lf_text) {
    if (c == '\n') {
      out += eol;
    } else {
      out += c;
    }
  }
  return out;
}

// A small text/plain message; every body line is long enough for
// round_trips() to notice it in clear in the output.
inline std::string plain_message(const std::string& eol = "\n") {
  return with_line_endings(
      "From: Sender <sender@example.net>\n"
      "To: Alice <alice@example.org>\n"
      "Subject: Quarterly figures\n"
      "Date: Mon, 03 Mar 2025 10:00:00 +0000\n"
      "Message-ID: <cli-test-1@example.net>\n"
      "\n"
      "Hello Alice,\n"
      "the quarterly figures you asked for are below.\n"
      "Revenue went up by four percent this quarter.\n"
      "Regards, the sender of this test message\n",
      eol);
}

// A fresh 0700 directory, removed with everything in it at scope exit.
class scratch_dir {
 public:
  scratch_dir() : path_(make_temp_dir()) {}
  ~scratch_dir() { remove_tree(path_); }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A copy of `binary` that any uid can run: a test that runs it as another
// user must not depend on where the build directory is (a clone in /root is
// closed to them). Made once per binary and test program.
inline std::string runnable_by_anyone(const std::string& binary) {
  static scratch_dir dir;
  std::string copy = dir / std::filesystem::path(binary).filename().string();
  if (!std::filesystem::exists(copy)) {
    std::filesystem::copy_file(binary, copy);
    std::filesystem::permissions(copy, std::filesystem::perms(0755));
    std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
  }
  return copy;
}

// The names left in `dir`, for a failure message that says what leaked.
inline std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

}  // namespace gpgseal::test::cli
