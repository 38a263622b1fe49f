#include "core/filter.hpp"

#include <atomic>
#include <ctime>
#include <exception>
#include <functional>
#include <thread>

#include "core/deadline.hpp"
#include "core/detect.hpp"
#include "core/encrypt.hpp"
#include "core/fd_io.hpp"
#include "core/gpg_context.hpp"
#include "core/header_scan.hpp"
#include "core/inline_pgp.hpp"
#include "core/key_cache.hpp"
#include "core/keyring_dir.hpp"
#include "core/keys.hpp"
#include "core/library_init.hpp"
#include "core/payload.hpp"
#include "core/pgp_mime_writer.hpp"
#include "core/spool.hpp"

namespace gpgseal {

namespace {

struct sealed_message {
  filter_outcome outcome;
  unique_fd file;  // the encrypted message, when outcome.action == encrypted
  std::uint64_t size = 0;
};

filter_outcome passed(pass_reason reason, std::string detail) {
  filter_outcome outcome;
  outcome.action = filter_action::passed_through;
  outcome.reason = reason;
  outcome.detail = std::move(detail);
  return outcome;
}

// The one place where a policy turns a reason into pass-through or failure.
filter_outcome by_policy(on_failure policy, pass_reason reason, std::string detail,
                         std::optional<error_kind> kind) {
  filter_outcome outcome = passed(reason, std::move(detail));
  if (policy == on_failure::fail) outcome.action = filter_action::failed;
  outcome.error = kind;
  return outcome;
}

std::string bracketed(const std::vector<std::string>& addresses) {
  std::string text;
  for (const auto& a : addresses) text += (text.empty() ? "<" : ", <") + a + ">";
  return text;
}

// Writes a whole encrypted message, through `write`, into a new temp file.
sealed_message seal_into_temp(const filter_options& options, const key_selection& keys,
                              const std::function<void(fd_writer&)>& write) {
  sealed_message sealed;
  sealed.file = make_unlinked_temp_file(options.temp_dir);
  fd_writer writer(sealed.file.get(),
                   "the encrypted message to a temporary file in " + options.temp_dir);
  write(writer);
  writer.flush();
  sealed.size = writer.bytes_written();
  sealed.outcome.action = filter_action::encrypted;
  for (const auto& key : keys.keys) sealed.outcome.fingerprints.push_back(key.fingerprint);
  return sealed;
}

sealed_message encrypt_pgp_mime(int spool_fd, const message_layout& layout, gpgme_ctx_t ctx,
                                const key_selection& keys, const filter_options& options) {
  return seal_into_temp(options, keys, [&](fd_writer& writer) {
    pgp_mime_writer mime(writer, spool_fd, layout, make_boundary());
    mime.write_head();
    payload_source payload(spool_fd, layout);
    encrypt_stream(ctx, keys.keys, payload, mime);
    mime.write_tail();
  });
}

sealed_message encrypt_inline(int spool_fd, const message_layout& layout, gpgme_ctx_t ctx,
                              const key_selection& keys, const inline_text& text,
                              const filter_options& options) {
  return seal_into_temp(options, keys, [&](fd_writer& writer) {
    inline_writer message(writer, spool_fd, layout, text);
    message.write_head();
    // From the start, also when a refused remembered key makes this a retry.
    if (g_mime_stream_reset(text.decoded.get()) != 0) {
      throw error(error_kind::io, "cannot rewind the text to encrypt inline");
    }
    gmime_source plain(text.decoded.get());
    encrypt_stream(ctx, keys.keys, plain, message);
  });
}

std::string keyring_for(const filter_options& options) {
  if (!options.gnupg_home_is_template) return options.gnupg_home;
  return expand_keyring_template(options.gnupg_home, options.addresses.at(0));
}

sealed_message missing_key(const filter_options& options, std::string detail) {
  return {by_policy(options.on_missing_key, pass_reason::no_key, std::move(detail), std::nullopt),
          {},
          0};
}

struct chosen_keys {
  key_selection selection;
  bool remembered = false;  // from the key cache, not from a listing
};

chosen_keys choose_keys(gpgme_ctx_t ctx, const std::string& home, const filter_options& options,
                        bool may_recall) {
  const std::int64_t now = std::time(nullptr);
  if (options.key_cache && may_recall) {
    if (auto keys = recall_keys(home, options.addresses, now)) {
      chosen_keys chosen{{}, true};
      chosen.selection.keys = std::move(*keys);
      return chosen;
    }
  }
  const std::string state = options.key_cache ? observe_keyring(home) : "";
  key_selection selection = select_keys(ctx, options.addresses);
  if (options.key_cache) remember_keys(home, state, options.addresses, selection, now);
  return {std::move(selection), false};
}

using encrypt_function = std::function<sealed_message(const key_selection&)>;

// If gpg refuses a remembered key, the keyring changed in a way its files'
// times did not show: the choice is dropped and a listing decides.
sealed_message encrypt_to_chosen_keys(gpgme_ctx_t ctx, const std::string& home,
                                      const filter_options& options, deadline_watchdog& watchdog,
                                      const encrypt_function& encrypt) {
  chosen_keys chosen = choose_keys(ctx, home, options, true);
  if (chosen.remembered) {
    try {
      return encrypt(chosen.selection);
    } catch (const key_refused&) {
      if (watchdog.expired()) throw;
      forget_keys(home);
      chosen = choose_keys(ctx, home, options, false);
    }
  }
  if (!chosen.selection.complete()) {
    return missing_key(options, chosen.selection.describe_missing(home));
  }
  return encrypt(chosen.selection);
}

sealed_message seal(const spooled_input& spool, const filter_options& options,
                    deadline_watchdog& watchdog) {
  initialise_libraries();
  const int fd = spool.file.get();
  message_layout layout = scan_message(fd, spool.size);
  protection found = detect_protection(fd, layout);
  if (found != protection::none) {
    return {passed(pass_reason::already_encrypted, describe(found)), {}, 0};
  }
  std::optional<inline_text> text;
  if (options.mode != encrypt_mode::pgp_mime) {
    text = find_inline_text(fd, layout, options.inline_flatten);
    if (!text && options.mode == encrypt_mode::inline_or_plain) {
      return {passed(pass_reason::not_inline,
                     "not a single text/plain part, and --encrypt-mode is inline-or-plain"),
              {},
              0};
    }
  }
  const std::string home = keyring_for(options);
  check_keyring_directory(home);
  if (!has_public_keyring(home)) {
    // gpg would create an empty keyring file in the user's directory.
    return missing_key(options, "no usable encryption key for " + bracketed(options.addresses) +
                                    " in " + home + " (it holds no public keyring)");
  }
  auto ctx = make_gpg_context(home, options.engine_default_home);
  deadline_cancel_scope cancel_at_deadline(watchdog, [c = ctx.get()] { gpgme_cancel_async(c); });
  return encrypt_to_chosen_keys(ctx.get(), home, options, watchdog, [&](const key_selection& keys) {
    if (text) return encrypt_inline(fd, layout, ctx.get(), keys, *text, options);
    return encrypt_pgp_mime(fd, layout, ctx.get(), keys, options);
  });
}

sealed_message seal_or_fail(const spooled_input& spool, const filter_options& options,
                            deadline_watchdog& watchdog) {
  auto failed = [&](const std::string& why, error_kind kind) {
    return sealed_message{by_policy(options.on_error, pass_reason::error, why, kind), {}, 0};
  };
  try {
    return seal(spool, options, watchdog);
  } catch (const error& e) {
    return failed(e.what(), e.kind());
  } catch (const std::exception& e) {
    return failed(std::string("internal error: ") + e.what(), error_kind::software);
  }
}

std::string seconds(std::chrono::milliseconds ms) {
  std::string text = std::to_string(ms.count() / 1000);
  if (long rest = ms.count() % 1000; rest != 0) {
    std::string fraction = std::to_string(1000 + rest).substr(1);  // three digits
    text += "." + fraction.substr(0, fraction.find_last_not_of('0') + 1);
  }
  return text + " s";
}

// A run stopped by the deadline may fail in any way (gpg killed mid-listing
// looks like "no key"): whatever it returned, it is reported as the timeout.
sealed_message seal_within_limits(const spooled_input& spool, const filter_options& options,
                                  deadline_watchdog& watchdog) {
  auto failed = [&](pass_reason reason, const std::string& why, error_kind kind) {
    return sealed_message{by_policy(options.on_error, reason, why, kind), {}, 0};
  };
  if (options.max_size > 0 && spool.size > options.max_size) {
    return failed(pass_reason::too_large,
                  "message of " + std::to_string(spool.size) + " bytes is larger than --max-size " +
                      std::to_string(options.max_size),
                  error_kind::data);
  }
  sealed_message sealed;
  if (!watchdog.expired()) sealed = seal_or_fail(spool, options, watchdog);
  if (watchdog.expired() && sealed.outcome.action != filter_action::encrypted) {
    return failed(pass_reason::timed_out,
                  "gave up at the --timeout of " + seconds(watchdog.budget()) +
                      " and stopped gpg; message not encrypted",
                  error_kind::tempfail);
  }
  return sealed;
}

filter_outcome handle_unspooled(const spooled_input& spool, int in_fd, int out_fd,
                                const filter_options& options) {
  filter_outcome outcome = by_policy(options.on_error, pass_reason::error,
                                     "cannot spool the message: " + spool.failure, error_kind::io);
  if (outcome.action == filter_action::passed_through) {
    outcome.bytes_in = outcome.bytes_out = pass_through_unspooled(spool, in_fd, out_fd);
  } else {
    drain_input(in_fd);
  }
  return outcome;
}

}  // namespace

// The last resort of a run stuck past its deadline: the policy outcome, from
// the watchdog's thread, unless the main thread already writes the output.
void abandon(const spooled_input& spool, int out_fd, const filter_options& options,
             std::atomic<bool>& output_claimed) {
  if (output_claimed.exchange(true) || !options.on_abandoned) return;
  filter_outcome outcome =
      by_policy(options.on_error, pass_reason::timed_out,
                "stuck after the --timeout, even with gpg stopped", error_kind::tempfail);
  outcome.bytes_in = spool.size;
  if (outcome.action == filter_action::passed_through && spool.complete) {
    try {
      copy_range(spool.file.get(), 0, spool.size, out_fd, "the message to standard output");
      outcome.bytes_out = spool.size;
    } catch (const error&) {
      outcome.action = filter_action::failed;
    }
  }
  options.on_abandoned(outcome);
}

filter_outcome run_filter(int in_fd, int out_fd, const filter_options& options) {
  deadline_watchdog watchdog(options.timeout);
  std::atomic<bool> output_claimed{false};
  spooled_input spool = spool_input(in_fd, options.temp_dir);
  watchdog.set_last_resort([&] { abandon(spool, out_fd, options, output_claimed); });
  if (!spool.complete) return handle_unspooled(spool, in_fd, out_fd, options);
  if (spool.size == 0) {
    // Whatever the policy: an empty message is no message, and exiting 0
    // with empty output would make Dovecot store a 0-byte mail.
    return by_policy(on_failure::fail, pass_reason::empty_input,
                     "empty input: there is no message on standard input", error_kind::data);
  }
  sealed_message sealed = seal_within_limits(spool, options, watchdog);
  filter_outcome outcome = std::move(sealed.outcome);
  outcome.bytes_in = spool.size;
  watchdog.set_last_resort(nullptr);
  if (output_claimed.exchange(true)) {
    // The watchdog's last resort owns the output and ends the process.
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  const std::string what = "the message to standard output";
  if (outcome.action == filter_action::encrypted) {
    copy_range(sealed.file.get(), 0, sealed.size, out_fd, what);
    outcome.bytes_out = sealed.size;
  } else if (outcome.action == filter_action::passed_through) {
    copy_range(spool.file.get(), 0, spool.size, out_fd, what);
    outcome.bytes_out = spool.size;
  }
  return outcome;
}

}  // namespace gpgseal
