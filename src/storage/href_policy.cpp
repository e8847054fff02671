#include "storage/href_policy.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>

#include "storage/environment_state.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace tessera::storage {

namespace fs = std::filesystem;

namespace {

std::string lowercase(std::string_view text) {
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

// GDAL reads special meaning into /vsi prefixes and into a few other name
// forms (connection strings, inline XML); none may come with data.
void refuse_gdal_syntax(std::string_view href, std::string_view lowered) {
  if (href.empty()) {
    throw Error(ErrorCode::kInvalidInput, "href is empty");
  }
  if (std::any_of(href.begin(), href.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' contains a control character", href));
  }
  // Percent-decoded too: a file:// or s3:// href is decoded before GDAL sees
  // it, and a decoded NUL would cut the path GDAL opens short.
  const std::string decoded = lowercase(percent_decode(lowered));
  if (std::any_of(decoded.begin(), decoded.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' contains an encoded control character", href));
  }
  if (lowered.find("/vsi") != std::string_view::npos || decoded.find("/vsi") != std::string::npos) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("href '{}': GDAL /vsi prefixes are not accepted in hrefs; use a path or URL", href));
  }
  if (href.front() == '<') {
    throw Error(ErrorCode::kInvalidInput, "href is inline XML, not a path or URL");
  }
}

std::string resolve_local(std::string_view path_text, const ReaderConfig& config) {
  std::error_code error;
  const fs::path absolute = fs::absolute(fs::path(path_text), error);
  // Symbolic links are resolved before the roots are checked, so a link
  // inside a root cannot lead outside it.
  const fs::path resolved = error ? fs::path() : fs::weakly_canonical(absolute, error);
  if (error) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' is not a valid path", path_text));
  }
  if (!config.allowed_roots.empty()) {
    const bool inside = std::any_of(config.allowed_roots.begin(), config.allowed_roots.end(), [&](const auto& root) {
      std::error_code root_error;
      const fs::path canonical_root = fs::weakly_canonical(fs::absolute(root), root_error);
      if (root_error) {
        return false;
      }
      const auto [root_end, unused] =
          std::mismatch(canonical_root.begin(), canonical_root.end(), resolved.begin(), resolved.end());
      return root_end == canonical_root.end();
    });
    if (!inside) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' is outside the allowed local folders", path_text));
    }
  }
  return resolved.string();
}

// Whether a URL's path climbs with dot segments ("/../", "/./", also
// percent-encoded) or uses backslashes: libcurl removes dot segments before
// it sends the request (RFC 3986) and some servers treat '\' as '/', so
// "https://host/allowed/../other" would leave an allowed prefix.
bool has_path_tricks(std::string_view url) {
  const std::size_t authority = url.find("://");
  const std::size_t path_start = url.find('/', authority == std::string_view::npos ? 0 : authority + 3);
  if (path_start == std::string_view::npos) {
    return false;
  }
  std::string path(url.substr(path_start, url.find_first_of("?#", path_start) - path_start));
  path = percent_decode(path);
  if (path.find('\\') != std::string::npos) {
    return true;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment(path.data() + start, end - start);
    if (segment == "." || segment == "..") {
      return true;
    }
    start = end + 1;
  }
  return false;
}

}  // namespace

CheckedHref check_href(std::string_view href) {
  const std::string lowered = lowercase(href);
  refuse_gdal_syntax(href, lowered);
  const auto state = current_state();
  const ReaderConfig& config = state->config();
  if (lowered.starts_with("http://") || lowered.starts_with("https://")) {
    const bool allowed = std::any_of(config.allowed_prefixes.begin(), config.allowed_prefixes.end(),
                                     [&](const std::string& prefix) { return href.starts_with(prefix); });
    if (!allowed) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("href '{}' is not under an allowed URL prefix (configure allowed_prefixes)", href));
    }
    if (has_path_tricks(href)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("href '{}': '.' and '..' path segments and backslashes are not accepted in URLs", href));
    }
    return {HrefKind::kHttp, std::string(href), {}};
  }
  if (lowered.starts_with("s3://")) {
    const std::size_t slash = href.find('/', 5);
    if (slash == std::string_view::npos || slash + 1 == href.size()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' names a bucket, not an object", href));
    }
    return {HrefKind::kS3, std::string(href.substr(0, slash)), percent_decode(href.substr(slash + 1))};
  }
  if (lowered.starts_with("file://")) {
    return {HrefKind::kLocalPath, resolve_local(parse_uri(href).path, config), {}};
  }
  const std::size_t colon = href.find(':');
  const std::size_t slash = href.find('/');
  if (href.find("://") != std::string_view::npos ||
      (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash))) {
    // "PG:...", "WMS:...", "ftp://...": anything with a scheme tessera does not read.
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("href '{}': only local paths, file://, s3://, http:// and https:// are read", href));
  }
  return {HrefKind::kLocalPath, resolve_local(href, config), {}};
}

std::string http_gdal_path(const CheckedHref& checked) {
  const auto state = current_state();
  const HrefSigner& signer = state->config().href_signer;
  if (!signer) {
    return "/vsicurl/" + checked.location;
  }
  std::string signed_url;
  try {
    signed_url = signer(checked.location);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {
    throw Error(ErrorCode::kUnavailable, fmt::format("signing href '{}' failed: {}", checked.location, error.what()));
  }
  const std::string lowered = lowercase(signed_url);
  if (!lowered.starts_with("http://") && !lowered.starts_with("https://")) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("the href signer turned '{}' into something that is not an http(s) URL", checked.location));
  }
  try {
    refuse_gdal_syntax(signed_url, lowered);
  } catch (const Error& error) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("the href signer's URL for '{}' is refused: {}", checked.location, error.what()));
  }
  return "/vsicurl/" + signed_url;
}

}  // namespace tessera::storage
