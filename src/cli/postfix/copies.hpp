// Splits one delivery into the copies Postfix gets back: each recipient in
// scope (a local domain, or any with gateway mode) whose keys the core finds
// gets a copy encrypted to those keys only; every other recipient shares one
// unchanged copy. All copies are made before any is reinjected, so a key or
// gpg failure never leaves a delivery half done.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/common/log.hpp"
#include "cli/common/options.hpp"
#include "cli/postfix/spooled_message.hpp"
#include "core/filter.hpp"

namespace gpgseal::cli::postfix {

// Which recipients are encrypted at all.
struct recipient_scope {
  std::vector<std::string> local_domains;  // lower case
  bool gateway = false;                    // every recipient, local or not
};

// True if `recipient`'s domain is one of the local domains (ignoring case),
// or with gateway mode.
bool in_scope(const std::string& recipient, const recipient_scope& scope);

struct mail_copy {
  std::vector<std::string> recipients;
  owned_fd file;  // the encrypted copy; not valid for the unchanged one
  bool encrypted = false;
};

struct copy_plan {
  std::vector<mail_copy> copies;         // the encrypted ones, then the unchanged one
  std::optional<filter_outcome> failed;  // a fail policy applied: reinject nothing
};

// Makes the copies of `message` for `recipients` (distinct). Logs one line
// per recipient. Throws std::runtime_error when a temporary file fails.
copy_plan plan_copies(const spooled_message& message, const std::vector<std::string>& recipients,
                      const recipient_scope& scope, const shared_options& options,
                      message_log& log);

}  // namespace gpgseal::cli::postfix
