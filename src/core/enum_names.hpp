#pragma once

// One table of names per enum, written once in the module that owns the enum,
// and the lookups every language binding, the CLI and the C ABI reach through
// that module's public `<enum>_name`, `<enum>_from_name` and `<enum>_names`:
//
//   constexpr core::EnumName<Resampling> kResamplingNames[] = {{Resampling::kNearest, "nearest"}, ...};
//   constexpr core::NameTable<Resampling> kResampling{"resampling", kResamplingNames};
//   static_assert(kResampling.covers(Resampling::kNearest, Resampling::kSum));
//
// An unknown name is InvalidInput naming the accepted ones.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/error.hpp"

namespace tessera::core {

template <typename Enum>
struct EnumName {
  Enum value;
  std::string_view name;
};

// "unknown <what> '<name>' (one of: a, b, c)".
[[noreturn]] void throw_unknown_name(std::string_view what, std::string_view name,
                                     const std::vector<std::string>& accepted);

template <typename Enum>
class NameTable {
 public:
  // `names`: one canonical name per value, in the order they are listed;
  // `aliases`: further names accepted by from_name (older or other spellings).
  constexpr NameTable(std::string_view what, std::span<const EnumName<Enum>> names,
                      std::span<const EnumName<Enum>> aliases = {}) noexcept
      : what_(what), names_(names), aliases_(aliases) {}

  [[nodiscard]] constexpr std::string_view name(Enum value) const noexcept {
    for (const auto& entry : names_) {
      if (entry.value == value) {
        return entry.name;
      }
    }
    return "unknown";
  }

  [[nodiscard]] constexpr std::optional<Enum> find(std::string_view name) const noexcept {
    for (const auto& table : {names_, aliases_}) {
      for (const auto& entry : table) {
        if (entry.name == name) {
          return entry.value;
        }
      }
    }
    return std::nullopt;
  }

  // InvalidInput naming the accepted names when `name` is none of them.
  [[nodiscard]] Enum from_name(std::string_view name) const {
    if (const std::optional<Enum> value = find(name)) {
      return *value;
    }
    throw_unknown_name(what_, name, names());
  }

  // The canonical names, in table order.
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> result;
    result.reserve(names_.size());
    for (const auto& entry : names_) {
      result.emplace_back(entry.name);
    }
    return result;
  }

  // True when every value from `first` to `last` (as integers) has exactly
  // one canonical name and the aliases name only those values: for a
  // static_assert next to the table.
  [[nodiscard]] constexpr bool covers(Enum first, Enum last) const noexcept {
    const auto low = static_cast<long long>(first);
    const auto high = static_cast<long long>(last);
    if (names_.size() != static_cast<std::size_t>(high - low + 1)) {
      return false;
    }
    for (long long value = low; value <= high; ++value) {
      int seen = 0;
      for (const auto& entry : names_) {
        seen += static_cast<long long>(entry.value) == value ? 1 : 0;
      }
      if (seen != 1) {
        return false;
      }
    }
    for (const auto& alias : aliases_) {
      const auto value = static_cast<long long>(alias.value);
      if (value < low || value > high) {
        return false;
      }
    }
    return true;
  }

 private:
  std::string_view what_;
  std::span<const EnumName<Enum>> names_;
  std::span<const EnumName<Enum>> aliases_;
};

}  // namespace tessera::core
