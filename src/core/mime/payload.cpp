#include "core/mime/payload.hpp"

#include <algorithm>
#include <cstring>

#include "core/base/fd_io.hpp"
#include "core/error.hpp"

namespace gpgseal {

payload_source::payload_source(int spool_fd, const message_layout& layout)
    : fd_(spool_fd), raw_(1 << 16) {
  for (const auto& field : layout.fields) {
    if (!is_content_field(field.name)) continue;
    segments_.push_back({field.raw, {}});
    if (!field.has_line_end) segments_.push_back({{}, "\r\n"});
  }
  segments_.push_back({{}, "\r\n"});
  segments_.push_back({{layout.body_offset, layout.size - layout.body_offset}, {}});
}

bool payload_source::refill() {
  converted_.clear();
  served_ = 0;
  while (segment_ < segments_.size()) {
    const segment& s = segments_[segment_];
    if (!s.literal.empty()) {
      encoder_.convert(s.literal.data(), s.literal.size(), converted_);
      ++segment_;
      return true;
    }
    std::uint64_t left = s.range.length - consumed_;
    if (left == 0) {
      ++segment_;
      consumed_ = 0;
      continue;
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, raw_.size()));
    std::size_t got = pread_full(fd_, raw_.data(), want, s.range.offset + consumed_);
    if (got == 0) throw error(error_kind::io, "the spooled message ended early");
    consumed_ += got;
    encoder_.convert(raw_.data(), got, converted_);
    return true;
  }
  return false;
}

std::size_t payload_source::read(char* buffer, std::size_t size) {
  if (served_ == converted_.size() && !refill()) return 0;
  std::size_t n = std::min(size, converted_.size() - served_);
  std::memcpy(buffer, converted_.data() + served_, n);
  served_ += n;
  return n;
}

}  // namespace gpgseal
