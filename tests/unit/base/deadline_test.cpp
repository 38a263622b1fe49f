#include "core/base/deadline.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace gpgseal {
namespace {

using namespace std::chrono_literals;

TEST(Deadline, NoBudgetNeverExpires) {
  deadline_watchdog watchdog(0ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(watchdog.expired());
}

TEST(Deadline, FinishingInTimeDoesNotExpire) {
  std::atomic<bool> cancelled{false};
  {
    deadline_watchdog watchdog(5s);
    deadline_cancel_scope scope(watchdog, [&] { cancelled = true; });
  }
  EXPECT_FALSE(cancelled);
}

TEST(Deadline, ExpiryCancelsAndStopsChildren) {
  std::atomic<bool> cancelled{false};
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  {
    deadline_watchdog watchdog(100ms);
    deadline_cancel_scope scope(watchdog, [&] { cancelled = true; });
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGTERM);
    EXPECT_TRUE(watchdog.expired());
  }
  EXPECT_TRUE(cancelled);
}

TEST(Deadline, StopsGrandchildrenOrphanedByADoubleFork) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t middle = -1;
  {
    deadline_watchdog watchdog(300ms);
    // As GPGME does: an intermediate child forks the worker and exits at once.
    middle = fork();
    if (middle == 0) {
      if (fork() == 0) {
        close(ready[0]);
        pause();
        _exit(0);
      }
      _exit(0);
    }
    close(ready[1]);
    ASSERT_EQ(waitpid(middle, nullptr, 0), middle);
    // The worker holds the pipe's write end: EOF means it has died.
    char byte;
    EXPECT_EQ(read(ready[0], &byte, 1), 0);
    EXPECT_TRUE(watchdog.expired());
  }
  close(ready[0]);
}

TEST(Deadline, NothingStartsAfterExpiry) {
  deadline_watchdog watchdog(10ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_THROW(deadline_cancel_scope(watchdog, [] {}), std::exception);
}

}  // namespace
}  // namespace gpgseal
