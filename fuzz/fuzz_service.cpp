// The service's request handling: a request (method and path, query pairs,
// headers, body) from the input, answered by the STAC API over a small
// in-memory catalog that accepts anonymous writes (so the transactions are
// fuzzed too), with the tile routes (local hrefs only under an empty folder;
// /searches over the catalog). Every answer must have a status the API
// documents and be JSON (but a 204's or 304's empty body, the /api.html page
// and a rendered tile); a 500 (an unexpected exception inside) is a finding.
//
// Input: "METHOD PATH\n", then "name=value" query lines up to an empty line,
// then "Name: value" header lines up to an empty line, then the body.

#include <filesystem>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "tessera/catalog.hpp"
#include "tessera/environment.hpp"
#include "tessera/service.hpp"

namespace {

tessera::Catalog& catalog() {
  static const std::unique_ptr<tessera::Catalog> instance = [] {
    auto opened = tessera::Catalog::open(":memory:");
    opened->upsert_collection(nlohmann::json::parse(R"({"type": "Collection", "stac_version": "1.0.0", "id": "c",
        "description": "d", "license": "CC-BY-4.0", "links": [],
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[null, null]]}}})"));
    std::vector<nlohmann::json> items;
    for (int n = 0; n < 5; ++n) {
      items.push_back({{"type", "Feature"},
                       {"stac_version", "1.0.0"},
                       {"id", "i" + std::to_string(n)},
                       {"collection", "c"},
                       {"geometry", {{"type", "Point"}, {"coordinates", {n, n}}}},
                       {"bbox", {n, n, n, n}},
                       {"properties", {{"datetime", "2024-01-01T00:00:00Z"}, {"eo:cloud_cover", n}}},
                       {"links", nlohmann::json::array()},
                       {"assets", nlohmann::json::object()}});
    }
    opened->load(items);
    return opened;
  }();
  return *instance;
}

// The next line of `text` from `at` (without '\n'); `at` moves past it.
std::string_view next_line(std::string_view text, std::size_t& at) {
  const std::size_t end = std::min(text.find('\n', at), text.size());
  const std::string_view line = text.substr(at, end - at);
  at = std::min(end + 1, text.size());
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tessera::Service service(catalog(), [] {
    // The tile routes may read local files under this empty folder only.
    const std::filesystem::path root = std::filesystem::temp_directory_path() / "tessera-fuzz-service-root";
    std::filesystem::create_directories(root);
    tessera::ReaderConfig reader = tessera::reader_config();
    reader.allowed_roots = {root.string()};
    tessera::configure(reader);
    tessera::ServiceOptions options;
    options.cors_origins = {"https://browser.test"};
    options.auth.allow_anonymous_writes = true;
    return options;
  }());
  const std::string_view text = tessera::fuzz::as_text(data, size);
  std::size_t at = 0;
  tessera::HttpRequest request;
  const std::string_view first = next_line(text, at);
  const std::size_t space = first.find(' ');
  request.method = std::string(first.substr(0, space));
  request.path = space == std::string_view::npos ? "/" : std::string(first.substr(space + 1));
  for (std::string_view line = next_line(text, at); !line.empty() && at < text.size(); line = next_line(text, at)) {
    const std::size_t equals = line.find('=');
    request.query.emplace_back(line.substr(0, equals), equals == std::string_view::npos ? "" : line.substr(equals + 1));
  }
  for (std::string_view line = next_line(text, at); !line.empty() && at < text.size(); line = next_line(text, at)) {
    const std::size_t colon = line.find(':');
    request.headers.emplace_back(line.substr(0, colon), colon == std::string_view::npos ? "" : line.substr(colon + 1));
  }
  request.body = std::string(text.substr(at));

  const tessera::HttpResponse response = service.handle(request);
  if (response.status == 204) {
    if (!response.body.empty()) {
      tessera::fuzz::finding("a 204 with a body", response.body.c_str());
    }
    return 0;  // a CORS preflight, or a write done
  }
  if (response.status == 304) {
    if (!response.body.empty()) {
      tessera::fuzz::finding("a 304 with a body", response.body.c_str());
    }
    return 0;  // the tile routes' If-None-Match
  }
  switch (response.status) {
    case 200:
    case 201:
    case 400:
    case 404:
    case 405:
    case 409:
    case 413:
    case 503:  // the catalog busy (retryable)
      break;
    default:
      tessera::fuzz::finding("unexpected status", (std::to_string(response.status) + " " + response.body).c_str());
  }
  const std::string* type = response.header("Content-Type");
  const bool not_json = type != nullptr && (type->rfind("text/html", 0) == 0 || type->rfind("image/", 0) == 0 ||
                                            *type == "application/x-binary");
  if (request.method != "HEAD" && !not_json && nlohmann::json::parse(response.body, nullptr, false).is_discarded()) {
    tessera::fuzz::finding("response is not JSON", response.body.c_str());
  }
  return 0;
}
