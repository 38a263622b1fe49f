#include <array>

#include "core/maildir.hpp"

namespace gpgseal {

namespace {

struct result_info {
  const char* text;
  std::size_t maildir_summary::*counter;
};

// In the order of message_result.
constexpr std::array<result_info, 13> results = {{
    {"encrypted", &maildir_summary::encrypted},
    {"already encrypted", &maildir_summary::already_encrypted},
    {"without key", &maildir_summary::no_key},
    {"changed underneath", &maildir_summary::changed},
    {"failed", &maildir_summary::failed},
    {"not inline", &maildir_summary::not_inline},
    {"outside the date range", &maildir_summary::outside_dates},
    {"larger than the size limit", &maildir_summary::too_large},
    {"a mail_crypt file", &maildir_summary::server_encrypted},
    {"would encrypt", &maildir_summary::would_encrypt},
    {"removed leftover", &maildir_summary::leftovers_removed},
    {"would remove leftover", &maildir_summary::leftovers_removed},
    {"interrupted", &maildir_summary::interrupted},
}};
static_assert(results.size() == static_cast<std::size_t>(message_result::interrupted) + 1);

}  // namespace

const char* describe(message_result result) noexcept {
  return results.at(static_cast<std::size_t>(result)).text;
}

void maildir_summary::count(const message_report& report) noexcept {
  ++seen;
  if (report.retried) ++retried;
  ++(this->*results.at(static_cast<std::size_t>(report.result)).counter);
}

}  // namespace gpgseal
