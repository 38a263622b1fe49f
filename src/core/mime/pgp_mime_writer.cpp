#include "core/mime/pgp_mime_writer.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace gpgseal {

namespace {

bool has_field(const message_layout& layout, const char* name) {
  for (const auto& field : layout.fields) {
    if (field.name == name) return true;
  }
  return false;
}

}  // namespace

bool stays_outside(const std::string& lower_name) {
  return !is_content_field(lower_name) && lower_name != "dkim-signature" &&
         lower_name != "domainkey-signature";
}

std::string make_boundary() {
  std::array<unsigned char, 16> random{};
  std::size_t got = 0;
  while (got < random.size()) {
    ssize_t n = ::getrandom(random.data() + got, random.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw system_error("cannot get random bytes for a MIME boundary", errno);
    }
    got += static_cast<std::size_t>(n);
  }
  constexpr std::string_view hex = "0123456789abcdef";
  std::string boundary = "gpgseal.";
  for (unsigned char byte : random) {
    boundary += hex[byte >> 4];
    boundary += hex[byte & 0x0f];
  }
  return boundary + "_=";
}

pgp_mime_writer::pgp_mime_writer(fd_writer& out, int spool_fd, const message_layout& layout,
                                 const header_protection& policy, std::string boundary)
    : out_(out),
      spool_fd_(spool_fd),
      layout_(layout),
      policy_(policy),
      boundary_(std::move(boundary)),
      eol_(layout.crlf ? "\r\n" : "\n"),
      armor_(out, layout.crlf) {}

void pgp_mime_writer::line(const std::string& text) {
  out_.write(text);
  out_.write(eol_);
}

void write_outer_fields(fd_writer& out, int spool_fd, const message_layout& layout,
                        const header_protection& policy) {
  const char* eol = layout.crlf ? "\r\n" : "\n";
  auto copy_field = [&](const byte_range& range, bool has_line_end) {
    copy_range_to(out, spool_fd, range.offset, range.length);
    if (!has_line_end) out.write(eol);
  };
  if (layout.mbox_from) copy_field(*layout.mbox_from, true);
  for (const auto& field : layout.fields) {
    if (is_content_field(field.name)) continue;
    switch (outer_form_of(field.name, policy)) {
      case outer_form::kept:
        copy_field(field.raw, field.has_line_end);
        break;
      case outer_form::obscured:
        out.write(obscured_subject);
        out.write(eol);
        break;
      case outer_form::removed:
        break;
    }
  }
  if (!has_field(layout, "mime-version")) {
    out.write("MIME-Version: 1.0");
    out.write(eol);
  }
}

void pgp_mime_writer::write_head() {
  write_outer_fields(out_, spool_fd_, layout_, policy_);
  line("Content-Type: multipart/encrypted;");
  line("\tprotocol=\"application/pgp-encrypted\";");
  line("\tboundary=\"" + boundary_ + "\"");
  // gpgit's marker, which existing Sieve rules and scripts test for.
  line("X-Gpgit-Executed: True");
  line("");
  line("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)");
  line("--" + boundary_);
  line("Content-Type: application/pgp-encrypted");
  line("Content-Description: PGP/MIME version identification");
  line("");
  line("Version: 1");
  line("");
  line("--" + boundary_);
  line("Content-Type: application/octet-stream; name=\"encrypted.asc\"");
  line("Content-Description: OpenPGP encrypted message");
  line("Content-Disposition: inline; filename=\"encrypted.asc\"");
  line("");
}

void pgp_mime_writer::write(const char* data, std::size_t size) { armor_.write(data, size); }

void pgp_mime_writer::write_tail() {
  line("");
  line("--" + boundary_ + "--");
}

}  // namespace gpgseal
