// Catalog::aggregate: the STAC API aggregation extension (v0.3.0) as one
// streaming scan over the pages of the search the request describes, so both
// backends give the same answers by construction. Memory is bounded by one
// page of items plus at most kMaxBuckets keys per aggregation; the work is one
// read of every matching item (total_count alone is the search's count).

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "catalog/aggregation.hpp"
#include "catalog/search_page.hpp"
#include "catalog/search_request.hpp"
#include "tessera/catalog.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera {

using nlohmann::json;

namespace catalog {

std::string geohash(double longitude, double latitude, int precision) {
  static constexpr std::string_view kBase32 = "0123456789bcdefghjkmnpqrstuvwxyz";
  if (precision < 1 || precision > kMaxGeohashPrecision) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("geohash precision {} is outside 1-{}", precision, kMaxGeohashPrecision));
  }
  std::array<double, 2> low = {-180.0, -90.0};
  std::array<double, 2> high = {180.0, 90.0};
  const std::array<double, 2> point = {std::clamp(longitude, -180.0, 180.0), std::clamp(latitude, -90.0, 90.0)};
  std::string hash;
  hash.reserve(static_cast<std::size_t>(precision));
  std::size_t axis = 0;  // longitude first, then alternating
  int bits = 0;
  unsigned character = 0;
  while (hash.size() < static_cast<std::size_t>(precision)) {
    const double middle = (low[axis] + high[axis]) / 2;
    character <<= 1U;
    if (point[axis] >= middle) {
      character |= 1U;
      low[axis] = middle;
    } else {
      high[axis] = middle;
    }
    axis ^= 1U;
    if (++bits == 5) {
      hash += kBase32[character];
      bits = 0;
      character = 0;
    }
  }
  return hash;
}

std::int64_t interval_start(std::int64_t micros, DatetimeInterval interval) {
  using namespace std::chrono;
  const sys_time<microseconds> instant{microseconds{micros}};
  const sys_days day = floor<days>(instant);
  const year_month_day date{day};
  sys_time<microseconds> start;
  switch (interval) {
    case DatetimeInterval::kYear:
      start = sys_days{date.year() / January / 1};
      break;
    case DatetimeInterval::kQuarter:
      start = sys_days{date.year() / month{(static_cast<unsigned>(date.month()) - 1) / 3 * 3 + 1} / 1};
      break;
    case DatetimeInterval::kMonth:
      start = sys_days{date.year() / date.month() / 1};
      break;
    case DatetimeInterval::kWeek:  // weeks start on Monday (ISO 8601), as Elasticsearch's do
      start = day - (weekday{day} - Monday);
      break;
    case DatetimeInterval::kDay:
      start = day;
      break;
    case DatetimeInterval::kHour:
      start = floor<hours>(instant);
      break;
    case DatetimeInterval::kMinute:
      start = floor<minutes>(instant);
      break;
    case DatetimeInterval::kSecond:
      start = floor<seconds>(instant);
      break;
  }
  return start.time_since_epoch().count();
}

}  // namespace catalog

namespace {

using catalog::DatetimeInterval;

constexpr std::size_t kMaxBuckets = 10000;
constexpr std::size_t kMaxAggregations = 32;
constexpr std::size_t kMaxPropertyLength = 256;
constexpr std::size_t kScanPageSize = 1000;
constexpr std::string_view kFrequencySuffix = "_frequency";

enum class Kind {
  kTotalCount,
  kDatetimeMin,
  kDatetimeMax,
  kDatetimeFrequency,
  kCollectionFrequency,
  kCloudCoverFrequency,
  kCentroidGeohashFrequency,
  kSpatialExtent,
  kPropertyFrequency,
};

struct Named {
  std::string_view name;
  Kind kind;
  std::string_view data_type;          // of the aggregation
  std::string_view distribution_type;  // of its buckets ("" for a single value)
  std::string_view property;           // for kPropertyFrequency
};

constexpr Named kNamed[] = {
    {"total_count", Kind::kTotalCount, "integer", "", ""},
    {"datetime_min", Kind::kDatetimeMin, "datetime", "", ""},
    {"datetime_max", Kind::kDatetimeMax, "datetime", "", ""},
    {"datetime_frequency", Kind::kDatetimeFrequency, "frequency_distribution", "datetime", ""},
    {"collection_frequency", Kind::kCollectionFrequency, "frequency_distribution", "string", ""},
    {"cloud_cover_frequency", Kind::kCloudCoverFrequency, "frequency_distribution", "numeric", ""},
    {"platform_frequency", Kind::kPropertyFrequency, "frequency_distribution", "string", "platform"},
    {"grid_code_frequency", Kind::kPropertyFrequency, "frequency_distribution", "string", "grid:code"},
    {"centroid_geohash_grid_frequency", Kind::kCentroidGeohashFrequency, "frequency_distribution", "string", ""},
    {"spatial_extent", Kind::kSpatialExtent, "bbox", "", ""},
};

constexpr std::pair<std::string_view, DatetimeInterval> kIntervals[] = {
    {"year", DatetimeInterval::kYear},     {"quarter", DatetimeInterval::kQuarter}, {"month", DatetimeInterval::kMonth},
    {"week", DatetimeInterval::kWeek},     {"day", DatetimeInterval::kDay},         {"hour", DatetimeInterval::kHour},
    {"minute", DatetimeInterval::kMinute}, {"second", DatetimeInterval::kSecond},
};

// The search members an aggregation request passes on, and its own.
constexpr std::string_view kSearchMembers[] = {"ids",    "collections", "bbox",       "intersects", "datetime",
                                               "filter", "filter-lang", "filter-crs", "query"};
constexpr std::string_view kPrecisionParameter = "centroid_geohash_grid_frequency_precision";
constexpr std::string_view kIntervalParameter = "datetime_frequency_interval";

[[noreturn]] void fail(std::string_view member, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("aggregate: {}: {}", member, problem));
}

std::string available_names() {
  std::string names;
  for (const auto& named : kNamed) {
    names += names.empty() ? "" : ", ";
    names += named.name;
  }
  return names + ", or <property>_frequency";
}

Named resolve(std::string_view name) {
  for (const auto& named : kNamed) {
    if (named.name == name) {
      return named;
    }
  }
  if (name.size() > kFrequencySuffix.size() && name.ends_with(kFrequencySuffix)) {
    std::string_view property = name.substr(0, name.size() - kFrequencySuffix.size());
    if (property.starts_with("properties.")) {
      property.remove_prefix(std::string_view("properties.").size());
    }
    if (!property.empty() && property.size() <= kMaxPropertyLength && catalog::is_plain_property_name(property)) {
      return {name, Kind::kPropertyFrequency, "frequency_distribution", "string", property};
    }
  }
  fail("aggregations", fmt::format("unknown aggregation '{}' (available: {})",
                                   name.size() > 100 ? std::string(name.substr(0, 100)) + "..." : std::string(name),
                                   available_names()));
}

// Counts by key, keeping at most kMaxBuckets keys: an item whose key does not
// fit counts in the overflow.
template <typename Key>
class Counter {
 public:
  void add(const Key& key) {
    if (const auto it = counts_.find(key); it != counts_.end()) {
      ++it->second;
    } else if (counts_.size() < kMaxBuckets) {
      counts_.emplace(key, 1);
    } else {
      ++overflow_;
    }
  }
  [[nodiscard]] const std::map<Key, std::int64_t, std::less<>>& counts() const noexcept { return counts_; }
  [[nodiscard]] std::int64_t overflow() const noexcept { return overflow_; }

 private:
  std::map<Key, std::int64_t, std::less<>> counts_;
  std::int64_t overflow_ = 0;
};

json distribution(const Named& named, json buckets, std::int64_t overflow) {
  return {{"name", named.name},
          {"data_type", "frequency_distribution"},
          {"frequency_distribution_data_type", named.distribution_type},
          {"buckets", std::move(buckets)},
          {"overflow", overflow}};
}

// Term buckets, the most frequent first (ties by key), as Elasticsearch orders them.
json term_buckets(const Named& named, const Counter<std::string>& counter) {
  std::vector<std::pair<std::string_view, std::int64_t>> sorted(counter.counts().begin(), counter.counts().end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  json buckets = json::array();
  for (const auto& [key, frequency] : sorted) {
    buckets.push_back({{"key", key}, {"data_type", named.distribution_type}, {"frequency", frequency}});
  }
  return distribution(named, std::move(buckets), counter.overflow());
}

// A scalar JSON value as a bucket key: strings as they are, numbers in their
// shortest form (so 10 and 10.0 are one key), booleans as true/false.
std::optional<std::string> key_of(simdjson::dom::element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string(value.get_string().value_unsafe());
    case simdjson::dom::element_type::INT64:
      return std::to_string(value.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return std::to_string(value.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE: {
      const double number = value.get_double().value_unsafe();
      if (number == std::floor(number) && std::abs(number) < 9.0e15) {
        return std::to_string(static_cast<std::int64_t>(number));
      }
      return fmt::format("{}", number);
    }
    case simdjson::dom::element_type::BOOL:
      return value.get_bool().value_unsafe() ? "true" : "false";
    default:
      return std::nullopt;
  }
}

std::optional<std::int64_t> instant_of(simdjson::dom::object properties, std::string_view first,
                                       std::string_view second) {
  for (const auto name : {first, second}) {
    std::string_view text;
    if (properties[name].get(text) == simdjson::SUCCESS) {
      if (auto micros = parse_rfc3339_micros(text)) {
        return micros;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// One aggregation's state over the scan.
struct Aggregation {
  Named named;
  Counter<std::string> terms;
  Counter<std::int64_t> instants;
  std::optional<std::int64_t> instant;
  std::array<std::int64_t, 10> cloud_cover{};
  std::int64_t cloud_cover_overflow = 0;
  std::optional<std::array<double, 4>> extent;
};

struct Parameters {
  int precision = 1;
  DatetimeInterval interval = DatetimeInterval::kMonth;
};

class Aggregator {
 public:
  Aggregator(std::vector<Named> names, Parameters parameters) : parameters_(parameters) {
    for (auto& named : names) {
      aggregations_.push_back(Aggregation{std::move(named), {}, {}, {}, {}, 0, {}});
    }
  }

  void add(simdjson::dom::element item) {
    ++count_;
    simdjson::dom::object properties;
    const bool has_properties = item["properties"].get(properties) == simdjson::SUCCESS;
    std::optional<std::array<double, 4>> bbox = bbox_of(item);
    for (auto& aggregation : aggregations_) {
      switch (aggregation.named.kind) {
        case Kind::kTotalCount:
          break;
        case Kind::kDatetimeMin:
          if (has_properties) {
            if (const auto instant = instant_of(properties, "datetime", "start_datetime")) {
              aggregation.instant = std::min(aggregation.instant.value_or(*instant), *instant);
            }
          }
          break;
        case Kind::kDatetimeMax:
          if (has_properties) {
            if (const auto instant = instant_of(properties, "datetime", "end_datetime")) {
              aggregation.instant = std::max(aggregation.instant.value_or(*instant), *instant);
            }
          }
          break;
        case Kind::kDatetimeFrequency:
          if (has_properties) {
            if (const auto instant = instant_of(properties, "datetime", "start_datetime")) {
              aggregation.instants.add(catalog::interval_start(*instant, parameters_.interval));
            }
          }
          break;
        case Kind::kCollectionFrequency:
          if (simdjson::dom::element collection; item["collection"].get(collection) == simdjson::SUCCESS) {
            if (const auto key = key_of(collection)) {
              aggregation.terms.add(*key);
            }
          }
          break;
        case Kind::kCloudCoverFrequency:
          if (has_properties) {
            add_cloud_cover(aggregation, properties);
          }
          break;
        case Kind::kCentroidGeohashFrequency:
          if (bbox) {
            aggregation.terms.add(centroid_geohash(*bbox));
          }
          break;
        case Kind::kSpatialExtent:
          if (bbox) {
            add_extent(aggregation, *bbox);
          }
          break;
        case Kind::kPropertyFrequency:
          if (has_properties) {
            add_property(aggregation, properties);
          }
          break;
      }
    }
  }

  // The answer, `total` being the count of matches when no item was scanned.
  json result(std::optional<std::int64_t> total) const {
    json aggregations = json::array();
    for (const auto& aggregation : aggregations_) {
      aggregations.push_back(result_of(aggregation, total.value_or(count_)));
    }
    return {{"type", "AggregationCollection"}, {"aggregations", std::move(aggregations)}};
  }

 private:
  static std::optional<std::array<double, 4>> bbox_of(simdjson::dom::element item) {
    simdjson::dom::array array;
    if (item["bbox"].get(array) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    std::vector<double> numbers;
    for (const auto value : array) {
      double number = 0;
      if (value.get(number) != simdjson::SUCCESS || !std::isfinite(number)) {
        return std::nullopt;
      }
      numbers.push_back(number);
    }
    if (numbers.size() == 4) {
      return std::array<double, 4>{numbers[0], numbers[1], numbers[2], numbers[3]};
    }
    if (numbers.size() == 6) {
      return std::array<double, 4>{numbers[0], numbers[1], numbers[3], numbers[4]};
    }
    return std::nullopt;
  }

  // The geohash of the bbox's centre (across the antimeridian when west > east).
  std::string centroid_geohash(const std::array<double, 4>& bbox) const {
    double x = (bbox[0] + bbox[2]) / 2;
    if (bbox[0] > bbox[2]) {
      x = (bbox[0] + bbox[2] + 360) / 2;
      if (x >= 180) {
        x -= 360;
      }
    }
    return catalog::geohash(x, (bbox[1] + bbox[3]) / 2, parameters_.precision);
  }

  static void add_extent(Aggregation& aggregation, const std::array<double, 4>& bbox) {
    // A bbox crossing the antimeridian widens the extent to every longitude.
    const double west = bbox[0] > bbox[2] ? -180 : bbox[0];
    const double east = bbox[0] > bbox[2] ? 180 : bbox[2];
    if (!aggregation.extent) {
      aggregation.extent = std::array<double, 4>{west, bbox[1], east, bbox[3]};
      return;
    }
    auto& extent = *aggregation.extent;
    extent = {std::min(extent[0], west), std::min(extent[1], bbox[1]), std::max(extent[2], east),
              std::max(extent[3], bbox[3])};
  }

  static void add_cloud_cover(Aggregation& aggregation, simdjson::dom::object properties) {
    double cover = 0;
    if (properties["eo:cloud_cover"].get(cover) != simdjson::SUCCESS) {
      return;  // absent or not a number: in no bucket
    }
    if (!(cover >= 0 && cover <= 100)) {
      ++aggregation.cloud_cover_overflow;
      return;
    }
    ++aggregation.cloud_cover[std::min<std::size_t>(static_cast<std::size_t>(cover / 10), 9)];
  }

  // Counts an item once under each distinct scalar value of the property (a
  // scalar or an array of them).
  static void add_property(Aggregation& aggregation, simdjson::dom::object properties) {
    simdjson::dom::element value;
    if (properties[aggregation.named.property].get(value) != simdjson::SUCCESS) {
      return;
    }
    simdjson::dom::array array;
    if (value.get(array) != simdjson::SUCCESS) {
      if (auto key = key_of(value)) {
        aggregation.terms.add(*key);
      }
      return;
    }
    std::vector<std::string> keys;
    for (const auto element : array) {
      if (auto key = key_of(element)) {
        keys.push_back(std::move(*key));
      }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const auto& key : keys) {
      aggregation.terms.add(key);
    }
  }

  json result_of(const Aggregation& aggregation, std::int64_t total) const {
    const Named& named = aggregation.named;
    switch (named.kind) {
      case Kind::kTotalCount:
        return {{"name", named.name}, {"data_type", named.data_type}, {"value", total}};
      case Kind::kDatetimeMin:
      case Kind::kDatetimeMax:
        return {{"name", named.name},
                {"data_type", named.data_type},
                {"value", aggregation.instant ? json(format_rfc3339_micros(*aggregation.instant)) : json(nullptr)}};
      case Kind::kSpatialExtent:
        return {{"name", named.name},
                {"data_type", named.data_type},
                {"value", aggregation.extent ? json(*aggregation.extent) : json(nullptr)}};
      case Kind::kDatetimeFrequency: {
        json buckets = json::array();
        for (const auto& [start, frequency] : aggregation.instants.counts()) {
          buckets.push_back({{"key", format_rfc3339_micros(start)},
                             {"data_type", named.distribution_type},
                             {"frequency", frequency}});
        }
        return distribution(named, std::move(buckets), aggregation.instants.overflow());
      }
      case Kind::kCloudCoverFrequency: {
        json buckets = json::array();
        for (std::size_t n = 0; n < aggregation.cloud_cover.size(); ++n) {
          const auto from = static_cast<int>(n * 10);
          buckets.push_back({{"key", fmt::format("{}.0-{}.0", from, from + 10)},
                             {"data_type", named.distribution_type},
                             {"frequency", aggregation.cloud_cover[n]},
                             {"from", from},
                             {"to", from + 10}});
        }
        return distribution(named, std::move(buckets), aggregation.cloud_cover_overflow);
      }
      case Kind::kCollectionFrequency:
      case Kind::kCentroidGeohashFrequency:
      case Kind::kPropertyFrequency:
        return term_buckets(named, aggregation.terms);
    }
    return nullptr;
  }

  Parameters parameters_;
  std::vector<Aggregation> aggregations_;
  std::int64_t count_ = 0;
};

Parameters parameters_of(const json& request) {
  Parameters parameters;
  if (const auto it = request.find(kPrecisionParameter); it != request.end() && !it->is_null()) {
    const std::string_view name = kPrecisionParameter;
    if (!it->is_number_integer()) {
      fail(name, fmt::format("expected an integer from 1 to {}, got {}", catalog::kMaxGeohashPrecision,
                             it->dump().substr(0, 100)));
    }
    const std::int64_t precision =
        it->is_number_unsigned() && it->get<std::uint64_t>() > 1000 ? 1000 : it->get<std::int64_t>();
    if (precision < 1 || precision > catalog::kMaxGeohashPrecision) {
      fail(name, fmt::format("{} is outside 1-{}", it->dump(), catalog::kMaxGeohashPrecision));
    }
    parameters.precision = static_cast<int>(precision);
  }
  if (const auto it = request.find(kIntervalParameter); it != request.end() && !it->is_null()) {
    const auto* text = it->get_ptr<const std::string*>();
    const auto* found = text == nullptr ? std::end(kIntervals)
                                        : std::find_if(std::begin(kIntervals), std::end(kIntervals),
                                                       [&](const auto& entry) { return entry.first == *text; });
    if (found == std::end(kIntervals)) {
      fail(kIntervalParameter, fmt::format("{} is not one of year, quarter, month, week, day, hour, minute, second",
                                           it->dump().substr(0, 100)));
    }
    parameters.interval = found->second;
  }
  return parameters;
}

std::vector<Named> names_of(const json& request) {
  const auto it = request.find("aggregations");
  if (it == request.end() || it->is_null()) {
    fail("aggregations", "missing: name the aggregations to compute (Catalog::aggregations() lists them)");
  }
  if (!it->is_array() || it->empty()) {
    fail("aggregations", "expected a non-empty array of names");
  }
  if (it->size() > kMaxAggregations) {
    fail("aggregations", fmt::format("{} names; at most {} per request", it->size(), kMaxAggregations));
  }
  std::vector<Named> names;
  for (const auto& name : *it) {
    if (!name.is_string()) {
      fail("aggregations", fmt::format("expected names (strings), got {}", name.type_name()));
    }
    const Named named = resolve(name.get_ref<const std::string&>());
    if (std::none_of(names.begin(), names.end(), [&](const Named& other) { return other.name == named.name; })) {
      names.push_back(named);
    }
  }
  return names;
}

}  // namespace

std::size_t Catalog::max_search_limit() const noexcept { return CatalogOptions{}.max_limit; }

json Catalog::aggregations(std::string_view collection) {
  if (!collection.empty()) {
    static_cast<void>(get_collection(collection));  // NotFound for an unknown collection
  }
  json list = json::array();
  for (const auto& named : kNamed) {
    json entry = {{"name", named.name}, {"data_type", named.data_type}};
    if (!named.distribution_type.empty()) {
      entry["frequency_distribution_data_type"] = named.distribution_type;
    }
    list.push_back(std::move(entry));
  }
  return {{"type", "AggregationCollection"}, {"aggregations", std::move(list)}};
}

json Catalog::aggregate(const json& request) {
  if (!request.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("aggregate: the request must be a JSON object, got {}", request.type_name()));
  }
  json search = json::object();
  for (const auto& [member, value] : request.items()) {
    if (std::find(std::begin(kSearchMembers), std::end(kSearchMembers), member) != std::end(kSearchMembers)) {
      search[member] = value;
    } else if (member != "aggregations" && member != kPrecisionParameter && member != kIntervalParameter &&
               member != "limit") {
      fail(member.size() > 100 ? member.substr(0, 100) + "..." : member,
           "not a member of an aggregation request (ids, collections, bbox, intersects, datetime, filter, "
           "filter-lang, filter-crs, query, aggregations, centroid_geohash_grid_frequency_precision, "
           "datetime_frequency_interval)");
    }
  }
  std::vector<Named> names = names_of(request);
  const Parameters parameters = parameters_of(request);
  const bool count_only =
      std::all_of(names.begin(), names.end(), [](const Named& named) { return named.kind == Kind::kTotalCount; });
  Aggregator aggregator(std::move(names), parameters);

  if (count_only) {
    search["limit"] = 1;
    search["context"] = true;
    const catalog::SearchPage page = search_page(search);
    return aggregator.result(page.number_matched.value_or(0));
  }
  search["limit"] = std::max<std::size_t>(1, std::min(kScanPageSize, max_search_limit()));
  search["context"] = false;
  thread_local simdjson::dom::parser parser;
  json next = std::move(search);
  for (;;) {
    catalog::SearchPage page = search_page(next);
    for (const std::string& text : page.items) {
      simdjson::dom::element item;
      if (parser.parse(text).get(item) != simdjson::SUCCESS) {
        // Stored items were validated when loaded: a text that does not parse is a bug.
        throw Error(ErrorCode::kInternal, fmt::format("aggregate: a stored item is not JSON ({} bytes)", text.size()));
      }
      aggregator.add(item);
    }
    if (page.next_token.empty() || page.items.empty()) {
      break;
    }
    next = json{{"token", std::move(page.next_token)}};
  }
  return aggregator.result(std::nullopt);
}

}  // namespace tessera
