#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gpgseal::test {

namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void exec_child(std::vector<std::string> argv, const process_options& options, int in,
                             int out, int err) {
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  for (int fd = 3; fd < 1024; ++fd) close(fd);
  if (options.run_as_uid &&
      setresuid(*options.run_as_uid, *options.run_as_uid, *options.run_as_uid) != 0) {
    _exit(126);
  }
  auto args = c_strings(argv);
  if (options.env) {
    std::vector<std::string> env = *options.env;
    auto envp = c_strings(env);
    execve(args[0], args.data(), envp.data());
  } else {
    execvp(args[0], args.data());
  }
  _exit(127);
}

// Pumps stdin and drains stdout/stderr at the same time, so a child that
// writes a lot before reading everything cannot deadlock the test.
void pump(int in, int out, int err, const std::string& input, const process_options& options,
          process_result& result) {
  std::size_t written = 0;
  if (options.close_stdin_early || input.empty()) {
    close(in);
    in = -1;
  }
  // Non-blocking, so a child that writes a lot before reading all its input
  // cannot leave both sides waiting on each other.
  if (in >= 0) fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
  char buffer[65536];
  while (in >= 0 || out >= 0 || err >= 0) {
    pollfd fds[3] = {{in, POLLOUT, 0}, {out, POLLIN, 0}, {err, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll failed");
    }
    if (in >= 0 && fds[0].revents) {
      std::size_t chunk = options.input_chunk ? options.input_chunk : input.size() - written;
      ssize_t n = write(in, input.data() + written, std::min(chunk, input.size() - written));
      if (n > 0) written += static_cast<std::size_t>(n);
      bool retry = n < 0 && (errno == EAGAIN || errno == EINTR);
      if ((n < 0 && !retry) || written == input.size()) {
        close(in);
        in = -1;
      }
    }
    for (int i = 1; i < 3; ++i) {
      int& fd = i == 1 ? out : err;
      if (fd < 0 || !fds[i].revents) continue;
      ssize_t n = read(fd, buffer, sizeof buffer);
      if (n > 0) {
        (i == 1 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
      } else {
        close(fd);
        fd = -1;
      }
    }
  }
}

}  // namespace

process_result run_process(const std::vector<std::string>& argv, const std::string& input,
                           const process_options& options) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    throw std::runtime_error("pipe failed");
  }
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) exec_child(argv, options, in[0], out[1], err[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  process_result result;
  pump(in[1], out[0], err[0], input, options, result);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

std::string run_checked(const std::vector<std::string>& argv, const std::string& input) {
  process_result r = run_process(argv, input);
  if (r.exit_code != 0) {
    throw std::runtime_error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed (" +
                             std::to_string(r.exit_code) + "): " + r.err);
  }
  return r.out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string make_temp_dir() {
  std::string pattern = std::filesystem::temp_directory_path().string() + "/gpgseal-test.XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  chmod(pattern.c_str(), 0700);
  return pattern;
}

void remove_tree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

}  // namespace gpgseal::test
