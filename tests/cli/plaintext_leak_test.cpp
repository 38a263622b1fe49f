// Where a message's plaintext may go (issue 6): stdout, and unlinked mode-0600
// temp files that die with the process. Nowhere else on disk, and never into
// a log line. The binary runs with its own HOME, TMPDIR, keyring and working
// directory, all inside one scratch tree, while the test watches every file
// gpgseal and its gpg hold open; afterwards no file anywhere in that tree may
// contain the message's marker.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "cli/measured_run.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::test::cli {
namespace {

namespace fs = std::filesystem;

// Marks every line a reader could recognise; random so no other file has it.
std::string make_marker() {
  std::random_device random;
  return "PLAINTEXT-MARKER-" + std::to_string(random()) + "-" + std::to_string(random());
}

// Random bytes (so gpg runs long enough to be watched) with the marker on
// every 64th line.
std::string body_with_marker(const std::string& marker, std::size_t size) {
  std::mt19937 random(1);
  std::string body;
  for (std::size_t line = 0; body.size() < size; ++line) {
    if (line % 64 == 0) {
      body += marker + " confidential line\r\n";
      continue;
    }
    for (int i = 0; i < 76; ++i) {
      char c = static_cast<char>(random());
      body += c == '\n' || c == '\r' ? '.' : c;
    }
    body += "\r\n";
  }
  return body;
}

struct open_file {
  std::string path;
  struct stat st {};
};

// The regular files `pid` holds open for writing right now (read-only ones,
// such as the libraries the loader maps, cannot receive plaintext).
std::vector<open_file> files_open_for_writing(pid_t pid) {
  std::vector<open_file> files;
  std::error_code ec;
  const std::string proc = "/proc/" + std::to_string(pid);
  for (const auto& fd : fs::directory_iterator(proc + "/fd", ec)) {
    open_file f;
    if (::stat(fd.path().c_str(), &f.st) != 0 || !S_ISREG(f.st.st_mode)) continue;
    std::ifstream info(proc + "/fdinfo/" + fd.path().filename().string());
    std::string key, flags;
    while (info >> key >> flags && key != "flags:") {
    }
    if ((std::stoul(flags.empty() ? "0" : flags, nullptr, 8) & O_ACCMODE) == O_RDONLY) continue;
    f.path = fs::read_symlink(fd.path(), ec).string();
    files.push_back(f);
  }
  return files;
}

bool file_contains(const fs::path& path, const std::string& needle) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.find(needle) != std::string::npos;
}

TEST(PlaintextLeak, PlaintextReachesNoFileButUnlinkedPrivateTempFiles) {
  scratch_dir root;
  const std::string home = root / "home", tmp = root / "tmp", keyring = home + "/.gnupg";
  fs::create_directories(keyring);
  fs::create_directories(tmp);
  fs::permissions(keyring, fs::perms::owner_all);
  for (const char* name : {"pubring.kbx", "trustdb.gpg"}) {
    fs::copy_file(shared_keys().ring.home() + "/" + name, keyring + "/" + name);
  }
  const std::string marker = make_marker();
  const std::string headers = "From: a@example.net\r\nSubject: " + marker + "\r\n\r\n";
  const std::string body = body_with_marker(marker, 24 << 20);
  launch_options options = with_env({"HOME=" + home, "TMPDIR=" + tmp});
  options.cwd = home;

  std::set<std::string> violations;
  std::size_t unlinked_temp_files_seen = 0;
  auto watch = [&](pid_t pid, std::uint64_t) {
    for (const auto& f : files_open_for_writing(pid)) {
      bool unlinked_private = f.st.st_nlink == 0 && (f.st.st_mode & 07777) == 0600;
      if (f.path.rfind("/memfd:", 0) == 0) continue;  // the test's own stdout/stderr
      if (!unlinked_private) violations.insert("gpgseal holds " + f.path);
      unlinked_temp_files_seen += unlinked_private;
    }
    for (pid_t gpg : processes_naming(keyring)) {
      for (const auto& f : files_open_for_writing(gpg)) {
        if (f.path.rfind(keyring + "/", 0) != 0) violations.insert("gpg holds " + f.path);
      }
    }
  };
  measured_run run =
      run_gpgseal_measured({"alice@example.org"}, whole(headers + body), options, watch);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(decrypts_to(
      run, shared_keys().ring,
      whole(test::payload_head_without_content_fields(headers.substr(0, headers.size() - 2)) +
            body)));
  EXPECT_GT(unlinked_temp_files_seen, 0u) << "the watch never caught a temp file open";
  EXPECT_EQ(violations, std::set<std::string>{});
  for (const auto& entry : fs::recursive_directory_iterator(root.path())) {
    if (entry.is_regular_file()) {
      EXPECT_FALSE(file_contains(entry.path(), marker)) << "plaintext in " << entry.path();
    }
  }
}

// Every outcome's line (the CLI writes the same text to syslog and, here, to
// stderr) carries addresses, keys, sizes and reasons, but nothing of the
// message: not its subject, sender, body or parameters.
TEST(PlaintextLeak, LogLinesNeverCarryMessageContent) {
  const std::string marker = make_marker();
  const std::string input = "From: \"" + marker + "\" <" + marker +
                            "@example.net>\n"
                            "Subject: " +
                            marker +
                            "\n"
                            "Content-Type: text/plain; name=\"" +
                            marker + "\"\n\n" + marker + " body\n";
  const std::string already_encrypted =
      "Subject: " + marker + "\n\n" + shared_keys().ring.encrypt_to(shared_keys().alice, marker);
  scratch_dir tmp;
  struct scenario {
    const char* what;
    std::vector<std::string> args;
    std::string input;
    std::vector<std::string> env;
  };
  const std::vector<scenario> scenarios = {
      {"encrypted", with_shared_ring({"alice@example.org"}), input, {}},
      {"no key", with_shared_ring({"nobody@example.org"}), input, {}},
      {"already encrypted", with_shared_ring({"alice@example.org"}), already_encrypted, {}},
      {"keyring error", {"--gnupghome", tmp / "missing", "alice@example.org"}, input, {}},
      {"spool failure",
       with_shared_ring({"alice@example.org"}),
       input,
       {"TMPDIR=" + (tmp / "missing")}},
  };
  for (const auto& s : scenarios) {
    std::vector<std::string> args = {"--log", "stderr"};
    args.insert(args.end(), s.args.begin(), s.args.end());
    measured_run run = run_gpgseal_measured(args, whole(s.input), with_env(s.env));
    EXPECT_EQ(run.exit_code, 0) << s.what << ": " << run.err;
    EXPECT_NE(run.err, "") << s.what << ": no log line on stderr";
    EXPECT_EQ(run.err.find(marker), std::string::npos) << s.what << " logged content: " << run.err;
  }
}

}  // namespace
}  // namespace gpgseal::test::cli
