// Runs the core filter in-process on a byte string, as the CLI would on
// stdin/stdout, and returns what it wrote and its outcome.
#pragma once

#include <string>

#include "core/base/fd_io.hpp"
#include "core/filter.hpp"

namespace gpgseal::test {

struct core_run {
  filter_outcome outcome;
  std::string output;
};

enum class feed { file, pipe_one_byte_at_a_time };

// Settings and policy in one value, so that a test states only what it varies.
struct filter_options : seal_settings, failure_policy {};

core_run run_core(const std::string& input, const filter_options& options, feed how = feed::file);

// A readable descriptor holding `bytes` (a memfd), for units that read a spool.
unique_fd fd_with(const std::string& bytes);

filter_options options_for(const std::string& gnupg_home, std::vector<std::string> addresses);

}  // namespace gpgseal::test
