#pragma once

// JSON text parsed with its nesting bounded: copying, comparing and writing
// a value recurse once per level, so a deeper document from outside is
// refused before it is built. Internal header.

#include <string_view>

#include <nlohmann/json.hpp>

namespace tessera::service {

// Deep enough for any GeoJSON document with nested properties.
inline constexpr int kMaxJsonDepth = 128;

// The value of `text`; discarded (is_discarded()) when it is not JSON or
// nests deeper than `max_depth`.
inline nlohmann::json parse_bounded_json(std::string_view text, int max_depth = kMaxJsonDepth) {
  struct TooDeep {};
  try {
    return nlohmann::json::parse(
        text.begin(), text.end(),
        [max_depth](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
          if (depth > max_depth) {
            throw TooDeep{};
          }
          return true;
        },
        false);
  } catch (const TooDeep&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

}  // namespace tessera::service
