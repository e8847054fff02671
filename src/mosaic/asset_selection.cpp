// TiTiler 2's per-asset text form, "<asset>|bidx=1,2", read into an
// AssetSelection and written back.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"

namespace tessera {

namespace {

// At most this much of a bad value is quoted back in a message.
std::string shown(std::string_view text) {
  constexpr std::size_t kMax = 64;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

[[noreturn]] void refuse(std::string_view text, std::string_view why) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("'{}': {}", shown(text), why));
}

// "1,2,3": 1-based band indexes.
std::vector<int> indexes_of(std::string_view list, std::string_view text) {
  if (list.empty()) {
    refuse(text, "bidx has no band index");
  }
  std::vector<int> indexes;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view item = list.substr(start, comma - start);
    int index = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), index);
    if (item.empty() || error != std::errc() || end != item.data() + item.size() || index < 1) {
      refuse(text, fmt::format("band index '{}' is not an integer from 1", shown(item)));
    }
    indexes.push_back(index);
    start = comma + 1;
  }
  return indexes;
}

}  // namespace

AssetSelection asset_selection_from_text(std::string_view text) {
  const std::size_t bar = text.find('|');
  AssetSelection selection{std::string(text.substr(0, bar))};
  if (selection.name.empty()) {
    refuse(text, "the asset name is empty");
  }
  if (bar == std::string_view::npos) {
    return selection;
  }
  bool seen_bidx = false;
  std::string_view options = text.substr(bar + 1);
  while (true) {
    const std::size_t next = options.find('|');
    const std::string_view option = options.substr(0, next);
    const std::size_t equals = option.find('=');
    if (equals == std::string_view::npos) {
      refuse(text, fmt::format("option '{}' is not key=value (e.g. {}|bidx=1)", shown(option), shown(selection.name)));
    }
    const std::string_view key = option.substr(0, equals);
    if (key == "expression" || key == "bands") {
      throw Error(ErrorCode::kUnsupported,
                  fmt::format("'{}': the per-asset option '{}' is not supported (supported: bidx)", shown(text), key));
    }
    if (key != "bidx") {
      refuse(text, fmt::format("unknown option '{}' (supported: bidx)", shown(key)));
    }
    if (seen_bidx) {
      refuse(text, "bidx is given twice");
    }
    seen_bidx = true;
    selection.indexes = indexes_of(option.substr(equals + 1), text);
    if (next == std::string_view::npos) {
      return selection;
    }
    options = options.substr(next + 1);
  }
}

AssetSelection asset_selection_from_json(const nlohmann::json& value) {
  if (value.is_string()) {
    return asset_selection_from_text(value.get_ref<const std::string&>());
  }
  if (!value.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("an asset is a name (\"B04\", \"B04|bidx=1\") or {{\"name\", \"indexes\"}}, not {}",
                            value.type_name()));
  }
  AssetSelection selection;
  for (const auto& [key, member] : value.items()) {
    if (key == "name" && member.is_string() && !member.get_ref<const std::string&>().empty()) {
      selection.name = member.get<std::string>();
    } else if (key == "indexes" && member.is_array()) {
      for (const auto& index : member) {
        if (!index.is_number_integer() || index.get<std::int64_t>() < 1 ||
            index.get<std::int64_t>() > std::numeric_limits<int>::max()) {
          throw Error(ErrorCode::kInvalidInput,
                      fmt::format("asset indexes: {} is not a band index (an integer from 1)", shown(index.dump())));
        }
        selection.indexes.push_back(index.get<int>());
      }
    } else if (key == "name" || key == "indexes") {
      throw Error(ErrorCode::kInvalidInput, fmt::format("asset {}: must be {}", key,
                                                        key == "name" ? "a non-empty string" : "a list of integers"));
    } else {
      throw Error(ErrorCode::kInvalidInput, fmt::format("asset: unknown key '{}' (known: name, indexes)", shown(key)));
    }
  }
  if (selection.name.empty()) {
    throw Error(ErrorCode::kInvalidInput, "asset: \"name\" is required");
  }
  return selection;
}

std::string asset_selection_text(const AssetSelection& selection) {
  return selection.indexes.empty() ? selection.name
                                   : fmt::format("{}|bidx={}", selection.name, fmt::join(selection.indexes, ","));
}

}  // namespace tessera
