#include "core/base/deadline.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/error.hpp"

namespace gpgseal {

namespace {

// After SIGTERM, gpg normally exits at once; a process stuck in the kernel
// gets SIGKILL after this grace period.
constexpr std::chrono::milliseconds grace{300};
// After SIGKILL, the stopped operation has this long to come back.
constexpr std::chrono::milliseconds stuck_after{2000};

// /proc/self/task/*/children lists the children of every thread of ours.
template <class Visit>
void for_each_child(Visit visit) {
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return;
  while (dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream children(std::string("/proc/self/task/") + task->d_name + "/children");
    for (long pid = 0; children >> pid;) visit(static_cast<pid_t>(pid));
  }
  ::closedir(tasks);
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// /proc/PID/stat is "pid (comm) state ..."; comm may itself hold ')' and spaces.
bool is_zombie_of_other_program(pid_t pid, const std::string& own_comm) {
  std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  std::size_t open = stat.find('(');
  std::size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) {
    return false;
  }
  return stat[close + 2] == 'Z' && stat.substr(open + 1, close - open - 1) != own_comm;
}

}  // namespace

void reap_exited_children() noexcept {
  try {
    const std::string own_comm = read_first_line("/proc/self/comm");
    for_each_child([&](pid_t pid) {
      if (is_zombie_of_other_program(pid, own_comm)) ::waitpid(pid, nullptr, WNOHANG);
    });
  } catch (...) {
    // A zombie left behind is reaped by init when we exit.
  }
}

int signal_children(int signal) noexcept {
  int count = 0;
  try {
    for_each_child([&](pid_t pid) {
      if (::kill(pid, signal) == 0) ++count;
    });
  } catch (...) {
    // Reading /proc failed; nothing more can be done from here.
  }
  return count;
}

deadline_watchdog::deadline_watchdog(std::chrono::milliseconds budget) : budget_(budget) {
  if (budget_.count() <= 0) return;
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  thread_ = std::thread([this] { watch(); });
}

deadline_watchdog::~deadline_watchdog() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  // A gpg that ignored SIGTERM must not outlive us.
  if (expired_) signal_children(SIGKILL);
  reap_exited_children();
}

bool deadline_watchdog::set_cancel(std::function<void()> cancel, const char* engine) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (expired_) return false;
  cancel_ = std::move(cancel);
  engine_ = engine;
  return true;
}

void deadline_watchdog::set_last_resort(std::function<void()> last_resort) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_resort_ = std::move(last_resort);
}

void deadline_watchdog::clear_cancel() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  cancel_ = nullptr;
}

deadline_cancel_scope::deadline_cancel_scope(deadline_watchdog& watchdog,
                                             std::function<void()> cancel, const char* engine)
    : watchdog_(watchdog) {
  if (!watchdog_.set_cancel(std::move(cancel), engine)) {
    throw error(error_kind::tempfail,
                std::string("the deadline passed before ") + engine + " could start");
  }
}

deadline_cancel_scope::~deadline_cancel_scope() { watchdog_.clear_cancel(); }

void deadline_watchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (wake_.wait_for(lock, budget_, [this] { return stopping_; })) return;
  expired_ = true;
  if (cancel_) cancel_();
  signal_children(SIGTERM);
  if (wake_.wait_for(lock, grace, [this] { return stopping_; })) return;
  signal_children(SIGKILL);
  if (wake_.wait_for(lock, stuck_after, [this] { return stopping_; })) return;
  if (last_resort_) last_resort_();
}

}  // namespace gpgseal
