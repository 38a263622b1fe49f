// Inline PGP, gpgit's --encrypt-mode prefer-inline and inline-or-plain: the
// message keeps its headers and becomes one text part whose body is the
// ASCII-armored encryption of its decoded text, in its original charset, so
// that decrypting gives back exactly the text the sender wrote; or, if asked,
// converted to UTF-8, which readers of inline PGP (OpenPGP.js, NeoMutt)
// assume whatever the outer charset says.
#pragma once

#include <gmime/gmime.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/byte_stream.hpp"
#include "core/base/crlf.hpp"
#include "core/base/fd_io.hpp"
#include "core/base/gobject_ptr.hpp"
#include "core/mime/header_scan.hpp"
#include "core/mime/mime_tree.hpp"

namespace gpgseal {

struct inline_text {
  std::shared_ptr<mime_tree> tree;               // keeps a flattened leaf alive
  detail::gobject_ptr<GMimeStream> decoded;      // the text to encrypt
  std::optional<std::string> flattened_from;     // set if flattening produced the text
  std::vector<std::string> leaf_content_fields;  // "Name: value" of a flattened leaf
  std::string content_type;                      // the text's Content-Type value, "" if none
  bool utf8 = false;                             // converted: the outer charset is utf-8
};

// The text to encrypt inline: the body of a message that is one text/plain
// part, or (with `flatten`) the text/plain part the message flattens to.
// nullopt if there is none. With `utf8`, the text is converted to UTF-8: from
// its declared charset, else from UTF-8 if it is valid UTF-8 and from
// Windows-1252 if not. Requires initialise_libraries(). Throws error(io).
std::optional<inline_text> find_inline_text(int spool_fd, const message_layout& layout,
                                            bool flatten, bool utf8);

// Reads a GMime stream (not owned) as a byte_source.
class gmime_source : public byte_source {
 public:
  explicit gmime_source(GMimeStream* stream) : stream_(stream) {}
  std::size_t read(char* buffer, std::size_t size) override;

 private:
  GMimeStream* stream_;
};

// Writes the inline result: header fields, then the armor as it arrives.
class inline_writer : public byte_sink {
 public:
  inline_writer(fd_writer& out, int spool_fd, const message_layout& layout,
                const inline_text& text);
  void write_head();
  void write(const char* data, std::size_t size) override;

 private:
  void copy_field(const header_field& field);
  void line(const std::string& text);

  fd_writer& out_;
  int spool_fd_;
  const message_layout& layout_;
  const inline_text& text_;
  std::string eol_;
  line_end_writer armor_;
};

}  // namespace gpgseal
