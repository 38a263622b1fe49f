// Recipient addresses as gpgseal accepts them: a plain `local@domain` mailbox,
// never anything gpg could read as an option, a key ID or a search pattern.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gpgseal {

// Returns why `address` is not a plain mailbox, or nullopt if it is one.
// Rejected: empty; a leading '-', '<', '@', '=', '*' or "0x" (gpg option,
// exact-match, fingerprint, substring and key-ID prefixes); white space or
// control characters; specials outside an atom; not exactly one '@'; an empty
// local part or domain.
std::optional<std::string> mailbox_problem(std::string_view address);

// Compares two mailboxes ignoring ASCII case, as gpgseal matches user IDs.
bool same_mailbox(std::string_view a, std::string_view b) noexcept;

}  // namespace gpgseal
