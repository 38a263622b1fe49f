// Runs the real gpgseal on malformed input and in failing environments, and
// measures it: wall time and its own peak RSS (VmHWM of /proc/PID/status,
// sampled every 2 ms once the child has exec'd: wait4's ru_maxrss would count
// the test process the child was forked from; gpg runs as a detached
// grandchild, so it is not counted either way). Input is
// written piece by piece from a thread, so a 100 MiB message never has to
// exist as one string; stdout is drained into a memory file by a thread and
// stderr goes to one, so a child that writes a lot never blocks on the test.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_support.hpp"
#include "core/base/fd_io.hpp"

namespace gpgseal::test::cli {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized_build = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool sanitized_build = true;
#else
inline constexpr bool sanitized_build = false;
#endif
#else
inline constexpr bool sanitized_build = false;
#endif

// The bounds every such case must meet. Generous, so that a loaded 2-core
// machine does not make them flaky; the design target is < 32 MiB. ASan's
// shadow memory and quarantine make RSS meaningless in a sanitizer build.
inline constexpr double max_seconds = 60;
inline constexpr long max_rss_kib = 64 * 1024;

// head, then `repeated` `count` times, then tail.
struct input_pieces {
  std::string head;
  std::string repeated;
  std::size_t count = 0;
  std::string tail;

  [[nodiscard]] std::uint64_t size() const {
    return head.size() + repeated.size() * count + tail.size();
  }
  template <class F>
  void each(F&& f) const {
    f(head);
    for (std::size_t i = 0; i < count; ++i) f(repeated);
    f(tail);
  }
};

inline input_pieces whole(std::string text) { return {std::move(text), "", 0, ""}; }

struct launch_options {
  std::optional<std::vector<std::string>> env;  // nullopt: inherit
  std::optional<uid_t> uid;                     // run as this user (needs root)
  std::optional<rlim_t> file_size_limit;        // RLIMIT_FSIZE: an injected "disk full"
  bool stdout_reader_gone = false;              // stdout is a pipe nobody reads
  std::string cwd;                              // empty: inherit
};

// Only these environment variables.
inline launch_options with_env(std::vector<std::string> variables) {
  launch_options options;
  options.env = std::move(variables);
  return options;
}

struct measured_run {
  int exit_code = -1;  // -1 if killed by a signal
  int signal = 0;
  unique_fd out;  // a memory file holding stdout
  std::uint64_t out_size = 0;
  std::string err;
  double seconds = 0;
  long peak_rss_kib = 0;

  [[nodiscard]] std::string output() const {
    std::string text(out_size, '\0');
    text.resize(pread_full(out.get(), text.data(), text.size(), 0));
    return text;
  }
};

// NUL-separated arguments of a running process ("" once it is gone).
inline std::string cmdline_of(pid_t pid) {
  std::string text;
  int fd = ::open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  ::close(fd);
  return text;
}

// VmHWM of a live process, in KiB (0 if it cannot be read).
inline long peak_rss_kib_of(pid_t pid) {
  std::string status;
  int fd = ::open(("/proc/" + std::to_string(pid) + "/status").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) status.append(buffer, n);
  ::close(fd);
  std::size_t at = status.find("VmHWM:");
  return at == std::string::npos ? 0 : std::atol(status.c_str() + at + 6);
}

namespace detail {

inline unique_fd memory_file(const char* name) {
  int fd = ::memfd_create(name, 0);
  if (fd < 0) throw std::runtime_error("memfd_create failed");
  return unique_fd(fd);
}

// In the child, before exec: limits, working directory and user.
inline void set_up_child(const launch_options& options) {
  ::signal(SIGPIPE, SIG_DFL);
  if (options.file_size_limit) {
    // A write past the limit then fails with EFBIG instead of killing the process.
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{*options.file_size_limit, *options.file_size_limit};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(125);
  }
  if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(125);
  if (options.uid &&
      (::setgroups(0, nullptr) != 0 || ::setresgid(*options.uid, *options.uid, *options.uid) != 0 ||
       ::setresuid(*options.uid, *options.uid, *options.uid) != 0)) {
    ::_exit(126);
  }
}

[[noreturn]] inline void exec_measured(const std::vector<std::string>& argv,
                                       const launch_options& options, int in, int out, int err) {
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  set_up_child(options);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  if (options.env) {
    std::vector<char*> envp;
    for (const auto& e : *options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(args[0], args.data(), envp.data());
  } else {
    ::execv(args[0], args.data());
  }
  ::_exit(127);
}

// Writes `input` to `fd` until done or until the reader has gone, then closes it.
inline void feed(int fd, const input_pieces& input, std::atomic<std::uint64_t>& written) {
  bool open = true;
  input.each([&](const std::string& piece) {
    for (std::size_t at = 0; open && at < piece.size();) {
      ssize_t n = ::write(fd, piece.data() + at, piece.size() - at);
      if (n < 0 && errno == EINTR) continue;
      open = n > 0;
      if (open) {
        at += static_cast<std::size_t>(n);
        written += static_cast<std::uint64_t>(n);
      }
    }
  });
  ::close(fd);
}

// Copies `from` into `to` until end of file, then closes `from`.
inline void drain(int from, int to) {
  std::vector<char> buffer(1 << 16);
  for (ssize_t n; (n = ::read(from, buffer.data(), buffer.size())) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    write_all(to, buffer.data(), static_cast<std::size_t>(n), "a copy of the child's output");
  }
  ::close(from);
}

inline std::string contents(int fd) {
  std::string text(static_cast<std::size_t>(::lseek(fd, 0, SEEK_END)), '\0');
  text.resize(pread_full(fd, text.data(), text.size(), 0));
  return text;
}

// Reaps `pid`, sampling its VmHWM and calling `while_running` every 2 ms once
// it runs `program`. Before the exec it is a copy of the test, holding the
// test's own files (its log under ctest or a redirect): a watch that looked
// then saw them as gpgseal's.
inline int wait_sampling(pid_t pid, const std::string& program, long& peak_rss_kib,
                         const std::function<void(pid_t, std::uint64_t)>& while_running,
                         const std::atomic<std::uint64_t>& written) {
  for (int status = 0;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
    if (done != 0) continue;
    if (cmdline_of(pid).rfind(program, 0) == 0) {
      peak_rss_kib = std::max(peak_rss_kib, peak_rss_kib_of(pid));
      if (while_running) while_running(pid, written.load());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Bytes [at, at + n) of the stream `pieces` describes.
inline std::string slice(const input_pieces& pieces, std::uint64_t at, std::size_t n) {
  std::string bytes;
  std::uint64_t base = 0;
  pieces.each([&](const std::string& piece) {
    std::uint64_t end = base + piece.size();
    if (end > at && base < at + n) {
      std::uint64_t from = std::max(at, base);
      std::uint64_t to = std::min<std::uint64_t>(at + n, end);
      bytes.append(piece, static_cast<std::size_t>(from - base),
                   static_cast<std::size_t>(to - from));
    }
    base = end;
  });
  return bytes;
}

}  // namespace detail

// Runs `argv` on `input`. stdout is a pipe, as under Dovecot (and so outside
// RLIMIT_FSIZE), copied into run.out by a thread. `while_running(pid,
// bytes_written)` is called every few milliseconds until the child exits (to
// send it signals, inspect /proc).
inline measured_run run_measured(
    const std::vector<std::string>& argv, const input_pieces& input,
    const launch_options& options = {},
    const std::function<void(pid_t, std::uint64_t)>& while_running = {}) {
  ::signal(SIGPIPE, SIG_IGN);
  measured_run run;
  run.out = detail::memory_file("stdout");
  unique_fd err = detail::memory_file("stderr");
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  // With no reader, stdout's first write fails with EPIPE.
  if (options.stdout_reader_gone) ::close(out[0]);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) detail::exec_measured(argv, options, in[0], out[1], err.get());
  ::close(in[0]);
  ::close(out[1]);
  std::atomic<std::uint64_t> written{0};
  std::thread writer(detail::feed, in[1], std::cref(input), std::ref(written));
  std::thread reader;
  if (!options.stdout_reader_gone) reader = std::thread(detail::drain, out[0], run.out.get());
  int status = detail::wait_sampling(pid, argv[0], run.peak_rss_kib, while_running, written);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  writer.join();
  if (reader.joinable()) reader.join();
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  run.out_size = static_cast<std::uint64_t>(::lseek(run.out.get(), 0, SEEK_END));
  run.err = detail::contents(err.get());
  return run;
}

inline measured_run run_gpgseal_measured(
    const std::vector<std::string>& args, const input_pieces& input,
    const launch_options& options = {},
    const std::function<void(pid_t, std::uint64_t)>& while_running = {}) {
  std::vector<std::string> argv = {options.uid ? runnable_by_anyone(gpgseal_binary)
                                               : gpgseal_binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_measured(argv, input, options, while_running);
}

// Processes whose arguments contain `text` (gpg names its --homedir there).
inline std::vector<pid_t> processes_naming(const std::string& text) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    if (cmdline_of(pid).find(text) != std::string::npos) found.push_back(pid);
  }
  return found;
}

// The value of `field` in /proc/PID/io (bytes the process read or wrote; 0
// once it is gone).
inline std::uint64_t io_of(pid_t pid, const std::string& field) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string name;
  for (std::uint64_t value = 0; io >> name >> value;) {
    if (name == field + ":") return value;
  }
  return 0;
}

// Asserts the time and memory bounds, and says what was measured.
inline void expect_bounded(const measured_run& run) {
  EXPECT_LT(run.seconds, max_seconds);
  if (!sanitized_build) {
    EXPECT_LT(run.peak_rss_kib, max_rss_kib);
  }
  ::testing::Test::RecordProperty("seconds", std::to_string(run.seconds));
  ::testing::Test::RecordProperty("peak_rss_kib", std::to_string(run.peak_rss_kib));
}

// Decrypts the armored block in `run`'s stdout with the test key through gpg,
// streaming, and compares the plaintext with `expected` without holding either
// in memory.
inline ::testing::AssertionResult decrypts_to(const measured_run& run, const test_keyring& ring,
                                              const input_pieces& expected) {
  std::vector<std::string> argv = {"/usr/bin/gpg", "--homedir", ring.home(), "--batch",
                                   "--quiet",      "--no-tty",  "--decrypt"};
  ::lseek(run.out.get(), 0, SEEK_SET);
  int plain[2];
  if (::pipe2(plain, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) detail::exec_measured(argv, {}, run.out.get(), plain[1], 2);
  ::close(plain[1]);
  std::uint64_t offset = 0;
  std::string mismatch;
  std::vector<char> buffer(1 << 16);
  for (ssize_t n; (n = ::read(plain[0], buffer.data(), buffer.size())) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    std::string_view got(buffer.data(), static_cast<std::size_t>(n));
    if (mismatch.empty() && detail::slice(expected, offset, got.size()) != got) {
      mismatch = "plaintext differs from byte " + std::to_string(offset) + " on";
    }
    offset += got.size();
  }
  ::close(plain[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ::testing::AssertionFailure() << "gpg --decrypt failed";
  }
  if (!mismatch.empty()) return ::testing::AssertionFailure() << mismatch;
  if (offset != expected.size()) {
    return ::testing::AssertionFailure()
           << "plaintext has " << offset << " bytes, expected " << expected.size();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace gpgseal::test::cli
