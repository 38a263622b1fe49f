#include "core/mime/protected_headers.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "core/base/gobject_ptr.hpp"

namespace gpgseal {

using detail::gobject_ptr;

namespace {

// Written by the relays and the receiving server after the author composed
// the message (RFC 9788 §7): kept outside only.
constexpr std::array<std::string_view, 10> transit_fields = {"received",
                                                             "return-path",
                                                             "delivered-to",
                                                             "x-original-to",
                                                             "envelope-to",
                                                             "delivery-date",
                                                             "authentication-results",
                                                             "arc-seal",
                                                             "arc-message-signature",
                                                             "arc-authentication-results"};

bool is_dkim_signature(const std::string& lower_name) {
  return lower_name == "dkim-signature" || lower_name == "domainkey-signature";
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_stripped(const char* name, const std::vector<std::string>& strip) {
  return std::find(strip.begin(), strip.end(), lower(name)) != strip.end();
}

std::string unfolded_value(const std::string& raw_field) {
  std::string value = raw_field.substr(raw_field.find(':') + 1);
  value.erase(
      std::remove_if(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n'; }),
      value.end());
  return value;
}

std::string without_line_end(std::string field) {
  while (!field.empty() && (field.back() == '\n' || field.back() == '\r' || field.back() == ' ' ||
                            field.back() == '\t')) {
    field.pop_back();
  }
  return field;
}

// The forged case only: the parsed type, less the stripped parameters,
// encoded by GMime (RFC 2231 where a value needs it).
std::string rebuilt(GMimeContentType* type, const std::vector<std::string>& strip) {
  auto clean = gobject_ptr<GMimeContentType>::adopt(g_mime_content_type_new(
      g_mime_content_type_get_media_type(type), g_mime_content_type_get_media_subtype(type)));
  GMimeParamList* params = g_mime_content_type_get_parameters(type);
  for (int i = 0; i < g_mime_param_list_length(params); ++i) {
    GMimeParam* param = g_mime_param_list_get_parameter_at(params, i);
    if (is_stripped(g_mime_param_get_name(param), strip)) continue;
    g_mime_content_type_set_parameter(clean.get(), g_mime_param_get_name(param),
                                      g_mime_param_get_value(param));
  }
  char* encoded = g_mime_content_type_encode(clean.get(), nullptr);
  std::string value = encoded ? encoded : "";
  g_free(encoded);
  return "Content-Type:" + without_line_end(value);
}

}  // namespace

std::string parameter_text(const std::vector<std::pair<std::string, std::string>>& parameters) {
  std::string text;
  for (const auto& [name, value] : parameters) {
    text += (text.empty() ? "" : "; ") + name + "=\"" + value + "\"";
  }
  return text;
}

outer_form outer_form_of(const std::string& lower_name, const header_protection& policy) {
  if (is_dkim_signature(lower_name)) return outer_form::removed;
  if (!policy.hide_subject) return outer_form::kept;
  if (lower_name == "subject") return outer_form::obscured;
  if (lower_name == "comments" || lower_name == "keywords") return outer_form::removed;
  return outer_form::kept;
}

bool copied_inside(const std::string& lower_name) {
  if (lower_name == "mime-version" || is_content_field(lower_name)) return false;
  if (is_dkim_signature(lower_name) || lower_name == "hp-outer") return false;
  return std::find(transit_fields.begin(), transit_fields.end(), lower_name) ==
         transit_fields.end();
}

const std::vector<std::string>& protection_parameters() {
  static const std::vector<std::string> names = {"hp", "protected-headers", "hp-legacy-display"};
  return names;
}

std::string with_parameters(const std::string& raw_field,
                            const std::vector<std::pair<std::string, std::string>>& added,
                            const std::vector<std::string>& strip) {
  const std::string value = unfolded_value(raw_field);
  auto type =
      gobject_ptr<GMimeContentType>::adopt(g_mime_content_type_parse(nullptr, value.c_str()));
  bool needs_rewrite = false;
  if (type) {
    GMimeParamList* params = g_mime_content_type_get_parameters(type.get());
    for (int i = 0; i < g_mime_param_list_length(params); ++i) {
      needs_rewrite |=
          is_stripped(g_mime_param_get_name(g_mime_param_list_get_parameter_at(params, i)), strip);
    }
  }
  std::string field = needs_rewrite ? rebuilt(type.get(), strip) : without_line_end(raw_field);
  if (field.back() != ';') field += ';';
  return field + "\r\n\t" + parameter_text(added) + "\r\n";
}

std::string decoded_subject(int spool_fd, const message_layout& layout) {
  auto fields = fields_named(layout, "subject");
  if (fields.empty()) return "";
  auto raw = read_field_value(spool_fd, *fields.front(), max_mime_field_value);
  if (!raw) return "";
  char* decoded = g_mime_utils_header_decode_text(nullptr, raw->c_str());
  std::string text = decoded ? decoded : "";
  g_free(decoded);
  std::replace(text.begin(), text.end(), '\t', ' ');
  std::size_t begin = text.find_first_not_of(' ');
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(' ') - begin + 1);
}

}  // namespace gpgseal
