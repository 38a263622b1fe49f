// gpgseal-postfix: a Postfix content filter (FILTER_README's "simple content
// filter"), run by a pipe(8) service as
//   gpgseal-postfix [OPTIONS] -f ${sender} -- ${recipient}
// Each recipient in a local domain with a usable key gets a copy encrypted to
// that recipient's keys only; the others share one unchanged copy. Every copy
// goes back to Postfix through sendmail (reinject.hpp).
//
// parse → spool → make every copy (copies.hpp) → reinject them in order,
// recording each in the journal (journal.hpp) → exit status. Postfix bounces
// a message on most non-zero statuses, so every failure here, a usage error
// included, exits 75 (EX_TEMPFAIL): Postfix keeps the message and retries.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/common/exit_status.hpp"
#include "cli/common/log.hpp"
#include "cli/common/options.hpp"
#include "cli/common/signals.hpp"
#include "cli/common/usage.hpp"
#include "cli/postfix/copies.hpp"
#include "cli/postfix/journal.hpp"
#include "cli/postfix/reinject.hpp"
#include "cli/postfix/spooled_message.hpp"
#include "core/filter.hpp"

namespace {

using namespace gpgseal::cli;
using namespace gpgseal::cli::postfix;

constexpr const char* program = "gpgseal-postfix";

// What this front-end adds to the shared options.
struct postfix_command {
  shared_options shared;
  std::string sender;
  std::vector<std::string> recipients;
  recipient_scope scope;
  std::string sendmail;
  std::string queue_id;
  std::string state_dir;
};

command_line postfix_command_line() {
  command_line cl(program, keyring_options | encryption_options | delivery_policy | limit_options |
                               logging_options);
  cl.set_on_error_default(gpgseal::on_failure::fail);
  // clang-format off
  cl.own_options().add_options()
      ("sender,f", po::value<std::string>()->value_name("ADDRESS"),
       "the envelope sender, ${sender} (empty for a bounce with null_sender=)")
      ("local-domain", po::value<std::vector<std::string>>()->value_name("DOMAIN"),
       "encrypt for recipients in DOMAIN (repeat for each local domain)")
      ("gateway", "encrypt for every recipient, local or not")
      ("queue-id", po::value<std::string>()->value_name("ID"), "the queue ID, ${queue_id}")
      ("state-dir", po::value<std::string>()->value_name("DIR"),
       "the reinjection journal: which copies of a deferred delivery are already queued")
      ("sendmail", po::value<std::string>()->value_name("PATH")->default_value("/usr/sbin/sendmail"),
       "Postfix's sendmail, which puts each copy back into the queue");
  // clang-format on
  cl.add_positional("recipient", -1);
  return cl;
}

std::string required(const po::variables_map& vm, const char* name) {
  if (vm.count(name) == 0) throw usage_error(std::string("--") + name + " is required");
  return vm[name].as<std::string>();
}

recipient_scope scope_from(const po::variables_map& vm) {
  recipient_scope scope;
  scope.gateway = vm.count("gateway") > 0;
  if (vm.count("local-domain") > 0) {
    for (auto domain : vm["local-domain"].as<std::vector<std::string>>()) {
      if (domain.empty() || gpgseal::mailbox_problem("postmaster@" + domain)) {
        throw usage_error("--local-domain '" + domain + "' is not a domain");
      }
      std::transform(domain.begin(), domain.end(), domain.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      scope.local_domains.push_back(domain);
    }
  }
  if (!scope.gateway && scope.local_domains.empty()) {
    throw usage_error("name the domains to encrypt for with --local-domain, or use --gateway");
  }
  return scope;
}

// Postfix already passes each recipient once; a repeat must not get two copies.
std::vector<std::string> distinct_recipients(const po::variables_map& vm) {
  if (vm.count("recipient") == 0) throw usage_error("no RECIPIENT given");
  std::vector<std::string> distinct;
  for (const auto& recipient : vm["recipient"].as<std::vector<std::string>>()) {
    if (recipient.empty()) throw usage_error("an empty RECIPIENT");
    if (std::find(distinct.begin(), distinct.end(), recipient) == distinct.end()) {
      distinct.push_back(recipient);
    }
  }
  return distinct;
}

postfix_command parse(const command_line& cl, int argc, char** argv) {
  po::variables_map vm;
  postfix_command command;
  command.shared = cl.parse(argc, argv, vm);
  if (command.shared.help || command.shared.version) return command;
  command.sender = required(vm, "sender");
  command.recipients = distinct_recipients(vm);
  command.scope = scope_from(vm);
  command.sendmail = vm["sendmail"].as<std::string>();
  command.queue_id = required(vm, "queue-id");
  command.state_dir = required(vm, "state-dir");
  if (auto problem = queue_id_problem(command.queue_id)) {
    throw usage_error("--queue-id " + command.queue_id + ": " + *problem);
  }
  return command;
}

void print_help(const command_line& cl) {
  std::cout
      << "Usage: gpgseal-postfix [OPTIONS] -f SENDER -- RECIPIENT...\n"
         "A Postfix content filter for a pipe(8) service. Each RECIPIENT in a local domain\n"
         "with a usable OpenPGP key gets a copy encrypted to that recipient's keys only; all\n"
         "others share one unchanged copy. Each copy goes back to Postfix with\n"
         "'sendmail -G -i -f SENDER -- RECIPIENT...'.\n\n";
  cl.print_options(std::cout);
  std::cout << "\nExit status: 0 every copy is queued; 75 anything else (Postfix defers and\n"
               "retries; copies already queued are recorded in --state-dir and not sent again).\n";
}

int deferred() { return exit_status(ending::tempfail); }

// The recipients whose copy an earlier attempt has not queued.
std::vector<std::string> still_to_do(const std::vector<std::string>& recipients,
                                     const reinjection_journal& journal) {
  std::vector<std::string> left;
  for (const auto& recipient : recipients) {
    if (!journal.done(recipient)) left.push_back(recipient);
  }
  return left;
}

int reinject_all(const postfix_command& command, const spooled_message& message,
                 const copy_plan& plan, const reinjection_journal& journal, message_log& log) {
  std::size_t queued = 0;
  for (const auto& copy : plan.copies) {
    int fd = copy.encrypted ? copy.file.get() : message.file.get();
    if (auto problem = reinject(command.sendmail, command.sender, copy.recipients, fd)) {
      log.failure("cannot reinject the " + std::string(copy.encrypted ? "encrypted" : "unchanged") +
                  " copy for " + std::to_string(copy.recipients.size()) +
                  " recipient(s): " + *problem + "; deferred, " + std::to_string(queued) +
                  " copies already queued are not sent again");
      return deferred();
    }
    journal.record(copy.recipients);
    ++queued;
  }
  return exit_status(ending::ok);
}

int run(const postfix_command& command) {
  message_log log(command.shared.log, command.shared.syslog_facility);
  try {
    if (auto problem = journal_dir_problem(command.state_dir)) {
      throw std::runtime_error("--state-dir " + command.state_dir + ": " + *problem);
    }
    std::string temp_dir = settings_for(command.shared, {}).temp_dir;
    spooled_message message = spool_message(STDIN_FILENO, temp_dir);
    if (message.size == 0) throw std::runtime_error("empty input is no message");
    // One copy per recipient, each with its own keyring: S/MIME for any of them.
    gpgseal::enable_smime_for_every_message();
    reinjection_journal journal(command.state_dir, command.queue_id, message.sha256,
                                sha256_of(command.sender));
    journal.prune();
    std::vector<std::string> left = still_to_do(command.recipients, journal);
    copy_plan plan = plan_copies(message, left, command.scope, command.shared, log);
    if (plan.failed) return deferred();
    int status = reinject_all(command, message, plan, journal, log);
    if (status == exit_status(ending::ok)) journal.forget(command.recipients);
    return status;
  } catch (const std::exception& e) {
    log.failure(std::string(e.what()) + "; deferred");
    return deferred();
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  report_termination_signals(program);
  command_line cl = postfix_command_line();
  postfix_command command;
  try {
    command = parse(cl, argc, argv);
  } catch (const usage_error& e) {
    // A typo in master.cf must defer mail, not bounce it.
    report_usage_error(program, e.what());
    return deferred();
  }
  if (auto status = answer_help_or_version(cl, command.shared, print_help)) return *status;
  return run(command);
}
