// Owning handles for GPGME objects: each C handle is released by its own
// function when the owner goes out of scope.
#pragma once

#include <gpgme.h>

#include <memory>

namespace gpgseal::detail {

struct context_deleter {
  void operator()(gpgme_ctx_t ctx) const noexcept { gpgme_release(ctx); }
};
struct data_deleter {
  void operator()(gpgme_data_t data) const noexcept { gpgme_data_release(data); }
};
struct key_deleter {
  void operator()(gpgme_key_t key) const noexcept { gpgme_key_unref(key); }
};

using context_ptr = std::unique_ptr<gpgme_context, context_deleter>;
using data_ptr = std::unique_ptr<gpgme_data, data_deleter>;
using key_ptr = std::unique_ptr<_gpgme_key, key_deleter>;

}  // namespace gpgseal::detail
