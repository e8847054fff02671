#pragma once

// A search result written as JSON text straight from the stored item texts:
// items are parsed only when the fields extension has to reshape them. Both
// backends build their results with it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "catalog/search_request.hpp"

namespace tessera::catalog {

class FeatureCollectionWriter {
 public:
  explicit FeatureCollectionWriter(const SearchRequest& request);

  // One item's JSON text (compact, or pretty: it is copied as it is).
  void add(std::string_view item);
  // The finished FeatureCollection; empty tokens are left out.
  std::string finish(std::optional<std::int64_t> number_matched, const std::string& next_token,
                     const std::string& prev_token);

 private:
  const SearchRequest& request_;
  std::string text_;
  std::size_t count_ = 0;
};

}  // namespace tessera::catalog
