// gpgseal-smtpd's cap on concurrent sealing work (--workers, src/cli/smtpd/workers.hpp).
#include "cli/smtpd/workers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gpgseal::smtpd {
namespace {

using namespace std::chrono_literals;

// Jobs that hold their slot until `cap` of them run at once (or too few are
// left for that, or a second has passed), so that a pool that ran more, or
// fewer, than `cap` is seen.
struct crowd {
  std::mutex mutex;
  std::condition_variable changed;
  int now = 0;
  int most = 0;
  int started = 0;
  std::vector<int> done;

  void job(int i, int cap, int jobs) {
    std::unique_lock<std::mutex> lock(mutex);
    most = std::max(most, ++now);
    ++started;
    changed.notify_all();
    changed.wait_for(lock, 1s, [&] { return now >= cap || started > jobs - cap; });
    std::this_thread::sleep_for(2ms);
    --now;
    done.push_back(i);
  }
};

TEST(SmtpdWorkers, RunsAtMostCapJobsAtOnceAndAllOfThem) {
  constexpr int cap = 3, jobs = 20;
  crowd c;
  worker_pool pool(cap);
  for (int i = 0; i < jobs; ++i) pool.submit([&c, i] { c.job(i, cap, jobs); });
  pool.wait_idle();
  EXPECT_EQ(c.most, cap);
  EXPECT_EQ(pool.peak(), static_cast<std::size_t>(cap));
  EXPECT_EQ(pool.running(), 0U);
  ASSERT_EQ(c.done.size(), static_cast<std::size_t>(jobs));
  std::sort(c.done.begin(), c.done.end());
  for (int i = 0; i < jobs; ++i) EXPECT_EQ(c.done[static_cast<std::size_t>(i)], i);
}

TEST(SmtpdWorkers, OneWorkerRunsJobsOneAfterAnotherInOrder) {
  std::vector<int> order;
  std::atomic<int> at_once{0}, most{0};
  worker_pool pool(1);
  for (int i = 0; i < 8; ++i) {
    pool.submit([&, i] {
      most = std::max(most.load(), ++at_once);
      std::this_thread::sleep_for(1ms);
      order.push_back(i);
      --at_once;
    });
  }
  pool.wait_idle();
  EXPECT_EQ(most.load(), 1);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(SmtpdWorkers, SubmitDoesNotWaitForAFreeSlot) {
  std::mutex gate;
  std::unique_lock<std::mutex> closed(gate);
  std::atomic<int> finished{0};
  worker_pool pool(1);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    pool.submit([&] {
      std::lock_guard<std::mutex> wait_for_gate(gate);
      ++finished;
    });
  }
  // All five queued while the first is stuck at the gate.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_EQ(finished.load(), 0);
  closed.unlock();
  pool.wait_idle();
  EXPECT_EQ(finished.load(), 5);
}

TEST(SmtpdWorkers, AThrowingJobNeitherEndsThePoolNorLosesTheNext) {
  std::atomic<int> ran{0};
  worker_pool pool(2);
  pool.submit([] { throw std::runtime_error("job failed"); });
  for (int i = 0; i < 4; ++i) pool.submit([&] { ++ran; });
  pool.wait_idle();
  EXPECT_EQ(ran.load(), 4);
}

TEST(SmtpdWorkers, ACapOfZeroIsOne) {
  std::atomic<int> ran{0};
  worker_pool pool(0);
  pool.submit([&] { ++ran; });
  pool.wait_idle();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_GE(default_workers(), 1U);
}

}  // namespace
}  // namespace gpgseal::smtpd
