#include "cli/smtpd/responder.hpp"

#include <unistd.h>

#include <cerrno>

#include "cli/smtpd/protocol.hpp"
#include "cli/smtpd/sessions.hpp"

namespace gpgseal::smtpd {

namespace {
constexpr std::size_t chunk_size = 64 * 1024;
}

bool responder::write(std::string_view lines) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (!lines.empty()) {
    ssize_t n = ::write(fd_, lines.data(), lines.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    lines.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool stream_back_impl(responder& out, int fd, std::string_view session, std::string_view token,
                      bool (*still_wanted)(void*), void* context) {
  std::string pending;  // the start of a line not yet ended
  std::string answers;
  std::string block(chunk_size, '\0');
  const std::string prefix =
      "filter-dataline|" + std::string(session) + "|" + std::string(token) + "|";
  auto add_line = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    answers.append(prefix);
    append_stuffed(answers, line);
    answers.push_back('\n');
  };
  auto flush = [&] {
    bool ok = still_wanted(context) && out.write(answers);
    answers.clear();
    return ok;
  };
  for (;;) {
    ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    std::string_view data(block.data(), static_cast<std::size_t>(n));
    for (auto nl = data.find('\n'); nl != std::string_view::npos; nl = data.find('\n')) {
      if (pending.empty()) {
        add_line(data.substr(0, nl));
      } else {
        pending.append(data.substr(0, nl));
        add_line(pending);
        pending.clear();
      }
      data.remove_prefix(nl + 1);
    }
    pending.append(data);
    if (answers.size() >= chunk_size && !flush()) return false;
  }
  if (!pending.empty()) add_line(pending);
  return answers.empty() || flush();
}

}  // namespace gpgseal::smtpd
