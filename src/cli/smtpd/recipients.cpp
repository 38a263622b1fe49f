#include "cli/smtpd/recipients.hpp"

#include <algorithm>
#include <cctype>

#include "cli/common/usage.hpp"
#include "core/settings.hpp"

namespace gpgseal::smtpd {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string domain_of(const std::string& address) {
  return lower(address.substr(address.rfind('@') + 1));
}

// Which parts of an address a keyring template depends on: 'u', 'n', 'd'.
std::string template_parts(const std::string& pattern) {
  std::string parts;
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    char c = pattern[++i];
    if (c != '%') parts.push_back(c);
  }
  return parts;
}

std::string part_of(const std::string& address, char part) {
  auto at = address.rfind('@');
  switch (part) {
    case 'n':
      return address.substr(0, at);
    case 'd':
      return domain_of(address);
    default:
      return address;
  }
}

}  // namespace

recipient_verdict check_recipients(const std::vector<std::string>& recipients,
                                   const std::vector<std::string>& local_domains,
                                   const cli::shared_options& options) {
  if (recipients.empty()) return {false, "no recipients"};
  for (const auto& r : recipients) {
    if (auto problem = mailbox_problem(r)) return {false, "<" + r + ">: " + *problem};
    if (!local_domains.empty() && std::find(local_domains.begin(), local_domains.end(),
                                            domain_of(r)) == local_domains.end()) {
      return {false, "<" + r + "> is not in a --local-domain"};
    }
  }
  if (options.gnupg_home) {
    for (char part : template_parts(*options.gnupg_home)) {
      for (const auto& r : recipients) {
        if (part_of(r, part) != part_of(recipients.front(), part)) {
          return {false, "<" + recipients.front() + "> and <" + r +
                             "> have separate keyrings (--gnupghome " + *options.gnupg_home + ")"};
        }
      }
    }
  }
  return {true, ""};
}

void check_domains(std::vector<std::string>& domains) {
  for (auto& d : domains) {
    d = lower(d);
    if (auto problem = mailbox_problem("postmaster@" + d)) {
      throw cli::usage_error("--local-domain '" + d + "': " + *problem);
    }
  }
}

}  // namespace gpgseal::smtpd
