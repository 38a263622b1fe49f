#include "core/cms/always_trust.hpp"

#include <array>
#include <cctype>
#include <optional>

namespace gpgseal::detail {

namespace {

using version = std::array<int, 3>;  // major, minor, micro

// "2.4.4-beta3" → {2, 4, 4}: three dot-separated numbers, anything after.
std::optional<version> parse_version(std::string_view text) {
  version parts{};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      if (text.empty() || text.front() != '.') return std::nullopt;
      text.remove_prefix(1);
    }
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front()))) {
      return std::nullopt;
    }
    int value = 0;
    while (!text.empty() && std::isdigit(static_cast<unsigned char>(text.front()))) {
      if (value > 100000) return std::nullopt;
      value = value * 10 + (text.front() - '0');
      text.remove_prefix(1);
    }
    parts[i] = value;
  }
  return parts;
}

}  // namespace

bool cms_always_trust_works(std::string_view gpgme_version, std::string_view gpgsm_version) {
  const auto gpgme = parse_version(gpgme_version);
  const auto gpgsm = parse_version(gpgsm_version);
  if (!gpgme || !gpgsm || *gpgme < version{1, 23, 0}) return false;
  // 2.3 ended (2.3.8) before either release that has it.
  if ((*gpgsm)[0] == 2 && (*gpgsm)[1] == 2) return *gpgsm >= version{2, 2, 42};
  return *gpgsm >= version{2, 4, 4};
}

}  // namespace gpgseal::detail
