#pragma once

// What every fuzz target shares. A parser of outside input may reject it only
// with tessera::Error(kInvalidInput or kUnsupported): any other exception
// aborts, so libFuzzer reports it as a crash along with the sanitizers'
// findings (memory errors, leaks, undefined behaviour) and timeouts.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tessera/error.hpp"

namespace tessera::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input as JSON, or nullopt when it is not JSON (the target then has
// nothing to do: JSON syntax is nlohmann_json's, not tessera's).
inline std::optional<nlohmann::json> as_json(const std::uint8_t* data, std::size_t size) {
  auto value = nlohmann::json::parse(data, data + size, nullptr, false);
  if (value.is_discarded()) {
    return std::nullopt;
  }
  return value;
}

[[noreturn]] inline void finding(const char* what, const char* message) {
  std::fprintf(stderr, "fuzz finding: %s: %s\n", what, message);
  std::abort();
}

// Runs `body`, accepting only a clean rejection of the input. Returns whether
// the input was accepted.
template <class Body>
bool accepted(Body&& body) {
  try {
    body();
    return true;
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kInvalidInput || error.code() == ErrorCode::kUnsupported) {
      return false;
    }
    finding("unexpected tessera::Error", error.what());
  } catch (const std::exception& error) {
    finding("exception other than tessera::Error", error.what());
  }
}

}  // namespace tessera::fuzz
