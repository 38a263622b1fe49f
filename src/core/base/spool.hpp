// Copies the whole input (usually a pipe) into an unlinked temp file, so the
// message becomes seekable and its body never has to sit in memory.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/fd_io.hpp"

namespace gpgseal {

struct spooled_input {
  unique_fd file;  // bytes [0, size) of the input; empty if it could not be created
  std::uint64_t size = 0;
  bool complete = false;  // the whole input is in `file`
  std::string unwritten;  // when !complete: bytes read from the input but not in `file`
  std::string failure;    // when !complete: why spooling stopped
};

// Reads `in_fd` to its end into a temp file in `temp_dir`. A failure to create or
// write the temp file is not thrown: it is reported in the result with the bytes
// still in hand, so that the caller can pass the message through unchanged (a
// full disk must not lose mail). Throws error(io) only if reading the input fails.
spooled_input spool_input(int in_fd, const std::string& temp_dir);

// Copies the input to `out_fd` after a spooling failure: the spooled bytes, the
// bytes in hand, then the rest of `in_fd` as it arrives. Throws error(io).
// Returns the number of bytes written.
std::uint64_t pass_through_unspooled(const spooled_input& spool, int in_fd, int out_fd);

// Reads `in_fd` to its end and discards it: a filter that exits before reading
// all its input makes Dovecot's LMTP delivery fail. Throws error(io).
void discard_input(int in_fd);

}  // namespace gpgseal
