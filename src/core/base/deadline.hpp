// A hard deadline for one filter run. Dovecot kills a filter that outlives
// sieve_filter_exec_timeout and then stores nothing, and kills only its
// direct child, so gpgseal must give up first and stop its own gpg.
//
// GPGME starts gpg through a double fork, so gpg is not our child and GPGME
// does not say its pid. Marking this process a child subreaper (Linux
// PR_SET_CHILD_SUBREAPER) makes the orphaned gpg our child, and at the
// deadline every child is sent SIGTERM, then SIGKILL. Killing gpg is not
// enough: GPGME's poll loop then spins on the dead pipe (it waits for POLLOUT
// and ignores POLLERR), so the operation in progress is also cancelled.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace gpgseal {

class deadline_watchdog {
 public:
  // Starts watching at once. A zero budget means no deadline.
  explicit deadline_watchdog(std::chrono::milliseconds budget);
  ~deadline_watchdog();
  deadline_watchdog(const deadline_watchdog&) = delete;
  deadline_watchdog& operator=(const deadline_watchdog&) = delete;

  // True once the deadline has passed and the children were stopped.
  [[nodiscard]] bool expired() const noexcept { return expired_.load(); }
  [[nodiscard]] std::chrono::milliseconds budget() const noexcept { return budget_; }
  // The engine of the latest cancel function ("gpg" before any): the one the
  // run was using when the deadline came, also between two of its steps.
  [[nodiscard]] const char* engine() const noexcept { return engine_.load(); }

  // Runs `cancel` (from the watchdog's thread) if the deadline passes while
  // it is set; an empty function clears it. Returns false, without setting
  // it, if the deadline has already passed. `engine` names the program it
  // stops, for the messages that say what the deadline stopped.
  bool set_cancel(std::function<void()> cancel, const char* engine = "gpg");
  void clear_cancel() noexcept;

  // Runs `last_resort` (from the watchdog's thread) if the work is still not
  // done well after the deadline, although gpg was stopped: the thread doing
  // it is stuck where nothing else can reach it. It should end the process.
  void set_last_resort(std::function<void()> last_resort);

 private:
  void watch();

  std::chrono::milliseconds budget_;
  std::atomic<bool> expired_{false};
  std::atomic<const char*> engine_{"gpg"};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::function<void()> cancel_;
  std::function<void()> last_resort_;
  std::thread thread_;
};

// Sets a cancel function on a watchdog for the lifetime of the scope.
class deadline_cancel_scope {
 public:
  // Throws error(tempfail) if the deadline has already passed: nothing new
  // should start then.
  deadline_cancel_scope(deadline_watchdog& watchdog, std::function<void()> cancel,
                        const char* engine = "gpg");
  ~deadline_cancel_scope();
  deadline_cancel_scope(const deadline_cancel_scope&) = delete;
  deadline_cancel_scope& operator=(const deadline_cancel_scope&) = delete;

 private:
  deadline_watchdog& watchdog_;
};

// Sends `signal` to every child of this process; returns how many it found.
int signal_children(int signal) noexcept;

// Reaps children that have exited, except forks of this very program: GPGME
// waits for its own intermediate fork and must not find it gone. As a
// subreaper we inherit every gpg, and nobody else would reap them.
void reap_exited_children() noexcept;

}  // namespace gpgseal
