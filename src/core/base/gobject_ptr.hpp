// An owning pointer to a GObject (GMime's objects). Its only constructors say
// whose reference it holds: adopt() takes over a reference we were given
// (`*_new`, `construct_*`), borrow() takes a new one on a pointer we were lent.
// glib_ptr owns plain memory GLib allocated.
#pragma once

#include <glib-object.h>

#include <memory>
#include <utility>

namespace gpgseal::detail {

template <class T>
class gobject_ptr {
 public:
  gobject_ptr() noexcept = default;
  static gobject_ptr adopt(T* p) noexcept { return gobject_ptr(p); }
  static gobject_ptr borrow(T* p) noexcept {
    if (p) g_object_ref(p);
    return gobject_ptr(p);
  }

  gobject_ptr(gobject_ptr&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  gobject_ptr& operator=(gobject_ptr&& other) noexcept {
    if (this != &other) {
      reset();
      p_ = std::exchange(other.p_, nullptr);
    }
    return *this;
  }
  gobject_ptr(const gobject_ptr&) = delete;
  gobject_ptr& operator=(const gobject_ptr&) = delete;
  ~gobject_ptr() { reset(); }

  [[nodiscard]] T* get() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  void reset() noexcept {
    if (p_) g_object_unref(p_);
    p_ = nullptr;
  }

 private:
  explicit gobject_ptr(T* p) noexcept : p_(p) {}
  T* p_ = nullptr;
};

// Memory GLib allocated with g_malloc (g_base64_decode, g_strdup, ...).
struct glib_free {
  void operator()(void* p) const noexcept { g_free(p); }
};
template <class T>
using glib_ptr = std::unique_ptr<T, glib_free>;

}  // namespace gpgseal::detail
