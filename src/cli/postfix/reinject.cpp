#include "cli/postfix/reinject.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "cli/postfix/spooled_message.hpp"

extern char** environ;

namespace gpgseal::cli::postfix {

namespace {

std::vector<std::string> sendmail_argv(const std::string& sendmail, const std::string& sender,
                                       const std::vector<std::string>& recipients) {
  // -G: a relayed message, not a new submission (no header rewriting for
  // local submissions); -i: a line with a single dot is not the end; "--":
  // no recipient is ever taken for an option.
  std::vector<std::string> argv = {sendmail, "-G", "-i", "-f", sender, "--"};
  argv.insert(argv.end(), recipients.begin(), recipients.end());
  return argv;
}

std::string status_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

}  // namespace

std::optional<std::string> reinject(const std::string& sendmail, const std::string& sender,
                                    const std::vector<std::string>& recipients, int message_fd) {
  try {
    rewind(message_fd);
  } catch (const std::runtime_error& e) {
    return std::string(e.what());
  }
  std::vector<std::string> args = sendmail_argv(sendmail, sender, recipients);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, message_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, sendmail.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return "cannot run " + sendmail + ": " + std::strerror(rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "cannot wait for " + sendmail + ": " + std::strerror(errno);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::nullopt;
  return sendmail + " " + status_text(status);
}

}  // namespace gpgseal::cli::postfix
