// gpgseal-server: the whole server in one command, run as root.
//   encrypt  encrypts every user's stored Maildir with that user's keyring
//   report   says for every user whether new mail would be encrypted, to
//            which key and until when, or what is wrong
// Users are the system users (password database, addresses login@DOMAIN) or
// the directories of a --home-template (virtual users). Each user is handled
// in a child process that has become that user (or the owner of the virtual
// user's directory, e.g. vmail) before it touches any of their files.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/common/exit_status.hpp"
#include "cli/common/maildir_console.hpp"
#include "cli/common/options.hpp"
#include "cli/common/usage.hpp"
#include "cli/server/tasks.hpp"
#include "cli/server/users.hpp"

namespace {

using namespace gpgseal::cli;

constexpr const char* program = "gpgseal-server";

std::atomic<bool> stop_requested{false};
extern "C" void request_stop(int /*signal*/) { stop_requested.store(true); }

command_line server_command_line() {
  command_line cl(program, keyring_options | domain_option | encryption_options | limit_options);
  // clang-format off
  cl.own_options().add_options()
      ("home-template", po::value<std::string>()->value_name("TEMPLATE"),
       "virtual users: the homes, e.g. /var/vmail/%d/%n; each user runs as the directory's "
       "owner (default: system users from the password database)")
      ("min-uid", po::value<unsigned>()->value_name("UID")->default_value(1000),
       "system users: the lowest uid that is a mail user")
      ("maildir", po::value<std::string>()->value_name("NAME")->default_value("Maildir"),
       "the Maildir inside each home")
      ("dry-run,n", "encrypt: show what would change; write nothing")
      ("jobs,j", po::value<unsigned>()->value_name("N")->default_value(1),
       "encrypt: messages encrypted in parallel per user")
      ("progress", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       "encrypt: progress bar on stderr: auto (on a terminal), always or never")
      ("verbose,v", "encrypt: a line on stdout for every message")
      ("warn-days", po::value<unsigned>()->value_name("N")->default_value(14),
       "report: exit 1 when a key or certificate expires within N days");
  // clang-format on
  cl.add_positional("command", 1);
  cl.add_positional("user", -1);
  return cl;
}

void print_help(const command_line& cl) {
  std::cout << "Usage: gpgseal-server encrypt|report [OPTIONS] [USER...]\n"
               "Run as root, for every mail user of this server:\n"
               "  encrypt  encrypt the user's stored Maildir in place with the user's keyring,\n"
               "           as gpgseal-maildir does; users without a keyring or key are skipped\n"
               "  report   whether new mail would be encrypted, with OpenPGP or S/MIME, to\n"
               "           which key or certificate, and when it expires, or what is wrong\n"
               "USER... (logins or addresses) limits the run to those users.\n"
               "Each user is handled by a process running as that user (system users), or\n"
               "as the owner of the user's directory (virtual users, e.g. vmail).\n\n";
  cl.print_options(std::cout);
  std::cout << "\nSystem users need --domain: their addresses are LOGIN@DOMAIN. The keyring\n"
               "is ~/.gnupg in each home unless --gnupghome names a template (%u, %n, %d).\n"
               "Exit status: 0 all done / nothing to report; 1 (report) a key expires within\n"
               "--warn-days, has expired or was revoked, or a keyring is unusable; 75\n"
               "(encrypt) some user, folder or message failed, or the run was interrupted\n"
               "(run it again); 64 usage error.\n";
}

// The users named on the command line, by login or address; every name must
// be one of them.
std::vector<mail_user> only(const std::vector<mail_user>& all,
                            const std::vector<std::string>& names) {
  std::vector<mail_user> chosen;
  for (const auto& name : names) {
    auto found = std::find_if(all.begin(), all.end(), [&](const mail_user& u) {
      return u.address == name || u.account.name == name;
    });
    if (found == all.end()) throw usage_error("no mail user " + name);
    chosen.push_back(*found);
  }
  return chosen;
}

server_command parse_command(const command_line& cl, int argc, char** argv) {
  po::variables_map vm;
  server_command command;
  command.shared = cl.parse(argc, argv, vm);
  if (command.shared.help || command.shared.version) return command;
  std::string verb = vm.count("command") ? vm["command"].as<std::string>() : "";
  if (verb != "encrypt" && verb != "report") throw usage_error("give a command: encrypt or report");
  command.report = verb == "report";
  command.maildir = vm["maildir"].as<std::string>();
  if (command.maildir.empty() || command.maildir.find("..") != std::string::npos) {
    throw usage_error("--maildir " + command.maildir + ": use a name inside the home");
  }
  command.dry_run = vm.count("dry-run") > 0;
  command.jobs = std::max(1U, std::min(vm["jobs"].as<unsigned>(), 256U));
  command.progress_bar = progress_bar_from(vm["progress"].as<std::string>());
  command.verbose = vm.count("verbose") > 0;
  command.warn_days = vm["warn-days"].as<unsigned>();
  if (vm.count("home-template")) {
    command.users = template_users(vm["home-template"].as<std::string>());
  } else {
    if (command.shared.domain.empty()) throw usage_error("system users need --domain");
    command.users = system_users(command.shared.domain, vm["min-uid"].as<unsigned>());
  }
  if (vm.count("user"))
    command.users = only(command.users, vm["user"].as<std::vector<std::string>>());
  return command;
}

// SIGINT, SIGTERM, SIGHUP reach the user's process too (same process group):
// it finishes its messages in flight; no further user is started.
void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal, &action, nullptr);
}

// Forks the user's process, which becomes the user before anything else, and
// returns its tally.
user_tally run_user(const server_command& command, const mail_user& user) {
  int fds[2];
  if (::pipe(fds) != 0) return failed_tally(user, "cannot create a pipe");
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return failed_tally(user, "cannot fork");
  }
  if (pid == 0) {
    ::close(fds[0]);
    user_tally tally = run_as_user(command, user, stop_requested);
    write_tally(fds[1], tally);
    std::cout.flush();
    std::_Exit(0);
  }
  ::close(fds[1]);
  user_tally tally = read_tally(fds[0], user);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    tally = failed_tally(user, "its process ended abnormally");
  }
  return tally;
}

int run(const server_command& command) {
  catch_stop_signals();
  run_tally total;
  for (const auto& user : command.users) {
    if (stop_requested.load()) break;
    total.add(run_user(command, user));
  }
  total.interrupted = stop_requested.load();
  print_summary(std::cout, command, total);
  std::cout.flush();
  if (!std::cout) return exit_status(ending::io);
  return exit_status(ending_for(command, total));
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  command_line cl = server_command_line();
  server_command command;
  try {
    command = parse_command(cl, argc, argv);
  } catch (const usage_error& e) {
    return report_usage_error(program, e.what());
  }
  if (auto status = answer_help_or_version(cl, command.shared, print_help)) return *status;
  if (::geteuid() != 0) {
    return report_usage_error(program, "run it as root: it works as each user in turn");
  }
  return run(command);
}
