#pragma once

#include <string>
#include <string_view>

namespace tessera::storage {

struct ParsedUri {
  std::string scheme;  // "file", "s3", ...
  std::string path;    // for file: the absolute, percent-decoded path; else what follows "scheme://"
};

// `file:///abs`, `/abs` (scheme "file") or `scheme://rest`. Relative paths and
// malformed URIs are InvalidInput.
ParsedUri parse_uri(std::string_view uri);

std::string percent_decode(std::string_view text);
// Encodes what may not appear raw in a URI path (space, %, #, ?, control bytes).
std::string percent_encode_path(std::string_view path);

}  // namespace tessera::storage
