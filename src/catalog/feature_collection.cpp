#include "catalog/feature_collection.hpp"

#include <fmt/format.h>

namespace tessera::catalog {

FeatureCollectionWriter::FeatureCollectionWriter(const SearchRequest& request) : request_(request) {
  text_ = R"({"type":"FeatureCollection","features":[)";
}

void FeatureCollectionWriter::add(std::string_view item) {
  if (count_++ > 0) {
    text_ += ',';
  }
  if (request_.fields_include.empty() && request_.fields_exclude.empty()) {
    text_ += item;
    return;
  }
  nlohmann::json parsed = nlohmann::json::parse(item);
  apply_fields(parsed, request_);
  text_ += parsed.dump();
}

std::string FeatureCollectionWriter::finish(std::optional<std::int64_t> number_matched, const std::string& next_token,
                                            const std::string& prev_token) {
  text_ += fmt::format(R"(],"numberReturned":{})", count_);
  if (number_matched) {
    text_ += fmt::format(R"(,"numberMatched":{})", *number_matched);
  }
  // Tokens are base64url: no character needs escaping.
  if (!next_token.empty()) {
    text_ += fmt::format(R"(,"next":"{}")", next_token);
  }
  if (!prev_token.empty()) {
    text_ += fmt::format(R"(,"prev":"{}")", prev_token);
  }
  text_ += '}';
  return std::move(text_);
}

}  // namespace tessera::catalog
