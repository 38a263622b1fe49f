#include "core/mime/flatten.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "core/mime/mime_tree.hpp"

namespace gpgseal {

namespace {

// A text/plain alternative shorter than this is probably a stub ("see the
// HTML version"), so the HTML part is the real content and must stay.
constexpr std::size_t min_plain_text = 10;
// cid: references are looked for in this much decoded HTML at the most.
constexpr std::size_t max_html_scanned = std::size_t{4} << 20;

std::string decoded_text(GMimeObject* object, std::size_t limit) {
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(object));
  if (!content) return "";
  GMimeStream* raw = g_mime_data_wrapper_get_stream(content);
  g_mime_stream_reset(raw);
  auto decoded = decoded_stream(raw, g_mime_data_wrapper_get_encoding(content));
  std::string text;
  std::array<char, 8192> buffer{};
  while (text.size() < limit) {
    ssize_t n = g_mime_stream_read(decoded.get(), buffer.data(), buffer.size());
    if (n <= 0) break;
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return text;
}

std::vector<GMimeObject*> children_of(GMimeObject* object) {
  std::vector<GMimeObject*> children;
  if (!GMIME_IS_MULTIPART(object)) return children;
  auto* multipart = GMIME_MULTIPART(object);
  for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
    children.push_back(g_mime_multipart_get_part(multipart, i));
  }
  return children;
}

GMimeObject* collapse_single_child(GMimeObject* object) {
  for (auto children = children_of(object); children.size() == 1; children = children_of(object)) {
    object = children.front();
  }
  return object;
}

bool is_leaf_of_type(GMimeObject* object, const char* type) {
  return GMIME_IS_PART(object) && mime_type_of(object) == type;
}

void collect_html_cids(GMimeObject* object, std::vector<std::string>& cids) {
  if (is_leaf_of_type(object, "text/html")) {
    collect_cids(decoded_text(object, max_html_scanned), cids);
  } else if (mime_type_of(object) == "multipart/alternative") {
    for (GMimeObject* child : children_of(object)) collect_html_cids(child, cids);
  }
}

bool is_referenced_image(GMimeObject* object, const std::vector<std::string>& cids) {
  if (!GMIME_IS_PART(object) || mime_type_of(object).rfind("image/", 0) != 0) return false;
  const char* id = g_mime_object_get_content_id(object);
  return id && std::find(cids.begin(), cids.end(), id) != cids.end();
}

GMimeObject* reduce_related(GMimeObject* related) {
  std::vector<std::string> cids;
  auto children = children_of(related);
  for (GMimeObject* child : children) collect_html_cids(child, cids);
  std::vector<GMimeObject*> kept;
  for (GMimeObject* child : children) {
    if (!is_referenced_image(child, cids)) kept.push_back(child);
  }
  return kept.size() == 1 && children.size() > 1 ? collapse_single_child(kept.front()) : related;
}

std::string trimmed(const std::string& text) {
  auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  auto begin = std::find_if_not(text.begin(), text.end(), blank);
  auto end = std::find_if_not(text.rbegin(), text.rend(), blank).base();
  return begin < end ? std::string(begin, end) : std::string();
}

GMimeObject* reduce_alternative(GMimeObject* alternative) {
  auto children = children_of(alternative);
  if (children.size() != 2 || !is_leaf_of_type(children[0], "text/plain") ||
      mime_type_of(children[1]) != "text/html") {
    return alternative;
  }
  bool has_text = trimmed(decoded_text(children[0], 4096)).size() >= min_plain_text;
  return has_text ? children[0] : alternative;
}

// RFC 2392 allows %-escapes in a cid: URL; the Content-ID has none.
std::string percent_decoded(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// True if "cid:" at `at` is an attribute value: '=', white space, a quote.
bool is_attribute_value(const std::string& html, std::size_t at) {
  std::size_t i = at;
  if (i > 0 && (html[i - 1] == '"' || html[i - 1] == '\'')) --i;
  while (i > 0 && std::isspace(static_cast<unsigned char>(html[i - 1]))) --i;
  return i > 0 && html[i - 1] == '=';
}

}  // namespace

void collect_cids(const std::string& html, std::vector<std::string>& cids) {
  std::string lower(html.size(), '\0');
  std::transform(html.begin(), html.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::size_t at = lower.find("cid:"); at != std::string::npos;
       at = lower.find("cid:", at + 4)) {
    if (!is_attribute_value(lower, at)) continue;
    std::size_t end = html.find_first_of("\"' \t\r\n/>", at + 4);
    if (end == std::string::npos || end == at + 4) continue;
    std::string cid = html.substr(at + 4, end - at - 4);
    cids.push_back(cid);
    cids.push_back(percent_decoded(cid));
  }
}

std::string mime_structure(GMimeObject* object) {
  std::string text = mime_type_of(object);
  if (!GMIME_IS_MULTIPART(object)) return text;
  std::string inner;
  for (GMimeObject* child : children_of(object)) {
    inner += (inner.empty() ? "" : ",") + mime_structure(child);
  }
  return text + "(" + inner + ")";
}

std::optional<flattened> flatten_to_text(GMimeObject* top) {
  if (!GMIME_IS_MULTIPART(top)) return std::nullopt;
  GMimeObject* node = collapse_single_child(top);
  if (mime_type_of(node) == "multipart/related") node = reduce_related(node);
  if (mime_type_of(node) == "multipart/alternative") node = reduce_alternative(node);
  node = collapse_single_child(node);
  if (!is_leaf_of_type(node, "text/plain")) return std::nullopt;
  return flattened{GMIME_PART(node), mime_structure(top)};
}

}  // namespace gpgseal
