// A cap on the sealing work gpgseal-smtpd does at once (--workers N). Each
// message being sealed holds a gpg process, a spool file and a thread; with
// many sessions finishing their DATA together, an uncapped filter would start
// one of each per message and let them fight over the CPUs. Work beyond the
// cap waits in a queue, in order. submit() never blocks: the reading loop must
// go on answering smtpd for every other session while messages wait.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace gpgseal::smtpd {

class worker_pool {
 public:
  // `cap` >= 1: at most that many jobs run at the same time.
  explicit worker_pool(std::size_t cap);
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  // Waits for every job submitted, like wait_idle().
  ~worker_pool();

  // Runs `job` on a thread of the pool, now or once a slot is free. A job
  // must not throw: what it throws is caught and dropped, so the caller's
  // job reports its own errors.
  void submit(std::function<void()> job);
  // Returns once every job submitted so far has finished.
  void wait_idle();

  // Jobs running now, and the most that ever ran at once.
  [[nodiscard]] std::size_t running() const;
  [[nodiscard]] std::size_t peak() const;

 private:
  void drain();

  const std::size_t cap_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  std::size_t threads_ = 0;  // threads started and not yet finished draining
  std::size_t running_ = 0;
  std::size_t peak_ = 0;
};

// The default for --workers: one per CPU, at least one.
std::size_t default_workers();

}  // namespace gpgseal::smtpd
