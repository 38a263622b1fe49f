#include "core/base/crlf.hpp"

#include <cstring>

namespace gpgseal {

void crlf_encoder::convert(const char* data, std::size_t size, std::string& out) {
  const char* p = data;
  const char* end = data + size;
  while (p < end) {
    const char* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!nl) {
      out.append(p, end);
      last_was_cr_ = end[-1] == '\r';
      return;
    }
    bool has_cr = nl > p ? nl[-1] == '\r' : last_was_cr_;
    out.append(p, nl);
    out.append(has_cr ? "\n" : "\r\n");
    last_was_cr_ = false;
    p = nl + 1;
  }
}

void line_end_writer::write(const char* data, std::size_t size) {
  if (!crlf_) {
    out_.write(data, size);
    return;
  }
  converted_.clear();
  encoder_.convert(data, size, converted_);
  out_.write(converted_);
}

}  // namespace gpgseal
