// Decides, chunk by chunk, whether bytes are exactly one binary OpenPGP
// encrypted message (RFC 4880 §11.3, RFC 9580 §10.3.1): one or more encrypted
// session key packets (tags 1 and 3), then one encrypted data packet (tags 9,
// 18 and 20) that runs to the very end. Any other packet, a byte after the
// data packet, or a packet cut short is not ciphertext: a literal data packet
// behind a real session key is plain text dressed up.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gpgseal {

class binary_message_scanner {
 public:
  void feed(const char* data, std::size_t size);
  // True if everything fed is one encrypted message.
  bool finish();
  [[nodiscard]] bool rejected() const noexcept { return state_ == state::rejected; }

 private:
  enum class state { packet_tag, length, body, to_end, after_data, rejected };
  void take_tag(unsigned char byte);
  void take_length(unsigned char byte);
  void start_body(std::uint64_t length, bool partial);

  state state_ = state::packet_tag;
  int tag_ = 0;
  bool new_format_ = false;
  int length_bytes_wanted_ = 0;  // old format, or a two- or five-octet new length
  int length_bytes_seen_ = 0;
  std::uint64_t length_ = 0;
  std::uint64_t remaining_ = 0;  // of the current body chunk
  bool partial_ = false;         // the chunk is followed by another length
  int session_keys_ = 0;
  bool data_seen_ = false;
};

}  // namespace gpgseal
