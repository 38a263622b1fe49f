// Recipient addresses as gpgseal accepts them: a plain `local@domain` mailbox,
// never anything gpg could read as an option, a key ID or a search pattern.
#pragma once

#include <string_view>

#include "core/settings.hpp"

namespace gpgseal {

// mailbox_problem() is declared with the settings it validates.

// Compares two mailboxes ignoring ASCII case, as gpgseal matches user IDs.
bool same_mailbox(std::string_view a, std::string_view b) noexcept;

}  // namespace gpgseal
