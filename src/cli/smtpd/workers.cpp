#include "cli/smtpd/workers.hpp"

#include <algorithm>
#include <thread>
#include <utility>

namespace gpgseal::smtpd {

worker_pool::worker_pool(std::size_t cap) : cap_(std::max<std::size_t>(cap, 1)) {}

worker_pool::~worker_pool() { wait_idle(); }

void worker_pool::submit(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(std::move(job));
  // A thread that is draining takes the job when its current one is done;
  // a new thread only while the cap leaves room for one.
  if (threads_ >= cap_) return;
  ++threads_;
  std::thread([this] { drain(); }).detach();
}

// One thread of the pool: runs queued jobs until the queue is empty.
void worker_pool::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!queue_.empty()) {
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    peak_ = std::max(peak_, running_);
    lock.unlock();
    try {
      job();
    } catch (...) {
      // The job's own business; a thread of the pool must never end the process.
    }
    lock.lock();
    --running_;
  }
  --threads_;
  // Notified under the lock: once wait_idle() sees no threads, the pool may
  // be destroyed, and this thread must no longer touch it.
  if (threads_ == 0) idle_.notify_all();
}

void worker_pool::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return threads_ == 0 && queue_.empty(); });
}

std::size_t worker_pool::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

std::size_t worker_pool::peak() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

std::size_t default_workers() {
  return std::max<std::size_t>(std::thread::hardware_concurrency(), 1);
}

}  // namespace gpgseal::smtpd
