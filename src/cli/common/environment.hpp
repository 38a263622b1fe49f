// The keyring directory that the environment names, the way gpg itself reads
// it: $GNUPGHOME, else $HOME/.gnupg. Shared by both command-line programs.
#pragma once

#include <string>

namespace gpgseal::cli {

// $GNUPGHOME if set and not empty, else $HOME/.gnupg, else "".
std::string gnupg_home_from_environment();

// The value of an environment variable, or "" if unset.
std::string env_or_empty(const char* name);

}  // namespace gpgseal::cli
