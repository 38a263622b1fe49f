// Everything the filter writes to smtpd, from any thread: whole lines only,
// under one lock, so that answers of different sessions interleave line by
// line and never inside a line. A message is streamed back in chunks of
// lines, the lock taken per chunk, so one large message does not hold up
// the answers of other sessions.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace gpgseal::smtpd {

class responder {
 public:
  explicit responder(int fd) : fd_(fd) {}
  // Writes `lines` (whole lines) at once. Returns false if smtpd is gone.
  bool write(std::string_view lines);

 private:
  int fd_;
  std::mutex mutex_;
};

// Streams the message in `fd` (read from its current offset to its end) back
// as filter-dataline answers, dot-stuffed, without the final "." line. Stops
// early, returning false, when `still_wanted()` turns false between chunks
// or the answers cannot be written. Memory stays bounded by the chunk size
// and the longest line.
template <typename still_wanted_fn>
bool stream_back(responder& out, int fd, std::string_view session, std::string_view token,
                 still_wanted_fn still_wanted);

// Non-template core of stream_back.
bool stream_back_impl(responder& out, int fd, std::string_view session, std::string_view token,
                      bool (*still_wanted)(void*), void* context);

template <typename still_wanted_fn>
bool stream_back(responder& out, int fd, std::string_view session, std::string_view token,
                 still_wanted_fn still_wanted) {
  return stream_back_impl(
      out, fd, session, token, [](void* c) { return (*static_cast<still_wanted_fn*>(c))(); },
      &still_wanted);
}

}  // namespace gpgseal::smtpd
