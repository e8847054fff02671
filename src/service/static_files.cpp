#include "service/static_files.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fmt/format.h>

#include "service/http_support.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

namespace {

namespace fs = std::filesystem;

bool ends_with_ignoring_case(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && equals_ignoring_case(text.substr(text.size() - suffix.size()), suffix);
}

// The path below the root as a relative filesystem path, or nullopt when it
// may not be served (see StaticFiles::serve).
std::optional<fs::path> safe_relative_path(std::string_view relative) {
  if (relative.size() > 1024) {
    return std::nullopt;
  }
  fs::path path;
  std::size_t start = 0;
  while (start <= relative.size()) {
    const std::size_t end = std::min(relative.find('/', start), relative.size());
    const std::string_view segment = relative.substr(start, end - start);
    start = end + 1;
    if (segment.empty()) {
      continue;
    }
    if (segment.front() == '.') {  // "..", "." and hidden files
      return std::nullopt;
    }
    if (std::any_of(segment.begin(), segment.end(), [](char c) {
          const auto byte = static_cast<unsigned char>(c);
          return byte < 0x20 || byte == 0x7f || c == '\\';
        })) {
      return std::nullopt;
    }
    path /= fs::path(std::string(segment));
  }
  return path;
}

// `path` lies in `root` (both canonical).
bool within(const fs::path& root, const fs::path& path) {
  const auto [root_end, _] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

// An HTTP date (RFC 9110 IMF-fixdate), independent of the locale.
std::string http_date(std::time_t time) {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm utc{};
  gmtime_r(&time, &utc);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT", kDays.at(utc.tm_wday), utc.tm_mday,
                     kMonths.at(utc.tm_mon), utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

// A file name with a content hash ("app.1a2b3c4d.js", as bundlers write
// them) never changes content: it may be cached for good.
bool content_hashed(std::string_view name) {
  std::size_t start = name.find('.');
  while (start != std::string_view::npos) {
    const std::size_t end = name.find('.', start + 1);
    if (end == std::string_view::npos) {
      return false;
    }
    const std::string_view part = name.substr(start + 1, end - start - 1);
    if (part.size() >= 8 && std::all_of(part.begin(), part.end(),
                                        [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
      return true;
    }
    start = end;
  }
  return false;
}

}  // namespace

std::string_view content_type_of(std::string_view name) {
  struct Type {
    std::string_view extension;
    std::string_view media_type;
  };
  static constexpr std::array<Type, 24> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".geojson", "application/geo+json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".txt", "text/plain; charset=utf-8"},
      {".xml", "application/xml"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".otf", "font/otf"},
      {".eot", "application/vnd.ms-fontobject"},
      {".wasm", "application/wasm"},
  }};
  for (const auto& type : kTypes) {
    if (ends_with_ignoring_case(name, type.extension)) {
      return type.media_type;
    }
  }
  return "application/octet-stream";
}

StaticFiles::StaticFiles(const fs::path& root) {
  std::error_code error;
  root_ = fs::canonical(root, error);
  if (error || !fs::is_directory(root_, error)) {
    throw Error(ErrorCode::kNotFound, fmt::format("'{}' is not a folder", root.string()));
  }
}

std::optional<HttpResponse> StaticFiles::serve(const HttpRequest& request, std::string_view relative) const {
  const auto below = safe_relative_path(relative);
  if (!below || below->empty()) {
    return std::nullopt;
  }
  std::error_code error;
  const fs::path path = fs::canonical(root_ / *below, error);
  if (error || !within(root_, path) || !fs::is_regular_file(path, error)) {
    return std::nullopt;
  }
  const auto size = fs::file_size(path, error);
  const auto modified = fs::last_write_time(path, error);
  if (error) {
    return std::nullopt;
  }
  const auto since_epoch = std::chrono::file_clock::to_sys(modified).time_since_epoch();
  const std::string etag =
      fmt::format("\"{:x}-{:x}\"", size, std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
  const std::string last_modified =
      http_date(static_cast<std::time_t>(std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count()));
  const std::string name = path.filename().string();
  const std::string_view type = content_type_of(name);

  HttpResponse response;
  response.headers = {{"ETag", etag}, {"Last-Modified", last_modified}};
  if (content_hashed(name)) {
    response.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  } else if (type.starts_with("text/html")) {
    response.headers.emplace_back("Cache-Control", "no-cache");
  } else {
    response.headers.emplace_back("Cache-Control", "public, max-age=3600");
  }
  const std::string* if_none_match = request.header("if-none-match");
  const std::string* if_modified_since = request.header("if-modified-since");
  // If-Modified-Since is compared as text: clients send back the Last-Modified they got.
  if ((if_none_match != nullptr && etag_matches(*if_none_match, etag)) ||
      (if_none_match == nullptr && if_modified_since != nullptr && *if_modified_since == last_modified)) {
    response.status = 304;
    return response;
  }
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    return std::nullopt;
  }
  response.body.assign(std::istreambuf_iterator<char>(input), {});
  response.headers.emplace_back("Content-Type", std::string(type));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

std::optional<MountedPath> below_mount(std::string_view path, std::string_view mount) {
  if (!path.starts_with(mount) || (path.size() > mount.size() && path[mount.size()] != '/')) {
    return std::nullopt;
  }
  if (path.size() == mount.size()) {
    return MountedPath{true, {}};
  }
  return MountedPath{false, path.substr(mount.size() + 1)};
}

HttpResponse to_mount_folder(const HttpRequest& request, std::string_view mount) {
  HttpResponse redirect;
  redirect.status = 301;
  redirect.headers = {{"Location", base_url(request) + std::string(mount) + "/" + query_string_of(request)}};
  return redirect;
}

}  // namespace tessera::service
