#include "support/run_core.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace gpgseal::test {

namespace {

int memory_file(const char* name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error("memfd_create failed");
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  char buffer[65536];
  lseek(fd, 0, SEEK_SET);
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

}  // namespace

unique_fd fd_with(const std::string& bytes) {
  unique_fd fd(memory_file("spool"));
  if (write(fd.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error("write failed");
  }
  return fd;
}

filter_options options_for(const std::string& gnupg_home, std::vector<std::string> addresses) {
  filter_options options;
  options.gnupg_home = gnupg_home;
  options.addresses = std::move(addresses);
  return options;
}

core_run run_core(const std::string& input, const filter_options& options, feed how) {
  int out = memory_file("out");
  core_run run;
  if (how == feed::file) {
    int in = memory_file("in");
    if (write(in, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
      throw std::runtime_error("write failed");
    }
    lseek(in, 0, SEEK_SET);
    run.outcome = run_filter(in, out, options, options);
    close(in);
  } else {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::thread writer([&] {
      for (char c : input) {
        if (write(fds[1], &c, 1) != 1) break;
      }
      close(fds[1]);
    });
    run.outcome = run_filter(fds[0], out, options, options);
    writer.join();
    close(fds[0]);
  }
  run.output = read_all(out);
  close(out);
  return run;
}

}  // namespace gpgseal::test
