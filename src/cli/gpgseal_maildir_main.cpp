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
#include <sysexits.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli/exit_status.hpp"
#include "cli/gnupg_environment.hpp"
#include "cli/maildir_console.hpp"
#include "cli/maildir_when.hpp"
#include "core/address.hpp"
#include "core/error.hpp"
#include "core/maildir_encrypt.hpp"
#include "gpgseal/version.hpp"

namespace po = boost::program_options;

namespace {

constexpr const char* program = "gpgseal-maildir";
// Each job runs its own gpg processes; far more than the cores only adds load.
constexpr unsigned max_jobs = 256;

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int /*signal*/) { stop_requested.store(true); }

struct command_line {
  bool help = false;
  bool version = false;
  std::optional<std::string> gnupg_home;
  bool dry_run = false;
  bool key_cache = true;
  bool recurse = true;
  bool verbose = false;
  std::string progress = "auto";
  std::string encrypt_mode = "pgpmime";
  bool inline_flatten = false;
  unsigned jobs = 0;
  std::optional<std::string> newer_than;
  std::optional<std::string> older_than;
  std::string maildir;
  std::vector<std::string> addresses;
};

po::options_description visible_options() {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("gnupghome", po::value<std::string>()->value_name("DIR"),
       "keyring directory (default: $GNUPGHOME, else $HOME/.gnupg)")
      ("dry-run,n", "show what would change; write nothing")
      ("no-key-cache", "as for gpgseal: list the keyring for every message")
      ("jobs,j", po::value<unsigned>()->value_name("N"),
       "messages encrypted in parallel (default: the number of cores)")
      ("no-recurse", "only MAILDIR itself, not its Maildir++ subfolders (.Sent, ...)")
      ("newer-than", po::value<std::string>()->value_name("WHEN"),
       "only messages received after WHEN (their mtime, the IMAP INTERNALDATE)")
      ("older-than", po::value<std::string>()->value_name("WHEN"),
       "only messages received before WHEN")
      ("encrypt-mode", po::value<std::string>()->value_name("MODE")->default_value("pgpmime"),
       "as for gpgseal: pgpmime, prefer-inline or inline-or-plain")
      ("inline-flatten", "as for gpgseal, with an inline mode")
      ("progress", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       "progress bar on stderr: auto (on a terminal), always or never")
      ("verbose,v", "a line on stdout for every message");
  // clang-format on
  return options;
}

void print_help(std::ostream& out) {
  out << "Usage: gpgseal-maildir [OPTIONS] MAILDIR ADDRESS...\n"
         "Encrypt every message stored in MAILDIR (cur/ and new/, and those of its\n"
         "Maildir++ subfolders) to the OpenPGP keys of ADDRESS..., in place, as gpgseal\n"
         "does at delivery. Messages already encrypted, and all messages when an\n"
         "address has no usable key, are left untouched. Safe on a live Dovecot server:\n"
         "each message is replaced atomically under its own name and flags.\n\n"
      << visible_options()
      << "\nWHEN is an age (45s, 90m, 12h, 30d, 2w) or a local date (YYYY-MM-DD or\n"
         "YYYY-MM-DDTHH:MM[:SS]).\n"
         "Exit status: 0 all messages handled; 75 some message or folder failed, or the\n"
         "run was interrupted (run it again); 64 usage error.\n";
}

command_line parse(int argc, char** argv) {
  po::options_description all = visible_options();
  all.add_options()("maildir", po::value<std::string>())("address",
                                                         po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("maildir", 1).add("address", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
  po::notify(vm);
  command_line cl;
  cl.help = vm.count("help") > 0;
  cl.version = vm.count("version") > 0;
  cl.dry_run = vm.count("dry-run") > 0;
  cl.key_cache = vm.count("no-key-cache") == 0;
  cl.recurse = vm.count("no-recurse") == 0;
  cl.verbose = vm.count("verbose") > 0;
  cl.progress = vm["progress"].as<std::string>();
  cl.encrypt_mode = vm["encrypt-mode"].as<std::string>();
  cl.inline_flatten = vm.count("inline-flatten") > 0;
  if (vm.count("gnupghome")) cl.gnupg_home = vm["gnupghome"].as<std::string>();
  if (vm.count("jobs")) cl.jobs = vm["jobs"].as<unsigned>();
  if (vm.count("newer-than")) cl.newer_than = vm["newer-than"].as<std::string>();
  if (vm.count("older-than")) cl.older_than = vm["older-than"].as<std::string>();
  if (vm.count("maildir")) cl.maildir = vm["maildir"].as<std::string>();
  if (vm.count("address")) cl.addresses = vm["address"].as<std::vector<std::string>>();
  return cl;
}

int usage_error(const std::string& text) {
  std::cerr << program << ": " << text << "\nTry 'gpgseal-maildir --help' for more information.\n";
  return EX_USAGE;
}

std::optional<gpgseal::encrypt_mode> mode_from(const std::string& value) {
  if (value == "pgpmime") return gpgseal::encrypt_mode::pgp_mime;
  if (value == "prefer-inline") return gpgseal::encrypt_mode::prefer_inline;
  if (value == "inline-or-plain") return gpgseal::encrypt_mode::inline_or_plain;
  return std::nullopt;
}

std::optional<std::string> validation_problem(const command_line& cl) {
  if (cl.maildir.empty()) return "no MAILDIR given";
  if (cl.addresses.empty()) return "no recipient ADDRESS given";
  for (const auto& address : cl.addresses) {
    if (auto problem = gpgseal::mailbox_problem(address)) {
      return "'" + address + "' is not a plain mailbox address: " + *problem;
    }
  }
  if (cl.progress != "auto" && cl.progress != "always" && cl.progress != "never") {
    return "--progress " + cl.progress + " (use auto, always or never)";
  }
  if (cl.jobs > max_jobs) {
    return "--jobs " + std::to_string(cl.jobs) + ": use at most " + std::to_string(max_jobs);
  }
  if (!mode_from(cl.encrypt_mode)) {
    return "--encrypt-mode " + cl.encrypt_mode + ": use pgpmime, prefer-inline or inline-or-plain";
  }
  if (cl.inline_flatten && cl.encrypt_mode == "pgpmime") {
    return "--inline-flatten needs --encrypt-mode prefer-inline or inline-or-plain";
  }
  return std::nullopt;
}

// --gnupghome, then $GNUPGHOME, then $HOME/.gnupg, exactly as gpgseal.
std::string resolve_gnupg_home(const command_line& cl) {
  return cl.gnupg_home ? *cl.gnupg_home : gpgseal::cli::gnupg_home_from_environment();
}

unsigned default_jobs() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

// Throws std::invalid_argument for a bad WHEN.
gpgseal::maildir_options maildir_options_from(const command_line& cl) {
  gpgseal::maildir_options options;
  options.filter.addresses = cl.addresses;
  options.filter.gnupg_home = resolve_gnupg_home(cl);
  options.filter.engine_default_home = gpgseal::cli::gnupg_home_from_environment();
  options.filter.key_cache = cl.key_cache;
  // As for gpgseal: %u, %n and %d expand for the first ADDRESS.
  options.filter.gnupg_home_is_template =
      cl.gnupg_home && cl.gnupg_home->find('%') != std::string::npos;
  std::string tmp = gpgseal::cli::env_or_empty("TMPDIR");
  options.filter.temp_dir = tmp.empty() ? "/tmp" : tmp;
  options.filter.mode = *mode_from(cl.encrypt_mode);
  options.filter.inline_flatten = cl.inline_flatten;
  options.recurse = cl.recurse;
  options.dry_run = cl.dry_run;
  options.jobs = cl.jobs == 0 ? default_jobs() : cl.jobs;
  std::time_t now = std::time(nullptr);
  if (cl.newer_than) options.newer_than = gpgseal::cli::parse_point_in_time(*cl.newer_than, now);
  if (cl.older_than) options.older_than = gpgseal::cli::parse_point_in_time(*cl.older_than, now);
  options.stop = &stop_requested;
  return options;
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

int run(const command_line& cl, gpgseal::maildir_options options) {
  bool bar = cl.progress == "always" || (cl.progress == "auto" && ::isatty(STDERR_FILENO));
  gpgseal::cli::maildir_console console(std::cout, std::cerr, bar, cl.verbose);
  options.on_start = [&](std::size_t total) { console.start(total); };
  options.on_report = [&](const gpgseal::message_report& r) { console.report(r); };
  catch_stop_signals();
  try {
    gpgseal::maildir_summary summary = gpgseal::encrypt_maildir(cl.maildir, options);
    console.finish();
    if (!summary.keys_available) {
      std::cerr << program << ": " << summary.no_key_detail
                << "; messages not yet encrypted are left as they are\n";
    }
    console.summary(summary, cl.dry_run);
    std::cout.flush();
    if (!std::cout) return EX_IOERR;
    return summary.complete() ? EX_OK : EX_TEMPFAIL;
  } catch (const gpgseal::error& e) {
    console.finish();
    std::cerr << program << ": " << e.what() << "\n";
    return gpgseal::cli::exit_status_for(e.kind());
  } catch (const std::exception& e) {
    console.finish();
    std::cerr << program << ": internal error: " << e.what() << "\n";
    return EX_SOFTWARE;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  command_line cl;
  try {
    cl = parse(argc, argv);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (cl.help) {
    print_help(std::cout);
    return EX_OK;
  }
  if (cl.version) {
    std::cout << program << " " << gpgseal::version_string << "\n";
    return EX_OK;
  }
  if (auto problem = validation_problem(cl)) return usage_error(*problem);
  try {
    return run(cl, maildir_options_from(cl));
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
}
