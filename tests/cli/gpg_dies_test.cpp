// A gpg that dies in the middle of a message. GPGME's own loop spun forever
// on the dead pipe, and its encrypt status handler called a truncated result
// a success: gpgseal must neither hang nor write part of a ciphertext.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "cli_support.hpp"

namespace gpgseal::test::cli {
namespace {

using namespace std::chrono_literals;

// The command line of a process, or "" if it is gone. With plain read(2):
// a process that exits mid-read makes it fail with ESRCH, which a std::ifstream
// turned into an exception that failed the test (2 runs in 8).
std::string cmdline_of(const std::string& pid) {
  int fd = ::open(("/proc/" + pid + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  ::close(fd);
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

// Kills the gpg that encrypts with `home`, once it is running.
bool kill_encrypting_gpg(const std::string& home, std::chrono::milliseconds within) {
  auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    DIR* proc = opendir("/proc");
    for (dirent* entry; proc && (entry = readdir(proc));) {
      std::string cmd = cmdline_of(entry->d_name);
      if (cmd.rfind("gpg ", 0) == 0 && cmd.find(home) != std::string::npos &&
          cmd.find("--encrypt") != std::string::npos) {
        std::this_thread::sleep_for(200ms);  // let it get into the message
        kill(std::stoi(entry->d_name), SIGKILL);
        closedir(proc);
        return true;
      }
    }
    if (proc) closedir(proc);
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

std::string large_message() {
  std::string text = "Subject: large\nContent-Type: application/octet-stream\n\n";
  std::string line(76, 'x');
  for (int i = 0; i < 600000; ++i) {
    line[i % 76] = static_cast<char>('a' + (i * 7) % 26);
    text += line + "\n";
  }
  return text;
}

TEST(CliGpgDies, ThePassThroughIsCompleteAndPrompt) {
  const std::string input = large_message();
  const std::string home = shared_keys().ring.home();
  auto start = std::chrono::steady_clock::now();
  auto run = std::async(std::launch::async, [&] {
    return run_gpgseal({"--log", "stderr", "--gnupghome", home, "alice@example.org"}, input);
  });
  ASSERT_TRUE(kill_encrypting_gpg(home, 10s)) << "gpg never started";
  ASSERT_EQ(run.wait_for(30s), std::future_status::ready) << "gpgseal hangs after gpg died";
  process_result r = run.get();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), input.size());
  EXPECT_TRUE(r.out == input) << "not the original";
  EXPECT_NE(r.err.find("gpg stopped before finishing"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

}  // namespace
}  // namespace gpgseal::test::cli
