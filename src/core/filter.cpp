#include "core/filter.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <thread>

#include "core/base/deadline.hpp"
#include "core/base/fd_io.hpp"
#include "core/base/library_init.hpp"
#include "core/base/spool.hpp"
#include "core/cms/keybox.hpp"
#include "core/cms/sealing.hpp"
#include "core/mime/detect.hpp"
#include "core/mime/header_scan.hpp"
#include "core/mime/inline_pgp.hpp"
#include "core/mime/payload.hpp"
#include "core/mime/pgp_mime_writer.hpp"
#include "core/mime/smime_writer.hpp"
#include "core/openpgp/sealing.hpp"

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

// A keyring directory nobody created: the user has not opted in (pass, a
// notice), or it is an error like any other unusable keyring.
filter_outcome by_missing_keyring(const failure_policy& policy,
                                  const detail::openpgp_result& keys) {
  std::string detail = keys.missing;
  switch (policy.missing_keyring) {
    case on_missing_keyring::pass:
      return by_policy(on_failure::pass, pass_reason::no_keyring, std::move(detail), std::nullopt);
    case on_missing_keyring::fail:
      return by_policy(on_failure::fail, pass_reason::no_keyring, std::move(detail), std::nullopt);
    case on_missing_keyring::error:
      break;
  }
  throw error(error_kind::config,
              "keyring directory " + keys.keyring + " is unusable: " + std::strerror(ENOENT));
}

// The whole encrypted message, written through `write` into a new temp file.
struct sealed_file {
  unique_fd file;
  std::uint64_t size = 0;
};

sealed_file seal_into_temp(const seal_settings& settings,
                           const std::function<void(fd_writer&)>& write) {
  sealed_file sealed;
  sealed.file = make_unlinked_temp_file(settings.temp_dir);
  fd_writer writer(sealed.file.get(),
                   "the encrypted message to a temporary file in " + settings.temp_dir);
  write(writer);
  writer.flush();
  sealed.size = writer.bytes_written();
  return sealed;
}

sealed_file compose_pgp_mime(int spool_fd, const message_layout& layout,
                             const seal_settings& settings,
                             const detail::encrypt_function& encrypt) {
  return seal_into_temp(settings, [&](fd_writer& writer) {
    pgp_mime_writer mime(writer, spool_fd, layout, settings.headers, make_boundary());
    mime.write_head();
    payload_source payload(spool_fd, layout, settings.headers);
    encrypt(payload, mime);
    mime.write_tail();
  });
}

sealed_file compose_inline(int spool_fd, const message_layout& layout, const inline_text& text,
                           const seal_settings& settings, const detail::encrypt_function& encrypt) {
  return seal_into_temp(settings, [&](fd_writer& writer) {
    inline_writer message(writer, spool_fd, layout, text);
    message.write_head();
    // From the start, also when a refused remembered key makes this a retry.
    if (g_mime_stream_reset(text.decoded.get()) != 0) {
      throw error(error_kind::io, "cannot rewind the text to encrypt inline");
    }
    gmime_source plain(text.decoded.get());
    encrypt(plain, message);
  });
}

sealed_file compose_smime(int spool_fd, const message_layout& layout, const seal_settings& settings,
                          const detail::encrypt_function& encrypt) {
  return seal_into_temp(settings, [&](fd_writer& writer) {
    smime_writer smime(writer, spool_fd, layout, settings.headers);
    smime.write_head();
    payload_source payload(spool_fd, layout, settings.headers);
    encrypt(payload, smime);
    smime.write_tail();
  });
}

struct sealing {
  detail::openpgp_result keys;
  bool smime = false;
};

// The one place that decides the protocol: the preferred one if every
// address has a usable key or certificate there, else the other one; a side
// whose kind of key the keyring does not hold at all is not started.
sealing seal_by_preference(const seal_settings& settings, deadline_watchdog& watchdog,
                           const detail::compose_function& compose_openpgp,
                           const detail::compose_function& compose_smime) {
  const detail::keyring_kinds kinds =
      detail::scan_keyring_kinds(detail::keyring_directory(settings));
  const bool cms = select_engines(kinds.x509);
  std::string missing;
  for (bool smime : detail::protocols_to_try(kinds, settings.prefer)) {
    if (smime && !cms) {
      throw error(error_kind::unavailable,
                  "cannot use gpgsm for S/MIME: this process chose OpenPGP only, at its first "
                  "message (see enable_smime_for_every_message)");
    }
    sealing result{smime ? detail::seal_to_certificates(settings, watchdog, compose_smime)
                         : detail::seal_to_openpgp_keys(settings, watchdog, compose_openpgp),
                   smime};
    // No keyring directory at all is the user's choice (opt-in), whatever the protocol.
    if (result.keys.sealed || result.keys.no_keyring) return result;
    missing += (missing.empty() ? "" : "; ") + result.keys.missing;
  }
  sealing none;
  none.keys.missing = missing;
  return none;
}

sealed_message seal(const spooled_input& spool, const seal_settings& settings,
                    const failure_policy& policy, deadline_watchdog& watchdog) {
  initialise_libraries();
  const int fd = spool.file.get();
  message_layout layout = scan_message(fd, spool.size);
  protection found = detect_protection(fd, layout);
  if (found != protection::none) {
    return {passed(pass_reason::already_encrypted, describe(found)), {}, 0};
  }
  std::optional<inline_text> text;
  if (settings.mode != encrypt_mode::pgp_mime) {
    text = find_inline_text(fd, layout, settings.inline_flatten, settings.inline_utf8);
    if (!text && settings.mode == encrypt_mode::inline_or_plain) {
      return {passed(pass_reason::not_inline,
                     "not a single text/plain part, and the mode is inline-or-plain"),
              {},
              0};
    }
  }
  sealed_file sealed;
  sealing chosen = seal_by_preference(
      settings, watchdog,
      [&](const detail::encrypt_function& encrypt) {
        sealed = text ? compose_inline(fd, layout, *text, settings, encrypt)
                      : compose_pgp_mime(fd, layout, settings, encrypt);
      },
      [&](const detail::encrypt_function& encrypt) {
        sealed = compose_smime(fd, layout, settings, encrypt);
      });
  if (chosen.keys.no_keyring) return {by_missing_keyring(policy, chosen.keys), {}, 0};
  if (!chosen.keys.sealed) {
    return {
        by_policy(policy.on_missing_key, pass_reason::no_key, chosen.keys.missing, std::nullopt),
        {},
        0};
  }
  sealed_message result{{}, std::move(sealed.file), sealed.size};
  result.outcome.action = filter_action::encrypted;
  result.outcome.fingerprints = std::move(chosen.keys.fingerprints);
  result.outcome.smime = chosen.smime;
  return result;
}

sealed_message seal_or_fail(const spooled_input& spool, const seal_settings& settings,
                            const failure_policy& policy, deadline_watchdog& watchdog) {
  auto failed = [&](const std::string& why, error_kind kind) {
    return sealed_message{by_policy(policy.on_error, pass_reason::error, why, kind), {}, 0};
  };
  try {
    return seal(spool, settings, policy, watchdog);
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
sealed_message seal_within_limits(const spooled_input& spool, const seal_settings& settings,
                                  const failure_policy& policy, deadline_watchdog& watchdog) {
  auto failed = [&](pass_reason reason, const std::string& why, error_kind kind) {
    return sealed_message{by_policy(policy.on_error, reason, why, kind), {}, 0};
  };
  if (policy.max_size > 0 && spool.size > policy.max_size) {
    return failed(pass_reason::too_large,
                  "message of " + std::to_string(spool.size) +
                      " bytes is larger than the size limit of " + std::to_string(policy.max_size) +
                      " bytes",
                  error_kind::data);
  }
  sealed_message sealed;
  if (!watchdog.expired()) sealed = seal_or_fail(spool, settings, policy, watchdog);
  if (watchdog.expired() && sealed.outcome.action != filter_action::encrypted) {
    sealed_message stopped =
        failed(pass_reason::timed_out,
               "gave up at the time limit of " + seconds(watchdog.budget()) + " and stopped " +
                   watchdog.engine() + "; message not encrypted",
               error_kind::tempfail);
    stopped.outcome.stopped = watchdog.engine();
    return stopped;
  }
  return sealed;
}

filter_outcome handle_unspooled(const spooled_input& spool, int in_fd, int out_fd,
                                const failure_policy& policy) {
  filter_outcome outcome = by_policy(policy.on_error, pass_reason::error,
                                     "cannot spool the message: " + spool.failure, error_kind::io);
  if (outcome.action == filter_action::passed_through) {
    outcome.bytes_in = outcome.bytes_out = pass_through_unspooled(spool, in_fd, out_fd);
  } else {
    drain_input(in_fd);
  }
  return outcome;
}

// The last resort of a run stuck past its deadline: the policy outcome, from
// the watchdog's thread, unless the main thread already writes the output.
void abandon(const spooled_input& spool, int out_fd, const failure_policy& policy,
             const abandon_handler& on_abandoned, std::atomic<bool>& output_claimed,
             const char* engine) {
  if (output_claimed.exchange(true) || !on_abandoned) return;
  filter_outcome outcome =
      by_policy(policy.on_error, pass_reason::stuck,
                std::string("stuck after the time limit, even with ") + engine + " stopped",
                error_kind::tempfail);
  outcome.stopped = engine;
  outcome.bytes_in = spool.size;
  if (outcome.action == filter_action::passed_through && spool.complete) {
    try {
      copy_range(spool.file.get(), 0, spool.size, out_fd, "the message to standard output");
      outcome.bytes_out = spool.size;
    } catch (const error&) {
      outcome.action = filter_action::failed;
    }
  }
  on_abandoned(outcome);
}

}  // namespace

void enable_smime_for_every_message() {
  initialise_libraries();
  select_engines(true);
}

void drain_input(int in_fd) { discard_input(in_fd); }

filter_outcome run_filter(int in_fd, int out_fd, const seal_settings& settings,
                          const failure_policy& policy, const abandon_handler& on_abandoned) {
  deadline_watchdog watchdog(policy.timeout);
  std::atomic<bool> output_claimed{false};
  spooled_input spool = spool_input(in_fd, settings.temp_dir);
  watchdog.set_last_resort(
      [&] { abandon(spool, out_fd, policy, on_abandoned, output_claimed, watchdog.engine()); });
  if (!spool.complete) return handle_unspooled(spool, in_fd, out_fd, policy);
  if (spool.size == 0) {
    // Whatever the policy: an empty message is no message, and exiting 0
    // with empty output would make Dovecot store a 0-byte mail.
    return by_policy(on_failure::fail, pass_reason::empty_input,
                     "empty input: there is no message on standard input", error_kind::data);
  }
  sealed_message sealed = seal_within_limits(spool, settings, policy, watchdog);
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
