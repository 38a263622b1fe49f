#include "core/base/spool.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>

#include "core/error.hpp"

namespace gpgseal {

namespace {

constexpr std::size_t chunk_size = 1 << 16;

// Returns the number of bytes read; 0 at end of input.
std::size_t read_some(int fd, char* buffer, std::size_t size) {
  for (;;) {
    ssize_t n = ::read(fd, buffer, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw system_error("cannot read the message from standard input", errno);
  }
}

}  // namespace

spooled_input spool_input(int in_fd, const std::string& temp_dir) {
  spooled_input spool;
  std::array<char, chunk_size> buffer;
  try {
    spool.file = make_unlinked_temp_file(temp_dir);
  } catch (const error& e) {
    spool.failure = e.what();
    return spool;
  }
  for (;;) {
    std::size_t n = read_some(in_fd, buffer.data(), buffer.size());
    if (n == 0) break;
    try {
      write_all(spool.file.get(), buffer.data(), n,
                "the message to a temporary file in " + temp_dir);
    } catch (const error& e) {
      // write_all may have written part of the chunk; keep the file as the
      // record of what is certainly there only up to the last whole chunk.
      spool.unwritten.assign(buffer.data(), n);
      spool.failure = e.what();
      return spool;
    }
    spool.size += n;
  }
  spool.complete = true;
  return spool;
}

std::uint64_t pass_through_unspooled(const spooled_input& spool, int in_fd, int out_fd) {
  const std::string what = "the message to standard output";
  if (spool.file && spool.size > 0) copy_range(spool.file.get(), 0, spool.size, out_fd, what);
  write_all(out_fd, spool.unwritten.data(), spool.unwritten.size(), what);
  std::uint64_t total = spool.size + spool.unwritten.size();
  std::array<char, chunk_size> buffer;
  for (;;) {
    std::size_t n = read_some(in_fd, buffer.data(), buffer.size());
    if (n == 0) break;
    write_all(out_fd, buffer.data(), n, what);
    total += n;
  }
  return total;
}

void discard_input(int in_fd) {
  std::array<char, chunk_size> buffer;
  while (read_some(in_fd, buffer.data(), buffer.size()) > 0) {
  }
}

}  // namespace gpgseal
