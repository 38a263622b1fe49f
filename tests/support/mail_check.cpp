#include "support/mail_check.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
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

namespace {

// Written in transit (RFC 9788 §7): these stay outside only.
bool is_transit(const std::string& name) {
  static const std::vector<std::string> transit = {"received",
                                                   "return-path",
                                                   "delivered-to",
                                                   "x-original-to",
                                                   "envelope-to",
                                                   "delivery-date",
                                                   "authentication-results",
                                                   "arc-seal",
                                                   "arc-message-signature",
                                                   "arc-authentication-results"};
  return std::find(transit.begin(), transit.end(), name) != transit.end();
}

bool is_dkim(const std::string& name) {
  return name == "dkim-signature" || name == "domainkey-signature";
}

bool is_content(const std::string& name) { return name.rfind("content-", 0) == 0; }

// The outer form of an input field, or "" if it is not outside.
std::string outer_form(const std::string& field, bool hidden_subject) {
  std::string name = field_name(field);
  if (is_content(name) || is_dkim(name)) return "";
  if (hidden_subject && (name == "comments" || name == "keywords")) return "";
  if (hidden_subject && name == "subject") return "Subject: [...]\n";
  return field;
}

const std::vector<std::string> marker_names = {"protected-headers", "hp", "hp-legacy-display"};

std::vector<std::pair<std::string, std::string>> parameters_of(GMimeContentType* type,
                                                               bool markers) {
  std::vector<std::pair<std::string, std::string>> found;
  GMimeParamList* list = g_mime_content_type_get_parameters(type);
  for (int i = 0; i < g_mime_param_list_length(list); ++i) {
    GMimeParam* p = g_mime_param_list_get_parameter_at(list, i);
    std::string name = g_mime_param_get_name(p);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    bool is_marker =
        std::find(marker_names.begin(), marker_names.end(), name) != marker_names.end();
    if (is_marker == markers) found.emplace_back(name, g_mime_param_get_value(p));
  }
  return found;
}

GMimeContentType* parse_type(const std::string& field) {
  std::string value = field.empty() ? "text/plain" : field.substr(field.find(':') + 1);
  return g_mime_content_type_parse(nullptr, value.c_str());
}

std::string trimmed_end(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

}  // namespace

bool is_copied(const std::string& name) {
  return !is_content(name) && name != "mime-version" && !is_dkim(name) && !is_transit(name) &&
         name != "hp-outer";
}

std::string expected_protected_block(const simple_message& input, bool hidden_subject) {
  std::string copies, outer;
  for (const auto& f : input.fields) {
    if (!is_copied(field_name(f))) continue;
    copies += f;
    std::string form = outer_form(f, hidden_subject);
    if (!form.empty()) outer += "HP-Outer: " + form;
  }
  return copies + outer;
}

std::string payload_head_without_content_fields(const std::string& headers) {
  std::string head = expected_protected_block(split_message(headers + "\n"), false) +
                     "Content-Type: text/plain; protected-headers=\"v1\"; hp=\"cipher\"\n\n";
  std::string crlf;
  for (char c : head) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return crlf;
}

namespace {

// "type/subtype"; GMime hands over a string the caller frees.
std::string mime_type_of(GMimeContentType* type) {
  char* text = g_mime_content_type_get_mime_type(type);
  std::string result = text ? text : "";
  g_free(text);
  return result;
}

}  // namespace

::testing::AssertionResult content_type_marked(const std::string& original,
                                               const std::string& marked, bool legacy_display) {
  init_gmime();
  GMimeContentType* before = parse_type(original);
  GMimeContentType* after = parse_type(marked);
  auto result = ::testing::AssertionSuccess();
  std::vector<std::pair<std::string, std::string>> want_markers = {{"protected-headers", "v1"},
                                                                   {"hp", "cipher"}};
  if (legacy_display) want_markers.emplace_back("hp-legacy-display", "1");
  if (!before || !after) {
    result = ::testing::AssertionFailure() << "Content-Type does not parse: " << marked;
  } else if (mime_type_of(before) != mime_type_of(after)) {
    result = ::testing::AssertionFailure() << "media type changed: " << marked;
  } else if (parameters_of(before, false) != parameters_of(after, false)) {
    result = ::testing::AssertionFailure() << "parameters changed: " << marked;
  } else if (parameters_of(after, true) != want_markers) {
    result = ::testing::AssertionFailure() << "markers wrong: " << marked;
  } else if (!original.empty() && parameters_of(before, true).empty()) {
    std::string kept = trimmed_end(original);
    if (marked.rfind(kept, 0) != 0) {
      result = ::testing::AssertionFailure() << "original bytes not kept: " << marked;
    }
  }
  if (before) g_object_unref(before);
  if (after) g_object_unref(after);
  return result;
}

std::string decrypted_payload(const std::string& output, const test_keyring& ring) {
  std::string armored;
  if (!has_pgp_mime_structure(output, &armored)) return "";
  return to_lf(ring.decrypt(armored));
}

::testing::AssertionResult round_trips(const std::string& input, const std::string& output,
                                       const test_keyring& ring, bool hidden_subject) {
  std::string armored;
  if (auto s = has_pgp_mime_structure(output, &armored); !s) return s;
  std::string payload;
  try {
    payload = ring.decrypt(armored);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "decryption failed: " << e.what();
  }
  if (auto same = payload_matches(input, output, payload, hidden_subject); !same) return same;
  return only_wrapper_lines_in_clear(split_message(output).body);
}

::testing::AssertionResult payload_matches(const std::string& input, const std::string& output,
                                           const std::string& payload, bool hidden_subject) {
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
    } else if (std::string form = outer_form(f, hidden_subject); !form.empty()) {
      expected_outer.push_back(form);
    }
  }
  if (out.envelope != in.envelope) return ::testing::AssertionFailure() << "envelope line changed";
  if (without_added(out.fields, had_version) != expected_outer) {
    return ::testing::AssertionFailure() << "outer header fields differ:\n"
                                         << join(out.fields) << "---- expected ----\n"
                                         << join(expected_outer);
  }
  // The payload root: the protected-header block, the Content-* fields with
  // the Content-Type marked, an empty line, the body.
  std::string block = expected_protected_block(in, hidden_subject);
  std::string lf_payload = to_lf(payload);
  if (lf_payload.compare(0, block.size(), block) != 0) {
    return ::testing::AssertionFailure()
           << "protected-header block differs:\n"
           << lf_payload.substr(0, block.size() + 200) << "---- expected ----\n"
           << block;
  }
  simple_message root = split_message(lf_payload.substr(block.size()));
  std::vector<std::string> marked, expected_content, original_types;
  for (const auto& f : content) {
    if (field_name(f) == "content-type") {
      original_types.push_back(f);
    } else {
      expected_content.push_back(f);
    }
  }
  for (const auto& f : root.fields) {
    if (field_name(f) == "content-type") {
      marked.push_back(f);
    } else {
      if (expected_content.empty() || f != expected_content.front()) {
        return ::testing::AssertionFailure() << "payload Content-* field differs: " << f;
      }
      expected_content.erase(expected_content.begin());
    }
  }
  // A message without a Content-Type gets one (RFC 2045 §5.2's default).
  if (original_types.empty()) original_types.emplace_back();
  if (!expected_content.empty() || marked.size() != original_types.size()) {
    return ::testing::AssertionFailure() << "payload Content-* fields differ";
  }
  for (std::size_t i = 0; i < marked.size(); ++i) {
    if (auto ok = content_type_marked(original_types[i], marked[i], false); !ok) return ok;
  }
  if (root.body != in.body) {
    return ::testing::AssertionFailure() << "decrypted body differs (" << root.body.size()
                                         << " bytes vs " << in.body.size() << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace gpgseal::test
