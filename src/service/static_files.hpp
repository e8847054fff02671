#pragma once

// Files of one folder served over HTTP (a web application such as STAC
// Browser), safely: a request path can only reach regular files inside the
// folder. Internal header.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "tessera/service.hpp"

namespace tessera::service {

// The media type of a file name by its extension ("application/octet-stream"
// for unknown ones).
std::string_view content_type_of(std::string_view name);

// Where a request path lies under `mount` ("/browser"): nullopt outside it,
// `bare` for the mount itself (no trailing '/'), else the rest below it
// ("" for "/browser/").
struct MountedPath {
  bool bare = false;
  std::string_view relative;
};
std::optional<MountedPath> below_mount(std::string_view path, std::string_view mount);

// A 301 to `mount` + "/" keeping the query: a web application's relative
// URLs need the trailing '/'.
HttpResponse to_mount_folder(const HttpRequest& request, std::string_view mount);

class StaticFiles {
 public:
  // `root` must be an existing folder (Error kNotFound otherwise).
  explicit StaticFiles(const std::filesystem::path& root);

  // The file at `relative` (a '/'-separated path below the root, as decoded
  // from the URL) as a response, honouring If-None-Match and
  // If-Modified-Since (304); nullopt when there is no such regular file or
  // the path may not be served: '..' or a hidden ('.') segment, a backslash,
  // NUL or another control character, or a file whose real path (symbolic
  // links resolved) lies outside the root.
  [[nodiscard]] std::optional<HttpResponse> serve(const HttpRequest& request, std::string_view relative) const;

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }

 private:
  std::filesystem::path root_;  // canonical
};

}  // namespace tessera::service
