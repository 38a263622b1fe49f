#include "cli/common/usage.hpp"

#include <iostream>

#include "cli/common/exit_status.hpp"

namespace gpgseal::cli {

int report_usage_error(const std::string& program, const std::string& text) {
  std::cerr << program << ": " << text << "\nTry '" << program
            << " --help' for more information.\n";
  return exit_status(ending::usage);
}

}  // namespace gpgseal::cli
