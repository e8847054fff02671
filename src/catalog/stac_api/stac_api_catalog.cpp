#include "catalog/stac_api/stac_api_catalog.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "catalog/search_page.hpp"
#include "catalog/sqlite/sqlite_catalog.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog::stac_api {

using nlohmann::json;

namespace {

// Items a page when an area is fetched whole: large pages, fewer requests,
// within what public STAC APIs allow.
constexpr std::size_t kAreaPageSize = 1000;
// Most pages of /collections followed for one listing.
constexpr std::size_t kMaxCollectionPages = 1000;

// A short excerpt of an error answer for a message: its description when it
// is a STAC API error document, else its first characters.
std::string error_excerpt(const std::string& body) {
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    for (const char* member : {"description", "detail", "message"}) {
      if (const auto it = parsed.find(member); it != parsed.end() && it->is_string()) {
        return it->get<std::string>().substr(0, 300);
      }
    }
  }
  return json(body.substr(0, 200)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// The landing page URL checked: http(s), no credentials, query or fragment
// (credentials belong in stac_api.headers, where messages never show them).
std::string checked_landing_url(const std::string& url) {
  const std::size_t authority = url.find("://");
  const std::size_t path = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  const std::string_view host_part = std::string_view(url).substr(0, path == std::string::npos ? url.size() : path);
  if (host_part.find('@') != std::string_view::npos) {
    throw Error(ErrorCode::kInvalidInput,
                "catalog URI: a STAC API URI takes no user-info; give credentials as stac_api.headers");
  }
  if (url.find_first_of("?#") != std::string::npos) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("catalog URI '{}': a STAC API URI names its landing page, without a query or fragment",
                            url_for_message(url)));
  }
  url_origin(url);
  return url;
}

std::vector<std::string> string_array(const json& value) {
  std::vector<std::string> strings;
  if (value.is_array()) {
    for (const auto& entry : value) {
      if (entry.is_string()) {
        strings.push_back(entry.get<std::string>());
      }
    }
  }
  return strings;
}

// The `rel` links of a document (landing page, collection list).
std::vector<json> links_of(const json& document, std::string_view rel) {
  std::vector<json> found;
  if (const auto links = document.find("links"); links != document.end() && links->is_array()) {
    for (const auto& link : *links) {
      if (link.is_object() && link.value("rel", json()) == rel && link.contains("href") && link["href"].is_string()) {
        found.push_back(link);
      }
    }
  }
  return found;
}

}  // namespace

StacApiCatalog::StacApiCatalog(const std::string& landing_url, const CatalogOptions& options)
    : options_(options),
      landing_url_(checked_landing_url(landing_url)),
      origin_(url_origin(landing_url)),
      http_(options.stac_api) {
  const json landing = fetch_json(landing_url_, "landing page");
  if (!landing.is_object()) {
    throw Error(ErrorCode::kIo,
                fmt::format("STAC API {}: the landing page is not a JSON object", url_for_message(landing_url_)));
  }
  if (const auto it = landing.find("conformsTo"); it != landing.end() && it->is_array()) {
    conformance_ = Conformance(string_array(*it));
  } else {
    const auto linked = links_of(landing, "conformance");
    const std::string url = linked.empty() ? endpoint("conformance") : linked.front()["href"].get<std::string>();
    if (url_origin(url) != origin_) {
      throw Error(ErrorCode::kIo,
                  fmt::format("STAC API {}: its conformance link names another server", url_for_message(landing_url_)));
    }
    conformance_ = Conformance(string_array(fetch_json(url, "conformance").value("conformsTo", json())));
  }
  for (const auto& link : links_of(landing, "search")) {
    const std::string href = link["href"].get<std::string>();
    if (url_origin(href) != origin_) {
      continue;  // a search on another server is never called (see the token check)
    }
    const bool post = link.value("method", json("GET")) == "POST";
    if (!search_ || (post && !search_->post)) {
      search_ = SearchEndpoint{href, post};
    }
  }
  if (!search_ && conformance_.declares("item-search")) {
    search_ = SearchEndpoint{endpoint("search"), false};
  }
  if (options.stac_api.search_cache_ttl_ms > 0 && options.stac_api.search_cache_max_bytes > 0) {
    area_cache_ = std::make_unique<AreaCache>(std::chrono::milliseconds(options.stac_api.search_cache_ttl_ms),
                                              options.stac_api.search_cache_max_bytes);
  }
  const std::string& store = options.stac_api.search_store;
  store_ = std::make_unique<sqlite::SqliteCatalog>(store.empty() ? ":memory:" : store, options);
}

StacApiCatalog::~StacApiCatalog() = default;

std::string StacApiCatalog::endpoint(std::string_view path) const {
  std::string_view base = landing_url_;
  while (base.ends_with('/')) {
    base.remove_suffix(1);
  }
  return fmt::format("{}/{}", base, path);
}

json StacApiCatalog::fetch_json(const std::string& url, std::string_view what, const json& body) {
  const bool post = body.is_object();
  const HttpResponse response = http_.request(url, post ? body.dump() : std::string());
  const std::string shown = fmt::format("{} {}", post ? "POST" : "GET", url_for_message(url));
  if (response.status == 404) {
    throw Error(ErrorCode::kNotFound, fmt::format("STAC API {}: {} not found (HTTP 404)", shown, what));
  }
  if (response.status == 400) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("STAC API {}: the server refused the {} request: {}", shown, what,
                                                      error_excerpt(response.body)));
  }
  if (response.status == 401 || response.status == 403) {
    throw Error(ErrorCode::kIo, fmt::format("STAC API {}: HTTP {}: not authorised (see stac_api.headers): {}", shown,
                                            response.status, error_excerpt(response.body)));
  }
  if (!response.redirect.empty()) {
    throw Error(ErrorCode::kIo, fmt::format("STAC API {}: HTTP {} redirects the {} to {}, which tessera does not "
                                            "follow (open the catalog at its final URL)",
                                            shown, response.status, what, response.redirect));
  }
  if (response.status < 200 || response.status > 299) {
    throw Error(ErrorCode::kIo, fmt::format("STAC API {}: HTTP {} for the {}: {}", shown, response.status, what,
                                            error_excerpt(response.body)));
  }
  json parsed = json::parse(response.body, nullptr, false);
  if (parsed.is_discarded()) {
    throw Error(ErrorCode::kIo, fmt::format("STAC API {}: the {} is not valid JSON ({} bytes; truncated?)", shown, what,
                                            response.body.size()));
  }
  return parsed;
}

RemotePage StacApiCatalog::fetch_page(const PageCall& call, std::size_t limit) {
  const bool post = call.body.is_object();
  const HttpResponse response = http_.request(call.href, post ? call.body.dump() : std::string());
  if (response.status < 200 || response.status > 299) {
    const std::string shown = fmt::format("{} {}", post ? "POST" : "GET", url_for_message(call.href));
    throw Error(response.status == 400 ? ErrorCode::kInvalidInput : ErrorCode::kIo,
                fmt::format("STAC API search {}: HTTP {}: {}", shown, response.status, error_excerpt(response.body)));
  }
  RemotePage page = read_page(response.body, call, limit);
  const std::string shown = url_for_message(call.href);
  for (const auto& [linked, rel] : {std::pair{&page.next, "next"}, std::pair{&page.prev, "prev"}}) {
    if (*linked && url_origin((*linked)->href) != origin_) {
      throw Error(ErrorCode::kIo,
                  fmt::format("STAC API search {}: its '{}' link names another server than the catalog's", shown, rel));
    }
  }
  if (page.next && page.items.empty()) {
    throw Error(ErrorCode::kIo, fmt::format("STAC API search {}: an empty page with a 'next' link", shown));
  }
  return page;
}

SearchPage StacApiCatalog::search_page(const json& request_json) {
  SearchRequest request = parse_search_request(request_json, {options_.max_limit, options_.max_geometry_vertices});
  if (!search_) {
    throw Error(ErrorCode::kUnsupported,
                fmt::format("search: the STAC API at {} declares no item search (conformance class 'item-search')",
                            url_for_message(landing_url_)));
  }
  check_supported(request, conformance_);
  if (auto cached = cached_search(request)) {
    return std::move(*cached);
  }
  std::vector<std::string> seen;
  PageCall call = request.position ? call_from_position(*request.position, origin_, seen)
                                   : first_call(request, *search_, request.limit);
  // The page as the server linked it, for finding links that loop.
  const std::string identity = call.identity();
  if (request.position) {
    call = with_limit(std::move(call), request.limit);
  }
  RemotePage page = fetch_page(call, request.limit);
  SearchPage result{std::move(request), std::move(page.items), std::nullopt, {}, {}};
  if (result.request.count_matched) {
    result.number_matched = page.number_matched;
  }
  if (page.prev) {
    // Walking back starts a walk of its own: the pages ahead are no loop.
    result.prev_token = encode_page_token(result.request, position_of(*page.prev, {}));
  }
  if (page.next) {
    seen.push_back(identity);
    check_not_seen(*page.next, seen, url_for_message(call.href));
    result.next_token = encode_page_token(result.request, position_of(*page.next, std::move(seen)));
  }
  return result;
}

std::optional<SearchPage> StacApiCatalog::cached_search(SearchRequest& request) {
  const bool area_token = request.position && request.position->is_object() && request.position->contains("area");
  const bool spatial = request.bbox || request.intersects;
  if (!area_cache_ || !spatial || !request.ids.empty() || (request.position && !area_token)) {
    if (area_token) {
      throw Error(ErrorCode::kInvalidInput, "token: is not a token this catalog issued");
    }
    return std::nullopt;
  }
  const Bbox envelope = request.bbox ? *request.bbox : request.intersects->bbox();
  const auto area = enclosing_area(envelope);
  if (!area) {
    return std::nullopt;
  }
  json other_members = request.query;
  other_members.erase("bbox");
  other_members.erase("intersects");
  const auto items = area_cache_->items(other_members.dump(), *area,
                                        [this, &request](const Bbox& cell) { return fetch_area(request, cell); });
  std::size_t offset = 0;
  if (area_token) {
    const json& position = (*request.position)["area"];
    if (!position.is_number_unsigned()) {
      throw Error(ErrorCode::kInvalidInput, "token: is not a token this catalog issued");
    }
    offset = position.get<std::size_t>();
  }
  if (!items) {
    if (area_token) {
      throw Error(ErrorCode::kUnavailable,
                  "token: the area this search was answered from has grown too large to cache; search again");
    }
    return std::nullopt;
  }
  const Geometry searched = request.bbox ? Geometry::from_bbox(*request.bbox) : request.intersects->clone();
  SearchPage page{std::move(request), {}, std::nullopt, {}, {}};
  const std::size_t limit = page.request.limit;
  std::size_t matched = 0;
  for (const AreaItem& item : items->items) {
    if (!item.geometry || !item.envelope.intersects(envelope) || !searched.intersects(*item.geometry)) {
      continue;
    }
    if (matched >= offset && page.items.size() < limit) {
      page.items.push_back(item.text);
    }
    ++matched;
    if (!page.request.count_matched && matched > offset + limit) {
      break;  // one more than the page: enough to know there is a next one
    }
  }
  if (page.request.count_matched) {
    page.number_matched = static_cast<std::int64_t>(matched);
  }
  if (matched > offset + page.items.size()) {
    page.next_token = encode_page_token(page.request, json{{"area", offset + page.items.size()}});
  }
  if (offset > 0) {
    page.prev_token = encode_page_token(page.request, json{{"area", offset > limit ? offset - limit : 0}});
  }
  return page;
}

std::optional<AreaItems> StacApiCatalog::fetch_area(const SearchRequest& request, const Bbox& area) {
  const std::size_t page_size = std::min(kAreaPageSize, options_.max_limit);
  PageCall call = first_call(request, *search_, page_size, area);
  AreaItems fetched;
  std::vector<std::string> seen;
  for (;;) {
    RemotePage page = fetch_page(call, page_size);
    for (std::string& text : page.items) {
      fetched.bytes += text.size();
      if (fetched.bytes > area_cache_->max_area_bytes()) {
        return std::nullopt;
      }
      AreaItem item{std::move(text), {}, nullptr};
      const json parsed = json::parse(item.text);  // written by read_page: valid
      if (const auto geometry = parsed.find("geometry"); geometry != parsed.end() && geometry->is_object()) {
        try {
          auto shape = std::make_shared<const Geometry>(Geometry::from_geojson(*geometry));
          item.envelope = shape->bbox();
          item.geometry = std::move(shape);
        } catch (const Error&) {
          // A geometry the server stores but GeoJSON does not allow: matched by no area search.
        }
      }
      fetched.items.push_back(std::move(item));
    }
    if (!page.next) {
      return fetched;
    }
    seen.push_back(call.identity());
    check_not_seen(*page.next, seen, url_for_message(call.href));
    call = std::move(*page.next);
  }
}

void StacApiCatalog::refresh() {
  if (area_cache_) {
    area_cache_->clear();
  }
}

json StacApiCatalog::get_item(std::string_view collection, std::string_view id) {
  return fetch_json(endpoint(fmt::format("collections/{}/items/{}", percent_encode(collection), percent_encode(id))),
                    fmt::format("item '{}' of collection '{}'", id, collection));
}

json StacApiCatalog::get_collection(std::string_view id) {
  return fetch_json(endpoint(fmt::format("collections/{}", percent_encode(id))), fmt::format("collection '{}'", id));
}

std::vector<json> StacApiCatalog::all_collections(const std::string& url) {
  std::vector<json> all;
  std::size_t bytes = 0;
  std::set<std::string> read;
  std::string next = url;
  for (std::size_t pages = 0; !next.empty(); ++pages) {
    if (pages == kMaxCollectionPages || !read.insert(next).second) {
      throw Error(ErrorCode::kIo,
                  fmt::format("STAC API GET {}: {}", url_for_message(url),
                              pages == kMaxCollectionPages ? "more pages of collections than tessera follows (1000)"
                                                           : "its 'next' link loops back to a page already read"));
    }
    json page = fetch_json(next, "collection list");
    const auto collections = page.find("collections");
    if (!page.is_object() || collections == page.end() || !collections->is_array()) {
      throw Error(ErrorCode::kIo,
                  fmt::format("STAC API GET {}: the answer has no 'collections' array", url_for_message(next)));
    }
    for (auto& collection : *collections) {
      if (collection.is_object()) {
        // One response's budget for the whole listing, however many pages it takes.
        bytes += collection.dump().size();
        if (bytes > options_.stac_api.max_response_bytes) {
          throw Error(ErrorCode::kIo, fmt::format("STAC API GET {}: the collections take more than "
                                                  "stac_api.max_response_bytes ({})",
                                                  url_for_message(url), options_.stac_api.max_response_bytes));
        }
        all.push_back(std::move(collection));
      }
    }
    const auto links = links_of(page, "next");
    next = links.empty() ? std::string() : links.front()["href"].get<std::string>();
    if (!next.empty() && url_origin(next) != origin_) {
      throw Error(ErrorCode::kIo,
                  fmt::format("STAC API GET {}: its 'next' link names another server", url_for_message(url)));
    }
  }
  return all;
}

json StacApiCatalog::collections() {
  std::vector<json> all = all_collections(endpoint("collections"));
  std::stable_sort(all.begin(), all.end(),
                   [](const json& a, const json& b) { return a.value("id", "") < b.value("id", ""); });
  return all;
}

CollectionPage StacApiCatalog::collection_page(const CollectionSearchRequest& request) {
  const SearchRequest& search = request.search;
  std::string url = endpoint("collections");
  if (const auto q = search.query.find("q"); q != search.query.end()) {
    if (!conformance_.declares("collection-search#free-text")) {
      throw Error(ErrorCode::kUnsupported,
                  "collection search: q needs the server's conformance class "
                  "'collection-search#free-text', which it does not declare");
    }
    std::string text;
    for (const auto& term : q->is_array() ? *q : json::array({*q})) {
      if (!text.empty()) {
        text += ',';
      }
      text += term.get<std::string>();
    }
    url += "?q=" + percent_encode(text);
  }
  std::vector<json> matching;
  for (json& collection : all_collections(url)) {
    if (collection_in_extent(collection, search)) {
      matching.push_back(std::move(collection));
    }
  }
  std::stable_sort(matching.begin(), matching.end(),
                   [](const json& a, const json& b) { return a.value("id", "") < b.value("id", ""); });
  CollectionPage page;
  page.number_matched = static_cast<std::int64_t>(matching.size());
  for (std::size_t i = request.offset; i < matching.size() && page.collections.size() < search.limit; ++i) {
    page.collections.push_back(std::move(matching[i]));
  }
  return page;
}

json StacApiCatalog::queryables(std::string_view collection) {
  return collection.empty() ? fetch_json(endpoint("queryables"), "queryables")
                            : fetch_json(endpoint(fmt::format("collections/{}/queryables", percent_encode(collection))),
                                         fmt::format("queryables of collection '{}'", collection));
}

void StacApiCatalog::refuse_write(std::string_view operation) const {
  throw Error(ErrorCode::kUnsupported,
              fmt::format("{}: the catalog at {} is a remote STAC API, which tessera reads only", operation,
                          url_for_message(landing_url_)));
}

void StacApiCatalog::create_collection(const json& /*collection*/) { refuse_write("create_collection"); }
void StacApiCatalog::update_collection(const json& /*collection*/) { refuse_write("update_collection"); }
void StacApiCatalog::upsert_collection(const json& /*collection*/) { refuse_write("upsert_collection"); }
void StacApiCatalog::delete_collection(std::string_view /*id*/, bool /*cascade*/) { refuse_write("delete_collection"); }
json StacApiCatalog::update_collection_extent(std::string_view /*id*/) { refuse_write("update_collection_extent"); }
void StacApiCatalog::delete_item(std::string_view /*collection*/, std::string_view /*id*/) {
  refuse_write("delete_item");
}
void StacApiCatalog::index_property(std::string_view /*property*/) { refuse_write("index_property"); }
std::vector<ItemChange> StacApiCatalog::item_changes(std::int64_t /*after*/, std::size_t /*limit*/) {
  throw Error(ErrorCode::kUnsupported,
              fmt::format("item_changes: the catalog at {} is a remote STAC API, which publishes no item changes",
                          url_for_message(landing_url_)));
}
std::unique_ptr<LoadWriter> StacApiCatalog::load_writer(const LoadOptions& /*options*/) { refuse_write("load"); }

std::string StacApiCatalog::store_search(const std::string& /*id*/, const json& search, const json& metadata) {
  // The store computes the same id (pgstac's hash of the same search).
  return store_->register_search(search, metadata);
}

json StacApiCatalog::registered_search(std::string_view id) { return store_->registered_search(id); }
json StacApiCatalog::registered_searches() { return store_->registered_searches(); }
bool StacApiCatalog::try_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) {
  return store_->try_lock(name, owner, lease);
}
void StacApiCatalog::renew_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) {
  store_->renew_lock(name, owner, lease);
}
void StacApiCatalog::unlock(std::string_view name, std::string_view owner) { store_->unlock(name, owner); }

}  // namespace tessera::catalog::stac_api
