// gpgseal-maildir: encrypts the mail already stored in a Maildir, in place,
// the way gpgseal encrypts new mail at delivery.
//
// parse → validate → run the core over the Maildir → print the summary → map
// it to an exit status. Exit status (<sysexits.h>): 0 when every message was
// handled (encrypted, already encrypted, without key, or changed by Dovecot
// meanwhile); 75 (EX_TEMPFAIL) when a message or folder failed or the run was
// interrupted, so that running it again is the remedy; 64 for a usage error or
// a MAILDIR that is not a Maildir; the keyring's error status (e.g. 78) when
// the keys cannot be checked at all, before anything is touched.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli/common/environment.hpp"
#include "cli/common/exit_status.hpp"
#include "cli/common/explain.hpp"
#include "cli/common/maildir_console.hpp"
#include "cli/common/options.hpp"
#include "cli/common/privileges.hpp"
#include "cli/common/usage.hpp"
#include "cli/maildir/when.hpp"
#include "core/filter.hpp"
#include "core/maildir.hpp"

namespace {

using namespace gpgseal::cli;

constexpr const char* program = "gpgseal-maildir";
// Each job runs its own gpg processes; far more than the cores only adds load.
constexpr unsigned max_jobs = 256;

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int /*signal*/) { stop_requested.store(true); }

// What this front-end adds to the shared options.
struct maildir_command {
  shared_options shared;
  bool verbose = false;
  bool progress_bar = false;
  std::string maildir;
  gpgseal::seal_settings settings;
  gpgseal::maildir_run run;
};

command_line maildir_command_line() {
  command_line cl(program, keyring_options | encryption_options | limit_options);
  // clang-format off
  cl.own_options().add_options()
      ("dry-run,n", "show what would change; write nothing")
      ("jobs,j", po::value<unsigned>()->value_name("N"),
       "messages encrypted in parallel (default: the number of cores)")
      ("no-recurse", "only MAILDIR itself, not its Maildir++ subfolders (.Sent, ...)")
      ("newer-than", po::value<std::string>()->value_name("WHEN"),
       "only messages received after WHEN (their mtime, the IMAP INTERNALDATE)")
      ("older-than", po::value<std::string>()->value_name("WHEN"),
       "only messages received before WHEN")
      ("progress", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       "progress bar on stderr: auto (on a terminal), always or never")
      ("verbose,v", "a line on stdout for every message");
  // clang-format on
  cl.add_positional("maildir", 1);
  cl.add_positional("address", -1);
  return cl;
}

void print_help(const command_line& cl) {
  std::cout << "Usage: gpgseal-maildir [OPTIONS] MAILDIR ADDRESS...\n"
               "Encrypt every message stored in MAILDIR (cur/ and new/, and those of its\n"
               "Maildir++ subfolders) to the OpenPGP keys of ADDRESS..., in place, as gpgseal\n"
               "does at delivery. Messages already encrypted, and all messages when an\n"
               "address has no usable key, are left untouched. Safe on a live Dovecot server:\n"
               "each message is replaced atomically under its own name and flags.\n\n";
  cl.print_options(std::cout);
  std::cout << "\nWHEN is an age (45s, 90m, 12h, 30d, 2w) or a local date (YYYY-MM-DD or\n"
               "YYYY-MM-DDTHH:MM[:SS]).\n"
               "Run as root without --gnupghome or $GNUPGHOME, it works as the owner of\n"
               "MAILDIR, with the keyring ~/.gnupg of that owner.\n"
               "gpgseal's --on-missing-key and --on-error do not apply: a stored message\n"
               "without key, or one that cannot be encrypted, always stays as it is.\n"
               "Exit status: 0 all messages handled; 75 some message or folder failed, or the\n"
               "run was interrupted (run it again); 64 usage error; 78 (or the keyring's own\n"
               "error status) the keyring cannot be used, checked before anything is touched.\n";
}

unsigned default_jobs() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

std::time_t point_in_time(const std::string& text) {
  try {
    return parse_point_in_time(text, std::time(nullptr));
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
}

gpgseal::maildir_run run_from(const po::variables_map& vm) {
  gpgseal::maildir_run run;
  run.recurse = vm.count("no-recurse") == 0;
  run.dry_run = vm.count("dry-run") > 0;
  unsigned jobs = vm.count("jobs") ? vm["jobs"].as<unsigned>() : 0;
  if (jobs > max_jobs) {
    throw usage_error("--jobs " + std::to_string(jobs) + ": use at most " +
                      std::to_string(max_jobs));
  }
  run.jobs = jobs == 0 ? default_jobs() : jobs;
  if (vm.count("newer-than")) run.newer_than = point_in_time(vm["newer-than"].as<std::string>());
  if (vm.count("older-than")) run.older_than = point_in_time(vm["older-than"].as<std::string>());
  run.stop = &stop_requested;
  return run;
}

// Throws usage_error.
maildir_command parse_command(const command_line& cl, int argc, char** argv) {
  po::variables_map vm;
  maildir_command command;
  command.shared = cl.parse(argc, argv, vm);
  if (command.shared.help || command.shared.version) return command;
  if (vm.count("maildir") == 0) throw usage_error("no MAILDIR given");
  command.maildir = vm["maildir"].as<std::string>();
  command.settings = settings_for(command.shared, recipient_addresses(vm, "address"));
  command.verbose = vm.count("verbose") > 0;
  command.progress_bar = progress_bar_from(vm["progress"].as<std::string>());
  command.run = run_from(vm);
  return command;
}

// SIGINT, SIGTERM, SIGHUP: finish the messages in flight, remove our temp
// files, print the summary. A second signal kills at once (SA_RESETHAND);
// the next run cleans up after that too.
void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal, &action, nullptr);
}

// Run as root with no keyring named (the README's example): root's own
// ~/.gnupg is not the user's. The work is done as the Maildir's owner, with
// the keyring in that owner's home, as delivery would. Throws gpgseal::error.
void become_maildir_owner_if_root(maildir_command& command) {
  if (::geteuid() != 0 || command.shared.gnupg_home || command.shared.home_from_passwd ||
      !env_or_empty("GNUPGHOME").empty()) {
    return;
  }
  struct stat st {};
  if (::stat(command.maildir.c_str(), &st) != 0 || st.st_uid == 0) return;
  auto account = account_of_uid(st.st_uid);
  if (!account) {
    throw gpgseal::error(gpgseal::error_kind::config,
                         command.maildir + " belongs to uid " + std::to_string(st.st_uid) +
                             ", which has no home in the password database; name the keyring "
                             "with --gnupghome");
  }
  become(*account);
  command.settings = settings_for(command.shared, command.settings.addresses);
}

int run(maildir_command& command) {
  maildir_console console(std::cout, std::cerr, command.progress_bar, command.verbose);
  command.run.on_start = [&](std::size_t total) { console.start(total); };
  command.run.on_report = [&](const gpgseal::message_report& r) { console.report(r); };
  catch_stop_signals();
  try {
    become_maildir_owner_if_root(command);
    // Before the --jobs threads start.
    gpgseal::enable_smime_for_every_message();
    gpgseal::maildir_summary summary = gpgseal::encrypt_maildir(
        command.maildir, command.settings, limits_for(command.shared), command.run);
    console.finish();
    if (!summary.keys_available) {
      std::cerr << program << ": " << summary.no_key_detail
                << "; messages not yet encrypted are left as they are\n";
    }
    console.summary(summary, command.run.dry_run);
    std::cout.flush();
    if (!std::cout) return exit_status(ending::io);
    return exit_status(ending_for(summary));
  } catch (const gpgseal::error& e) {
    console.finish();
    if (e.kind() == gpgseal::error_kind::bad_target) return report_usage_error(program, e.what());
    std::cerr << program << ": " << explain(e, command.settings) << "\n";
    return exit_status(ending_for(e.kind()));
  } catch (const std::exception& e) {
    console.finish();
    std::cerr << program << ": internal error: " << e.what() << "\n";
    return exit_status(ending::software);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  command_line cl = maildir_command_line();
  maildir_command command;
  try {
    command = parse_command(cl, argc, argv);
  } catch (const usage_error& e) {
    return report_usage_error(program, e.what());
  }
  if (auto status = answer_help_or_version(cl, command.shared, print_help)) return *status;
  return run(command);
}
