#pragma once

// Options objects of the C entry points, given as JSON text.

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/error.hpp"
#include "tessera/storage.hpp"

namespace tessera::capi {

using nlohmann::json;

// The longest package lock wait an options object may ask for (a week:
// longer is a mistake, not a setting).
inline constexpr std::int64_t kMaxLockTimeoutMs = std::int64_t{7} * 24 * 3600 * 1000;

// An options object given as JSON text (NULL or "" = no options). Keys are
// checked against the ones the function takes and values against their
// types, so a typo or a wrong type is InvalidInput naming the key instead of
// being ignored. A null value is the same as leaving the key out.
class Options {
 public:
  Options(const char* text, const char* function, const char* argument, std::initializer_list<std::string_view> keys)
      : where_(std::string(function) + ": " + argument) {
    if (text == nullptr || std::string_view(text).find_first_not_of(" \t\r\n") == std::string_view::npos) {
      object_ = json::object();
      return;
    }
    try {
      object_ = json::parse(text);
    } catch (const json::parse_error& error) {
      throw Error(ErrorCode::kInvalidInput,
                  where_ + " is not valid JSON (at byte " + std::to_string(error.byte) + "): " + plain(error.what()));
    }
    if (!object_.is_object()) {
      throw Error(ErrorCode::kInvalidInput, where_ + " must be a JSON object");
    }
    for (const auto& [name, value] : object_.items()) {
      bool known = false;
      for (const auto key : keys) {
        known = known || key == name;
      }
      if (!known) {
        std::string list;
        for (const auto key : keys) {
          list += (list.empty() ? "" : ", ") + std::string(key);
        }
        throw Error(ErrorCode::kInvalidInput, where_ + ": unknown option '" + name + "' (known: " + list + ")");
      }
    }
  }

  [[nodiscard]] const std::string& where() const { return where_; }

  // The value of `key`, or nullptr when it is absent or null.
  [[nodiscard]] const json* find(std::string_view key) const {
    const auto found = object_.find(key);
    return found == object_.end() || found->is_null() ? nullptr : &*found;
  }

  [[nodiscard]] std::optional<std::string> string(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_string()) {
      fail(key, "a string");
    }
    return value->get<std::string>();
  }

  [[nodiscard]] std::optional<bool> boolean(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_boolean()) {
      fail(key, "true or false");
    }
    return value->get<bool>();
  }

  [[nodiscard]] std::optional<double> number(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_number()) {
      fail(key, "a number");
    }
    return value->get<double>();
  }

  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) const {
    const json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    const auto parsed = integer_of(*value, min, max);
    if (!parsed) {
      fail(key, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return parsed;
  }

  [[nodiscard]] std::optional<int> int32(std::string_view key, int min = std::numeric_limits<int>::min(),
                                         int max = std::numeric_limits<int>::max()) const {
    const auto value = integer(key, min, max);
    return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
  }

  [[nodiscard]] std::optional<std::vector<std::string>> strings(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    std::vector<std::string> parsed;
    if (!value->is_array()) {
      fail(key, "an array of strings");
    }
    for (const auto& item : *value) {
      if (!item.is_string()) {
        fail(key, "an array of strings");
      }
      parsed.push_back(item.get<std::string>());
    }
    return parsed;
  }

  [[nodiscard]] std::optional<std::vector<double>> numbers(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    std::vector<double> parsed;
    if (!value->is_array()) {
      fail(key, "an array of numbers");
    }
    for (const auto& item : *value) {
      if (!item.is_number()) {
        fail(key, "an array of numbers");
      }
      parsed.push_back(item.get<double>());
    }
    return parsed;
  }

  // A JSON object of strings (storage settings); empty when absent.
  [[nodiscard]] StorageOptions storage_options(std::string_view key) const {
    StorageOptions parsed;
    const json* settings = find(key);
    if (settings == nullptr) {
      return parsed;
    }
    if (!settings->is_object()) {
      fail(key, "a JSON object of strings");
    }
    for (const auto& [name, value] : settings->items()) {
      if (!value.is_string()) {
        fail(key, "a JSON object of strings ('" + name + "' is not a string)");
      }
      parsed[name] = value.get<std::string>();
    }
    return parsed;
  }

  [[noreturn]] void fail(std::string_view key, const std::string& expected) const {
    throw Error(ErrorCode::kInvalidInput, where_ + ": '" + std::string(key) + "' must be " + expected);
  }

  static std::optional<std::int64_t> integer_of(const json& value, std::int64_t min, std::int64_t max) {
    if (value.is_number_unsigned()) {
      const auto unsigned_value = value.get<std::uint64_t>();
      // nlohmann reads every non-negative integer as unsigned: `min` applies too.
      if (unsigned_value > static_cast<std::uint64_t>(max) ||
          (min > 0 && unsigned_value < static_cast<std::uint64_t>(min))) {
        return std::nullopt;
      }
      return static_cast<std::int64_t>(unsigned_value);
    }
    if (value.is_number_integer()) {
      const auto signed_value = value.get<std::int64_t>();
      return signed_value >= min && signed_value <= max ? std::optional(signed_value) : std::nullopt;
    }
    if (!value.is_number_float()) {
      return std::nullopt;
    }
    // 256.0 is accepted as 256; 256.5 is not an integer.
    const auto whole = value.get<double>();
    if (!std::isfinite(whole) || std::floor(whole) != whole || whole < static_cast<double>(min) ||
        whole > static_cast<double>(max)) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(whole);
  }

 private:
  // nlohmann's message without its "[json.exception.parse_error.101] " tag.
  static std::string plain(std::string_view message) {
    if (message.starts_with("[json.exception.")) {
      const auto end = message.find("] ");
      if (end != std::string_view::npos) {
        message.remove_prefix(end + 2);
      }
    }
    return std::string(message);
  }

  std::string where_;
  json object_;
};

}  // namespace tessera::capi
