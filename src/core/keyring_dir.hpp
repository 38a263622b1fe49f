// The keyring directory of one delivery: expanding a Dovecot-style template
// (`/var/vmail/%d/%n/.gnupg`) for the recipient, and refusing directories
// that another user could have planted or changed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gpgseal {

// Returns why `pattern` is not a valid template, or nullopt. Valid sequences:
// %u (full address), %n (local part), %d (domain), %% (a percent sign).
std::optional<std::string> keyring_template_problem(std::string_view pattern);

// Expands `pattern` for `address` (a plain mailbox). Throws error(config) if an
// expanded part would leave its directory: it contains '/' or "..", or is ".".
std::string expand_keyring_template(std::string_view pattern, std::string_view address);

// Checks that `gnupg_home` is a directory, owned by this process's effective
// uid, not writable by group or others, and readable. Throws error(config)
// naming the directory and the problem.
void check_keyring_directory(const std::string& gnupg_home);

// True if the directory holds a public keyring (pubring.kbx or pubring.gpg).
bool has_public_keyring(const std::string& gnupg_home);

}  // namespace gpgseal
