#include "cli/postfix/copies.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "cli/common/exit_status.hpp"
#include "cli/common/explain.hpp"

namespace gpgseal::cli::postfix {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

filter_outcome left_unchanged(const spooled_message& message, std::string why) {
  filter_outcome outcome;
  outcome.action = filter_action::passed_through;
  outcome.detail = std::move(why);
  outcome.bytes_in = outcome.bytes_out = message.size;
  return outcome;
}

// The recipient's own copy through the core filter, into `out`.
filter_outcome seal_for(const spooled_message& message, const std::string& recipient, int out,
                        const shared_options& options, message_log& log) {
  seal_settings settings = settings_for(options, {recipient});
  // Stuck well past --timeout: nothing has been reinjected yet, so deferring
  // the whole delivery loses and duplicates nothing.
  auto on_abandoned = [&](const filter_outcome& outcome) {
    filter_outcome stuck = outcome;
    stuck.detail = explain(outcome, options, settings);
    log.outcome(stuck, {recipient});
    std::_Exit(exit_status(ending::tempfail));
  };
  rewind(message.file.get());
  filter_outcome outcome =
      run_filter(message.file.get(), out, settings, policy_for(options), on_abandoned);
  outcome.detail = explain(outcome, options, settings);
  return outcome;
}

}  // namespace

bool in_scope(const std::string& recipient, const recipient_scope& scope) {
  if (scope.gateway) return true;
  auto at = recipient.rfind('@');
  if (at == std::string::npos) return false;
  std::string domain = lower(recipient.substr(at + 1));
  return std::find(scope.local_domains.begin(), scope.local_domains.end(), domain) !=
         scope.local_domains.end();
}

copy_plan plan_copies(const spooled_message& message, const std::vector<std::string>& recipients,
                      const recipient_scope& scope, const shared_options& options,
                      message_log& log) {
  copy_plan plan;
  mail_copy unchanged;
  for (const auto& recipient : recipients) {
    // An address that is no plain mailbox (a quoted local part) can match no
    // key: it shares the unchanged copy.
    std::optional<std::string> why;
    if (!in_scope(recipient, scope)) {
      why = "the recipient is not in a local domain (--local-domain; see --gateway)";
    } else if (auto problem = mailbox_problem(recipient)) {
      why = "the recipient is not a plain mailbox address: " + *problem;
    }
    if (why) {
      log.outcome(left_unchanged(message, *why), {recipient});
      unchanged.recipients.push_back(recipient);
      continue;
    }
    mail_copy copy;
    copy.file = anonymous_file(settings_for(options, {recipient}).temp_dir);
    filter_outcome outcome = seal_for(message, recipient, copy.file.get(), options, log);
    log.outcome(outcome, {recipient});
    if (outcome.action == filter_action::failed) {
      plan.failed = outcome;
      return plan;
    }
    if (outcome.action == filter_action::encrypted) {
      copy.recipients = {recipient};
      copy.encrypted = true;
      plan.copies.push_back(std::move(copy));
    } else {
      unchanged.recipients.push_back(recipient);
    }
  }
  if (!unchanged.recipients.empty()) plan.copies.push_back(std::move(unchanged));
  return plan;
}

}  // namespace gpgseal::cli::postfix
