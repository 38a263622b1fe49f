#include "core/mime/binary_message_scan.hpp"

#include <algorithm>

namespace gpgseal {

namespace {

bool is_session_key(int tag) { return tag == 1 || tag == 3; }
bool is_encrypted_data(int tag) { return tag == 9 || tag == 18 || tag == 20; }

}  // namespace

void binary_message_scanner::feed(const char* data, std::size_t size) {
  std::size_t i = 0;
  while (i < size && state_ != state::rejected) {
    auto byte = static_cast<unsigned char>(data[i]);
    switch (state_) {
      case state::packet_tag:
        take_tag(byte);
        ++i;
        break;
      case state::length:
        take_length(byte);
        ++i;
        break;
      case state::body: {
        std::uint64_t skip = std::min<std::uint64_t>(remaining_, size - i);
        remaining_ -= skip;
        i += static_cast<std::size_t>(skip);
        if (remaining_ > 0) break;
        if (partial_) {
          new_format_ = true;
          length_bytes_wanted_ = length_bytes_seen_ = 0;
          state_ = state::length;
        } else {
          state_ = data_seen_ ? state::after_data : state::packet_tag;
        }
        break;
      }
      case state::to_end:
        return;
      case state::after_data:
      case state::rejected:
        state_ = state::rejected;
        return;
    }
  }
}

// RFC 4880 §4.2: bit 7 set; bit 6 selects the new format.
void binary_message_scanner::take_tag(unsigned char byte) {
  if ((byte & 0x80) == 0) {
    state_ = state::rejected;
    return;
  }
  new_format_ = (byte & 0x40) != 0;
  tag_ = new_format_ ? (byte & 0x3f) : ((byte >> 2) & 0x0f);
  if (is_session_key(tag_)) {
    ++session_keys_;
  } else if (is_encrypted_data(tag_) && session_keys_ > 0) {
    data_seen_ = true;
  } else {
    state_ = state::rejected;
    return;
  }
  length_ = 0;
  length_bytes_seen_ = 0;
  length_bytes_wanted_ = 0;
  if (!new_format_) {
    int type = byte & 0x03;
    if (type == 3) {  // indeterminate: to the end of the data (§4.2.1)
      state_ = data_seen_ ? state::to_end : state::rejected;
      return;
    }
    length_bytes_wanted_ = 1 << type;
  }
  state_ = state::length;
}

// §4.2.1 (old format) and §4.2.2 (new format, partial lengths included).
void binary_message_scanner::take_length(unsigned char byte) {
  if (!new_format_ || length_bytes_wanted_ > 0) {
    length_ = (length_ << 8) | byte;
    if (++length_bytes_seen_ < length_bytes_wanted_) return;
    if (new_format_ && length_bytes_wanted_ == 2) length_ += 192;
    start_body(length_, false);
    return;
  }
  if (byte < 192) {
    start_body(byte, false);
  } else if (byte < 224) {
    length_ = byte - 192;
    length_bytes_wanted_ = 2;
    length_bytes_seen_ = 1;
  } else if (byte == 255) {
    length_ = 0;
    length_bytes_wanted_ = 5;
    length_bytes_seen_ = 1;
  } else if (is_encrypted_data(tag_)) {
    start_body(std::uint64_t{1} << (byte & 0x1f), true);
  } else {
    state_ = state::rejected;  // only data packets may be cut into partial lengths
  }
}

void binary_message_scanner::start_body(std::uint64_t length, bool partial) {
  remaining_ = length;
  partial_ = partial;
  state_ = state::body;
  if (length == 0 && !partial) state_ = data_seen_ ? state::after_data : state::packet_tag;
}

bool binary_message_scanner::finish() {
  return state_ == state::to_end || (state_ == state::after_data && data_seen_);
}

}  // namespace gpgseal
