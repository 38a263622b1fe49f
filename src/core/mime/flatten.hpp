// gpgit's --inline-flatten: the lossy but safe reductions that turn a
// multipart message into the single text/plain part inline encryption
// needs. A multipart/alternative of a text/plain part (at least 10
// characters) and a text/html part keeps only the plain part; a
// multipart/related loses the images its HTML referred to by cid: URL; a
// multipart with one child becomes that child.
#pragma once

#include <gmime/gmime.h>

#include <optional>
#include <string>
#include <vector>

namespace gpgseal {

struct flattened {
  GMimePart* text_part;   // the text/plain leaf, owned by the tree
  std::string structure;  // the original structure in gpgit's notation
};

// Returns the text/plain leaf the message reduces to, or nullopt if it does
// not reduce to one (then nothing is flattened: flattening exists only for
// inline encryption). Reads HTML and text bodies through GMime.
std::optional<flattened> flatten_to_text(GMimeObject* top);

// gpgit's notation: "multipart/alternative(text/plain,text/html)".
std::string mime_structure(GMimeObject* object);

// The cid: URLs an HTML text refers to (attribute values, quoted or not).
void collect_cids(const std::string& html, std::vector<std::string>& cids);

}  // namespace gpgseal
