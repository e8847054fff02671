// StacApiOptions read from JSON: the one reader behind the C ABI's
// stac_api_json and Python's stac_api={...}.

#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "tessera/catalog.hpp"
#include "tessera/error.hpp"

namespace tessera {

using nlohmann::json;

namespace {

[[noreturn]] void fail(std::string_view member, std::string_view expected, const json& value) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("stac_api.{}: expected {}, got {}", member, expected,
                                                    value.dump(-1, ' ', false, json::error_handler_t::replace)));
}

std::int64_t integer(std::string_view member, const json& value, std::int64_t min, std::int64_t max) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < min ||
      (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) ||
      value.get<std::int64_t>() > max) {
    fail(member, fmt::format("an integer from {} to {}", min, max), value);
  }
  return value.get<std::int64_t>();
}

std::string text(std::string_view member, const json& value) {
  if (!value.is_string()) {
    fail(member, "a string", value);
  }
  return value.get<std::string>();
}

}  // namespace

StacApiOptions StacApiOptions::from_json(const json& options) {
  if (!options.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("stac_api: expected an object, got {}", options.type_name()));
  }
  constexpr std::int64_t kMaxMs = std::int64_t{24} * 3600 * 1000;
  constexpr auto kMaxInt = static_cast<std::int64_t>(std::numeric_limits<int>::max());
  StacApiOptions parsed;
  for (const auto& [name, value] : options.items()) {
    if (value.is_null()) {
      continue;
    }
    if (name == "headers") {
      if (!value.is_object()) {
        fail(name, "an object of header names to strings", value);
      }
      for (const auto& [header, header_value] : value.items()) {
        parsed.headers[header] = text(fmt::format("headers.{}", header), header_value);
      }
    } else if (name == "connect_timeout_ms") {
      parsed.connect_timeout_ms = static_cast<int>(integer(name, value, 1, std::min(kMaxMs, kMaxInt)));
    } else if (name == "timeout_ms") {
      parsed.timeout_ms = static_cast<int>(integer(name, value, 1, std::min(kMaxMs, kMaxInt)));
    } else if (name == "max_retries") {
      parsed.max_retries = static_cast<int>(integer(name, value, 0, 20));
    } else if (name == "backoff_base_ms") {
      parsed.backoff_base_ms = static_cast<int>(integer(name, value, 0, 600000));
    } else if (name == "backoff_cap_ms") {
      parsed.backoff_cap_ms = static_cast<int>(integer(name, value, 0, 600000));
    } else if (name == "requests_per_second") {
      if (!value.is_number() || value.get<double>() < 0 || !(value.get<double>() <= 1e6)) {
        fail(name, "a number from 0 (no cap) to 1000000", value);
      }
      parsed.requests_per_second = value.get<double>();
    } else if (name == "max_response_bytes") {
      parsed.max_response_bytes = static_cast<std::size_t>(integer(name, value, 1024, std::int64_t{1} << 40));
    } else if (name == "ca_file") {
      parsed.ca_file = text(name, value);
    } else if (name == "search_cache_ttl_ms") {
      parsed.search_cache_ttl_ms = static_cast<int>(integer(name, value, 0, std::min(kMaxMs, kMaxInt)));
    } else if (name == "search_cache_max_bytes") {
      parsed.search_cache_max_bytes = static_cast<std::size_t>(integer(name, value, 0, std::int64_t{1} << 40));
    } else if (name == "search_store") {
      parsed.search_store = text(name, value);
    } else {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("stac_api: unknown option '{}' (known: headers, connect_timeout_ms, timeout_ms, "
                              "max_retries, backoff_base_ms, backoff_cap_ms, requests_per_second, "
                              "max_response_bytes, ca_file, search_cache_ttl_ms, search_cache_max_bytes, "
                              "search_store)",
                              name));
    }
  }
  return parsed;
}

}  // namespace tessera
