#include "catalog/collection_search.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>

#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 6> kMembers = {"ids", "bbox", "datetime", "q", "limit", "token"};

// Offsets past this are no token this catalog issued (nor a real catalog's size).
constexpr std::int64_t kMaxOffset = std::int64_t{1} << 40;

bool is_member(std::string_view name) { return std::find(kMembers.begin(), kMembers.end(), name) != kMembers.end(); }

[[noreturn]] void not_a_token() {
  throw Error(ErrorCode::kInvalidInput, "collection search: token: is not a token this catalog issued");
}

// An end of extent.temporal.interval[0] in microseconds, as pgstac casts it
// to timestamptz; null (open) is nullopt.
std::optional<std::int64_t> interval_end(const json& value) {
  if (!value.is_string()) {
    return std::nullopt;
  }
  const auto& text = value.get_ref<const std::string&>();
  if (auto micros = parse_rfc3339_micros(text)) {
    return micros;
  }
  return parse_date_micros(text);  // a date is its midnight to a timestamptz
}

// The first element of the array at `pointer` in `collection`, or nullptr.
const json* first_of(const json& collection, const char* pointer) {
  const json::json_pointer path(pointer);
  if (!collection.contains(path)) {
    return nullptr;
  }
  const json& list = collection.at(path);
  return list.is_array() && !list.empty() ? &list.front() : nullptr;
}

}  // namespace

CollectionSearchRequest parse_collection_search(const json& request, std::size_t max_limit) {
  if (!request.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("collection search: request: expected a JSON object, got {}", request.type_name()));
  }
  for (const auto& [name, value] : request.items()) {
    if (!is_member(name)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("collection search: {}: unknown parameter (collection search takes bbox, datetime, q, "
                              "ids, limit and token)",
                              name));
    }
  }
  CollectionSearchRequest parsed{parse_search_request(request, {max_limit, 0}), 0};
  // A token of an item search names other members, or an item position.
  for (const auto& [name, value] : parsed.search.query.items()) {
    if (!is_member(name)) {
      not_a_token();
    }
  }
  if (const auto& position = parsed.search.position) {
    if (!position->is_object() || !position->contains("o") || !(*position)["o"].is_number_integer()) {
      not_a_token();
    }
    const auto offset = (*position)["o"].get<std::int64_t>();
    if (offset < 0 || offset > kMaxOffset) {
      not_a_token();
    }
    parsed.offset = static_cast<std::size_t>(offset);
  }
  return parsed;
}

bool collection_in_extent(const json& collection, const SearchRequest& request) {
  if (!request.ids.empty() &&
      std::find(request.ids.begin(), request.ids.end(), collection.value("id", "")) == request.ids.end()) {
    return false;
  }
  if (request.bbox) {
    // pgstac: st_makeenvelope of the first bbox's four numbers, whose
    // corners it orders itself.
    const json* box = first_of(collection, "/extent/spatial/bbox");
    if (box == nullptr || !box->is_array() || box->size() < 4 ||
        !std::all_of(box->begin(), box->begin() + 4, [](const json& v) { return v.is_number(); })) {
      return false;
    }
    const double x[2] = {(*box)[0].get<double>(), (*box)[2].get<double>()};
    const double y[2] = {(*box)[1].get<double>(), (*box)[3].get<double>()};
    const Bbox envelope{std::min(x[0], x[1]), std::min(y[0], y[1]), std::max(x[0], x[1]), std::max(y[0], y[1])};
    if (!request.bbox->intersects(envelope)) {
      return false;
    }
  }
  if (request.datetime) {
    std::optional<std::int64_t> start;
    std::optional<std::int64_t> end;
    if (const json* interval = first_of(collection, "/extent/temporal/interval");
        interval != nullptr && interval->is_array() && interval->size() >= 2) {
      start = interval_end((*interval)[0]);
      end = interval_end((*interval)[1]);
    }
    const auto lowest = std::numeric_limits<std::int64_t>::min();
    const auto highest = std::numeric_limits<std::int64_t>::max();
    if (start.value_or(lowest) > request.datetime->end.value_or(highest) ||
        end.value_or(highest) < request.datetime->start.value_or(lowest)) {
      return false;
    }
  }
  return true;
}

json collection_search_result(const CollectionSearchRequest& request, CollectionPage page) {
  const std::size_t returned = page.collections.size();
  json result = {{"collections", std::move(page.collections)},
                 {"numberMatched", page.number_matched},
                 {"numberReturned", returned}};
  const std::size_t limit = request.search.limit;
  if (static_cast<std::int64_t>(request.offset + returned) < page.number_matched) {
    result["next"] = encode_page_token(request.search, json{{"o", request.offset + returned}});
  }
  if (request.offset > 0) {
    result["prev"] =
        encode_page_token(request.search, json{{"o", request.offset > limit ? request.offset - limit : 0}});
  }
  return result;
}

}  // namespace tessera::catalog
