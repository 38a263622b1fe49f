#include "support/mail_check.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <mutex>
#include <sstream>

namespace gpgseal::test {

namespace {

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

bool is_field_start(const std::string& line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] > 32 && line[i] < 127 && line[i] != ':') ++i;
  if (i == 0) return false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

bool has_bare_lf(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) return true;
  }
  return false;
}

}  // namespace

std::string decoded_content(GMimeObject* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(part));
  GMimeStream* mem = g_mime_stream_mem_new();
  g_mime_data_wrapper_write_to_stream(content, mem);
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
  std::string text(reinterpret_cast<const char*>(bytes->data), bytes->len);
  g_object_unref(mem);
  return text;
}

namespace {

bool type_is(GMimeObject* o, const char* type, const char* subtype) {
  return o && g_mime_content_type_is_type(g_mime_object_get_content_type(o), type, subtype);
}

std::vector<std::string> without_added(std::vector<std::string> fields, bool input_had_version) {
  auto drop_last = [&](const char* name) {
    for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
      if (field_name(*it) == name) {
        fields.erase(std::next(it).base());
        return true;
      }
    }
    return false;
  };
  // Every Content-* field outside is one gpgseal added: the originals move inside.
  fields.erase(
      std::remove_if(fields.begin(), fields.end(),
                     [](const std::string& f) { return field_name(f).rfind("content-", 0) == 0; }),
      fields.end());
  drop_last("x-gpgit-executed");
  if (!input_had_version) drop_last("mime-version");
  return fields;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l;
  return s;
}

// RFC 3156 §4 wrapper lines gpgseal writes around the ciphertext.
bool is_wrapper_line(const std::string& line) {
  static const std::vector<std::string> allowed = {
      "",
      "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)",
      "Content-Type: application/pgp-encrypted",
      "Content-Description: PGP/MIME version identification",
      "Version: 1",
      "Content-Type: application/octet-stream; name=\"encrypted.asc\"",
      "Content-Description: OpenPGP encrypted message",
      "Content-Disposition: inline; filename=\"encrypted.asc\""};
  return line.rfind("--", 0) == 0 ||
         std::find(allowed.begin(), allowed.end(), line) != allowed.end();
}

// Everything in the output body outside the armored block must be wrapper:
// no byte of the original body may be there in clear.
::testing::AssertionResult only_wrapper_lines_in_clear(const std::string& body) {
  std::size_t begin = body.find("-----BEGIN PGP MESSAGE-----\n");
  std::size_t end = body.find("-----END PGP MESSAGE-----\n");
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    return ::testing::AssertionFailure() << "no armored block in the output";
  }
  std::string outside = body.substr(0, begin) + body.substr(end + 26);
  std::istringstream lines(outside);
  for (std::string line; std::getline(lines, line);) {
    if (!is_wrapper_line(line)) {
      return ::testing::AssertionFailure() << "text in clear outside the ciphertext: " << line;
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

std::string to_lf(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

std::string field_name(const std::string& field) {
  std::string name = field.substr(0, field.find(':'));
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  return name;
}

simple_message split_message(const std::string& raw) {
  std::string text = to_lf(raw);
  simple_message m;
  std::size_t pos = 0;
  auto next_line = [&](std::string& line) {
    if (pos >= text.size()) return false;
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
    line = text.substr(pos, end - pos);
    return true;
  };
  std::string line;
  if (next_line(line) && line.rfind("From ", 0) == 0) {
    m.envelope = line;
    pos += line.size();
  }
  while (next_line(line)) {
    if (line == "\n") {
      pos += 1;
      break;
    }
    bool folded = (line[0] == ' ' || line[0] == '\t') && !m.fields.empty();
    if (!folded && !is_field_start(line)) break;
    if (folded) {
      m.fields.back() += line;
    } else {
      m.fields.push_back(line);
    }
    pos += line.size();
  }
  m.body = text.substr(std::min(pos, text.size()));
  for (auto& f : m.fields) {
    if (f.empty() || f.back() != '\n') f += '\n';
  }
  return m;
}

GMimeMessage* parse_gmime_message(const std::string& text) {
  init_gmime();
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(text.data(), text.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* message = g_mime_parser_construct_message(parser, nullptr);
  g_object_unref(parser);
  g_object_unref(stream);
  return message;
}

::testing::AssertionResult has_pgp_mime_structure(const std::string& output, std::string* armored) {
  GMimeMessage* message = parse_gmime_message(output);
  if (!message) return ::testing::AssertionFailure() << "output does not parse as a message";
  auto result = ::testing::AssertionSuccess();
  GMimeObject* top = g_mime_message_get_mime_part(message);
  const char* protocol = top ? g_mime_object_get_content_type_parameter(top, "protocol") : nullptr;
  if (!type_is(top, "multipart", "encrypted") || !GMIME_IS_MULTIPART(top)) {
    result = ::testing::AssertionFailure() << "top level is not multipart/encrypted";
  } else if (!protocol || std::string(protocol) != "application/pgp-encrypted") {
    result = ::testing::AssertionFailure() << "protocol parameter missing or wrong";
  } else if (g_mime_multipart_get_count(GMIME_MULTIPART(top)) != 2) {
    result = ::testing::AssertionFailure() << "multipart/encrypted does not have two parts";
  } else {
    GMimeObject* version = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
    GMimeObject* data = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
    if (!type_is(version, "application", "pgp-encrypted") ||
        to_lf(decoded_content(version)).find("Version: 1") == std::string::npos) {
      result = ::testing::AssertionFailure() << "first part is not the version part";
    } else if (!type_is(data, "application", "octet-stream")) {
      result = ::testing::AssertionFailure() << "second part is not application/octet-stream";
    } else if (armored) {
      *armored = decoded_content(data);
    }
  }
  g_object_unref(message);
  return result;
}

::testing::AssertionResult round_trips(const std::string& input, const std::string& output,
                                       const test_keyring& ring) {
  std::string armored;
  if (auto s = has_pgp_mime_structure(output, &armored); !s) return s;
  std::string payload;
  try {
    payload = ring.decrypt(armored);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "decryption failed: " << e.what();
  }
  if (auto same = payload_matches(input, output, payload); !same) return same;
  return only_wrapper_lines_in_clear(split_message(output).body);
}

::testing::AssertionResult payload_matches(const std::string& input, const std::string& output,
                                           const std::string& payload) {
  if (has_bare_lf(payload)) return ::testing::AssertionFailure() << "payload is not CRLF";
  simple_message in = split_message(input);
  simple_message out = split_message(output);
  std::vector<std::string> expected_outer, content;
  bool had_version = false;
  for (const auto& f : in.fields) {
    std::string name = field_name(f);
    had_version |= name == "mime-version";
    if (name.rfind("content-", 0) == 0) {
      content.push_back(f);
    } else if (name != "dkim-signature" && name != "domainkey-signature") {
      expected_outer.push_back(f);
    }
  }
  if (out.envelope != in.envelope) return ::testing::AssertionFailure() << "envelope line changed";
  if (without_added(out.fields, had_version) != expected_outer) {
    return ::testing::AssertionFailure() << "outer header fields differ:\n"
                                         << join(out.fields) << "---- expected ----\n"
                                         << join(expected_outer);
  }
  std::string expected_payload = join(content) + "\n" + in.body;
  if (to_lf(payload) != expected_payload) {
    return ::testing::AssertionFailure() << "decrypted payload differs (" << payload.size()
                                         << " bytes vs " << expected_payload.size() << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace gpgseal::test
