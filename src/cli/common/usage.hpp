// The one usage-error path of every front-end: option parsing and validation
// throw usage_error; main reports it with report_usage_error and exits 64.
#pragma once

#include <stdexcept>
#include <string>

namespace gpgseal::cli {

class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "PROGRAM: TEXT" and "Try 'PROGRAM --help' for more information." on stderr.
// Returns the exit status for a usage error.
int report_usage_error(const std::string& program, const std::string& text);

}  // namespace gpgseal::cli
