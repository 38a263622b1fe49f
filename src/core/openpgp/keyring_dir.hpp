// The keyring directory of one delivery: expanding a Dovecot-style template
// (`/var/vmail/%d/%n/.gnupg`) for the recipient, and refusing directories
// that another user could have planted or changed.
#pragma once

#include <string>
#include <string_view>

#include "core/settings.hpp"

namespace gpgseal {

// keyring_template_problem() is declared with the settings it validates.

// Expands `pattern` for `address` (a plain mailbox). Throws error(config) if
// the template is not valid, or if an expanded part would leave its directory:
// it contains '/' or "..", or is ".".
std::string expand_keyring_template(std::string_view pattern, std::string_view address);

// Checks that `gnupg_home` is a directory, owned by this process's effective
// uid, not writable by group or others, and readable. Throws error(config)
// naming the directory and the problem.
void check_keyring_directory(const std::string& gnupg_home);

// True if `gnupg_home` is not empty and does not exist (ENOENT, also for a
// missing parent): nobody created it. Anything else that is wrong with it is
// check_keyring_directory's to report.
bool keyring_directory_absent(const std::string& gnupg_home);

// True if the directory holds a public keyring (pubring.kbx or pubring.gpg).
bool has_public_keyring(const std::string& gnupg_home);

}  // namespace gpgseal
