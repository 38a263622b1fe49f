#include "cli/common/environment.hpp"

#include <cstdlib>

namespace gpgseal::cli {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string gnupg_home_from_environment() {
  if (std::string env = env_or_empty("GNUPGHOME"); !env.empty()) return env;
  if (std::string home = env_or_empty("HOME"); !home.empty()) return home + "/.gnupg";
  return "";
}

}  // namespace gpgseal::cli
