#include "core/openpgp/encrypt.hpp"

#include <algorithm>
#include <cerrno>
#include <exception>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/openpgp/gpg_context.hpp"
#include "core/openpgp/gpgme_handles.hpp"
#include "core/openpgp/gpgme_loop.hpp"

namespace gpgseal {

namespace {

// Carries the two ends and the first exception through GPGME's C callbacks,
// and keeps the end of the ciphertext to check that gpg finished it.
struct bridge {
  byte_source* source;
  byte_sink* sink;
  std::exception_ptr failure;
  std::string head;  // the first bytes of the ciphertext
  std::string tail;

  void remember(const char* data, std::size_t size) {
    if (head.size() < 2) head.append(data, std::min(size, 2 - head.size()));
    tail.append(data, size);
    if (tail.size() > 128) tail.erase(0, tail.size() - 128);
  }
};

// GPGME reports success when gpg dies after writing part of its output (its
// encrypt status handler never checks that encryption ended). gpg writes the
// armor's end line only after all data and the checksum, so a result that
// does not end with it is incomplete.
bool ends_with_armor_end(std::string tail) {
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  static const std::string end_line = "-----END PGP MESSAGE-----";
  return tail.size() >= end_line.size() &&
         tail.compare(tail.size() - end_line.size(), end_line.size(), end_line) == 0;
}

// gpgsm's CMS output (RFC 5652 §3): a ContentInfo SEQUENCE. gpgsm writes it
// with indefinite lengths, which end with end-of-contents octets; its Assuan
// "OK" comes only after the whole structure, so this only guards the form.
bool is_complete_content_info(const std::string& head, const std::string& tail) {
  if (head.size() < 2 || head[0] != '\x30') return false;
  if (head[1] != '\x80') return true;  // definite length: nothing to see at the end
  return tail.size() >= 2 && tail.compare(tail.size() - 2, 2, std::string(2, '\0')) == 0;
}

std::string engine_name(gpgme_ctx_t ctx) {
  return gpgme_get_protocol(ctx) == GPGME_PROTOCOL_CMS ? "gpgsm" : "gpg";
}

bool is_complete(gpgme_ctx_t ctx, const bridge& b) {
  if (gpgme_get_protocol(ctx) == GPGME_PROTOCOL_CMS) {
    return is_complete_content_info(b.head, b.tail);
  }
  return ends_with_armor_end(b.tail);
}

ssize_t read_shim(void* handle, void* buffer, size_t size) noexcept {
  auto* b = static_cast<bridge*>(handle);
  try {
    return static_cast<ssize_t>(b->source->read(static_cast<char*>(buffer), size));
  } catch (...) {
    b->failure = std::current_exception();
    errno = EIO;
    return -1;
  }
}

ssize_t write_shim(void* handle, const void* buffer, size_t size) noexcept {
  auto* b = static_cast<bridge*>(handle);
  try {
    b->sink->write(static_cast<const char*>(buffer), size);
    b->remember(static_cast<const char*>(buffer), size);
    return static_cast<ssize_t>(size);
  } catch (...) {
    b->failure = std::current_exception();
    errno = EIO;
    return -1;
  }
}

gpgme_data_cbs source_callbacks{read_shim, nullptr, nullptr, nullptr};
gpgme_data_cbs sink_callbacks{nullptr, write_shim, nullptr, nullptr};

detail::data_ptr make_data(gpgme_data_cbs* callbacks, bridge& b) {
  gpgme_data_t raw = nullptr;
  gpgme_error_t err = gpgme_data_new_from_cbs(&raw, callbacks, &b);
  if (err) throw error(error_kind::unavailable, "cannot create GPGME data: " + gpg_error_text(err));
  detail::data_ptr data(raw);
  // GPGME moves callback data in 4 KiB steps by default: tens of thousands of
  // reads, writes and polls for a large message, on top of gpg's own work.
  gpgme_data_set_flag(data.get(), "io-buffer-size", "262144");
  return data;
}

std::string key_list(const std::vector<recipient_key>& keys) {
  std::string text;
  for (const auto& k : keys) text += (text.empty() ? "0x" : ", 0x") + k.fingerprint;
  return text;
}

std::string invalid_recipients(gpgme_ctx_t ctx) {
  gpgme_encrypt_result_t result = gpgme_op_encrypt_result(ctx);
  std::string text;
  for (auto r = result ? result->invalid_recipients : nullptr; r; r = r->next) {
    text += std::string(text.empty() ? " (" : ", ") + "key 0x" + (r->fpr ? r->fpr : "?") + ": " +
            gpgme_strerror(r->reason);
  }
  return text.empty() ? text : text + ")";
}

}  // namespace

void encrypt_stream(gpgme_ctx_t ctx, const std::vector<recipient_key>& keys, byte_source& source,
                    byte_sink& sink) {
  bridge b{&source, &sink, nullptr, {}, {}};
  auto plain = make_data(&source_callbacks, b);
  auto cipher = make_data(&sink_callbacks, b);
  // One fingerprint per line: gpg looks each up exactly, and no key needs to
  // have been listed in this process (a remembered choice is enough).
  std::string recipients;
  for (const auto& k : keys) recipients += k.fingerprint + "\n";
  gpgme_error_t err = run_on_own_loop(ctx, [&] {
    return gpgme_op_encrypt_ext_start(ctx, nullptr, recipients.c_str(), GPGME_ENCRYPT_ALWAYS_TRUST,
                                      plain.get(), cipher.get());
  });
  if (b.failure) std::rethrow_exception(b.failure);
  if (err) {
    std::string refused = invalid_recipients(ctx);
    std::string message = engine_name(ctx) + " failed to encrypt to " + key_list(keys) + ": " +
                          gpg_error_text(err) + refused;
    if (!refused.empty()) throw key_refused(message);
    throw error(error_kind::unavailable, message);
  }
  if (!is_complete(ctx, b)) {
    throw error(error_kind::unavailable, engine_name(ctx) +
                                             " stopped before finishing the encrypted message to " +
                                             key_list(keys) + " (killed or crashed)");
  }
}

}  // namespace gpgseal
