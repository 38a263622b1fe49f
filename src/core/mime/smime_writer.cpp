#include "core/mime/smime_writer.hpp"

#include <string_view>

#include "core/mime/pgp_mime_writer.hpp"

namespace gpgseal {

namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// RFC 2045 §6.8: no more than 76 characters a line.
constexpr std::size_t line_length = 76;
// Encoded text is handed to the writer in pieces about this large.
constexpr std::size_t flush_size = 64 * 1024;

}  // namespace

smime_writer::smime_writer(fd_writer& out, int spool_fd, const message_layout& layout,
                           const header_protection& policy)
    : out_(out),
      spool_fd_(spool_fd),
      layout_(layout),
      policy_(policy),
      eol_(layout.crlf ? "\r\n" : "\n") {}

void smime_writer::write_head() {
  write_outer_fields(out_, spool_fd_, layout_, policy_);
  auto line = [&](std::string_view text) {
    out_.write(text);
    out_.write(eol_);
  };
  // The name and filename parameters: RFC 8551 §3.2.1, for clients that go by
  // the file name.
  line("Content-Type: application/pkcs7-mime; smime-type=enveloped-data;");
  line("\tname=\"smime.p7m\"");
  line("Content-Transfer-Encoding: base64");
  line("Content-Disposition: attachment; filename=\"smime.p7m\"");
  line("Content-Description: S/MIME Encrypted Message");
  // gpgit's marker, which existing Sieve rules and scripts test for.
  line("X-Gpgit-Executed: True");
  line("");
}

// Appends the base64 of 1 to 3 bytes (padded if fewer) to the current line.
void smime_writer::encode_quantum(const unsigned char* in, std::size_t size) {
  const unsigned bits = (unsigned{in[0]} << 16) | (size > 1 ? unsigned{in[1]} << 8 : 0U) |
                        (size > 2 ? unsigned{in[2]} : 0U);
  line_ += alphabet[(bits >> 18) & 0x3f];
  line_ += alphabet[(bits >> 12) & 0x3f];
  line_ += size > 1 ? alphabet[(bits >> 6) & 0x3f] : '=';
  line_ += size > 2 ? alphabet[bits & 0x3f] : '=';
  column_ += 4;
  if (column_ == line_length) {
    line_ += eol_;
    column_ = 0;
  }
  if (line_.size() >= flush_size) {
    out_.write(line_);
    line_.clear();
  }
}

void smime_writer::write(const char* data, std::size_t size) {
  const auto* in = reinterpret_cast<const unsigned char*>(data);
  while (size > 0 && pending_size_ > 0 && pending_size_ < pending_.size()) {
    pending_[pending_size_++] = *in++;
    --size;
  }
  if (pending_size_ == pending_.size()) {
    encode_quantum(pending_.data(), pending_size_);
    pending_size_ = 0;
  }
  for (; size >= 3; in += 3, size -= 3) encode_quantum(in, 3);
  for (; size > 0; --size) pending_[pending_size_++] = *in++;
}

void smime_writer::write_tail() {
  if (pending_size_ > 0) encode_quantum(pending_.data(), pending_size_);
  pending_size_ = 0;
  if (column_ > 0) line_ += eol_;
  column_ = 0;
  out_.write(line_);
  line_.clear();
}

}  // namespace gpgseal
