#include <unistd.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/base/fd_io.hpp"
#include "core/base/library_init.hpp"
#include "core/error.hpp"
#include "core/maildir.hpp"
#include "core/maildir/leftovers.hpp"
#include "core/maildir/message.hpp"

namespace gpgseal {

namespace {

// Serialises reports: the caller's callback and the tally see one at a time.
class report_sink {
 public:
  report_sink(maildir_summary& summary, const maildir_run& run) : summary_(summary), run_(run) {}

  void add(const message_report& report) {
    std::lock_guard<std::mutex> lock(mutex_);
    summary_.count(report);
    if (run_.on_report) run_.on_report(report);
  }

  void folder_failed(const std::string& path, const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++summary_.folders_failed;
    if (run_.on_report) run_.on_report({path, message_result::failed, why, false});
  }

 private:
  std::mutex mutex_;
  maildir_summary& summary_;
  const maildir_run& run_;
};

failure_policy batch_policy(const maildir_limits& limits) {
  failure_policy policy;
  policy.on_missing_key = on_failure::pass;  // reported as "without key", left alone
  policy.on_error = on_failure::fail;        // nothing written; the original stays
  policy.timeout = limits.timeout;
  policy.max_size = limits.max_size;
  return policy;
}

// Whether the addresses have usable keys, decided once by running the filter
// itself on a tiny message: the same key rules, with no second code path.
// Tried three times, as a message is (gpg lock contention, maildir_message.cpp);
// throws when the keyring or gpg cannot be used at all.
bool probe_keys(const seal_settings& settings, const failure_policy& policy,
                std::string& no_key_detail) {
  static const std::string probe =
      "Subject: gpgseal-maildir key check\n\nThis message is never stored.\n";
  filter_outcome outcome;
  for (int tries = 0; tries < 3; ++tries) {
    unique_fd in = make_unlinked_temp_file(settings.temp_dir);
    unique_fd out = make_unlinked_temp_file(settings.temp_dir);
    write_all(in.get(), probe.data(), probe.size(), "the key check message");
    if (::lseek(in.get(), 0, SEEK_SET) != 0) {
      throw system_error("cannot rewind the key check message", errno);
    }
    outcome = run_filter(in.get(), out.get(), settings, policy);
    if (outcome.action == filter_action::encrypted) return true;
    if (outcome.reason == pass_reason::no_key) {
      no_key_detail = outcome.detail;
      return false;
    }
  }
  throw error(outcome.error.value_or(error_kind::unavailable), outcome.detail);
}

// Runs work(i) for i in [0, count) on up to `jobs` threads; stops handing out
// work once a stop is requested. work() must not throw.
template <typename Work>
void run_parallel(unsigned jobs, std::size_t count, const detail::message_context& context,
                  Work work) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; !context.stop_requested() && (i = next++) < count;) work(i);
  };
  std::size_t threads = std::min<std::size_t>(std::max(jobs, 1u), count);
  if (threads <= 1) {
    worker();
    return;
  }
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& thread : pool) thread.join();
}

void process_folder(const maildir_folder& folder, const maildir_run& run,
                    const detail::message_context& context, report_sink& sink) {
  std::vector<message_file> files = folder.list_messages();
  detail::leftover_resolution settled = detail::resolve_leftovers(folder, files, run.dry_run);
  for (const auto& report : settled.reports) sink.add(report);
  run_parallel(run.jobs, settled.to_process.size(), context, [&](std::size_t i) {
    sink.add(detail::process_message(folder, settled.to_process[i], context));
  });
}

void open_and_process(const std::string& path, const maildir_run& run,
                      const detail::message_context& context, maildir_summary& summary,
                      report_sink& sink) {
  try {
    maildir_folder folder(path, !run.dry_run);
    if (!folder.try_lock()) {
      sink.folder_failed(path, "another gpgseal-maildir is working on this folder");
      return;
    }
    if (!run.dry_run) {
      summary.stale_temp_removed += remove_stale_temp_files(
          folder, context.namer->host(), context.namer->pid(), std::time(nullptr));
    }
    process_folder(folder, run, context, sink);
  } catch (const std::exception& e) {
    sink.folder_failed(path, e.what());
  }
}

}  // namespace

maildir_summary encrypt_maildir(const std::string& root, const seal_settings& settings,
                                const maildir_limits& limits, const maildir_run& run) {
  std::vector<std::string> folders = find_maildir_folders(root, run.recurse);
  initialise_libraries();
  maildir_summary summary;
  detail::message_context context;
  context.settings = settings;
  context.policy = batch_policy(limits);
  // A dry run writes nothing anywhere, the key cache in the keyring included.
  if (run.dry_run) context.settings.key_cache = false;
  context.keys_available = probe_keys(context.settings, context.policy, summary.no_key_detail);
  summary.keys_available = context.keys_available;
  context.dry_run = run.dry_run;
  context.newer_than = run.newer_than;
  context.older_than = run.older_than;
  context.stop = run.stop;
  context.hook = run.hook;
  temp_namer namer(maildir_host_name(), static_cast<long>(::getpid()));
  context.namer = &namer;
  if (run.on_start) {
    std::size_t total = 0;
    for (const auto& folder : folders) total += count_message_files(folder);
    run.on_start(total);
  }
  report_sink sink(summary, run);
  for (const auto& folder : folders) {
    if (context.stop_requested()) break;
    ++summary.folders;
    open_and_process(folder, run, context, summary, sink);
  }
  summary.stopped = context.stop_requested();
  return summary;
}

}  // namespace gpgseal
