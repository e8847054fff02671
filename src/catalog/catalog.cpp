#include "tessera/catalog.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "catalog/collection_search.hpp"
#include "catalog/feature_collection.hpp"
#include "catalog/pgstac/pgstac_catalog.hpp"
#include "catalog/search_hash.hpp"
#include "catalog/search_page.hpp"
#include "catalog/sqlite/sqlite_catalog.hpp"
#include "catalog/stac_api/stac_api_catalog.hpp"
#include "core/enum_names.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr core::EnumName<LoadMode> kLoadModeNames[] = {
    {LoadMode::kInsert, "insert"},
    {LoadMode::kIgnore, "ignore"},
    {LoadMode::kUpsert, "upsert"},
};
constexpr core::NameTable<LoadMode> kLoadMode{"load mode", kLoadModeNames};
static_assert(kLoadMode.covers(LoadMode::kInsert, LoadMode::kUpsert));

}  // namespace

LoadMode load_mode_from_name(std::string_view name) { return kLoadMode.from_name(name); }

std::string_view load_mode_name(LoadMode mode) noexcept { return kLoadMode.name(mode); }

std::vector<std::string> load_mode_names() { return kLoadMode.names(); }

json LoadReport::to_json() const {
  json failures = json::array();
  for (const auto& failure : failed) {
    failures.push_back({{"id", failure.id},
                        {"collection", failure.collection},
                        {"error", failure.error},
                        {"retryable", failure.retryable}});
  }
  return {{"loaded", loaded}, {"skipped", skipped}, {"failed", failures}};
}

void LoadReport::merge(const LoadReport& other) {
  loaded += other.loaded;
  skipped += other.skipped;
  failed.insert(failed.end(), other.failed.begin(), other.failed.end());
  skipped_items.insert(skipped_items.end(), other.skipped_items.begin(), other.skipped_items.end());
}

Catalog::~Catalog() = default;

const catalog::Database* Catalog::database() const noexcept { return nullptr; }

void Catalog::refresh() {}

std::unique_ptr<Catalog> Catalog::open(std::string_view uri, const CatalogOptions& options) {
  constexpr std::string_view kScheme = "sqlite://";
  if (uri == ":memory:" || uri == "sqlite://:memory:") {
    return std::make_unique<catalog::sqlite::SqliteCatalog>(":memory:", options);
  }
  if (uri.starts_with(kScheme)) {
    const std::string path = storage::percent_decode(uri.substr(kScheme.size()));
    if (path.empty() || path.front() != '/') {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("catalog URI '{}' must name an absolute path (sqlite:///abs/path.db)", uri));
    }
    return std::make_unique<catalog::sqlite::SqliteCatalog>(path, options);
  }
  if (uri.starts_with("/") && (uri.ends_with(".db") || uri.ends_with(".sqlite") || uri.ends_with(".sqlite3"))) {
    return std::make_unique<catalog::sqlite::SqliteCatalog>(std::string(uri), options);
  }
  if (uri.starts_with("postgresql://") || uri.starts_with("postgres://")) {
    return std::make_unique<catalog::pgstac::PgstacCatalog>(std::string(uri), options);
  }
  if (uri.starts_with("stac+https://") || uri.starts_with("stac+http://")) {
    return std::make_unique<catalog::stac_api::StacApiCatalog>(std::string(uri.substr(5)), options);
  }
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("catalog URI '{}' is not sqlite:///abs/path.db, sqlite://:memory:, an absolute .db path, "
                          "postgresql://... or stac+https://...",
                          uri.substr(0, std::min<std::size_t>(uri.size(), 200))));
}

json Catalog::search(const json& request) { return json::parse(search_text(request)); }

std::string Catalog::search_text(const json& request) {
  const catalog::SearchPage page = search_page(request);
  catalog::FeatureCollectionWriter result(page.request);
  for (const std::string& item : page.items) {
    result.add(item);
  }
  return result.finish(page.number_matched, page.next_token, page.prev_token);
}

json Catalog::search_collections(const json& request) {
  const auto parsed = catalog::parse_collection_search(request, max_search_limit());
  return catalog::collection_search_result(parsed, collection_page(parsed));
}

std::string Catalog::register_search(const json& request, const json& metadata) {
  if (!metadata.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("register_search: metadata must be a JSON object, got {}", metadata.type_name()));
  }
  const json search = catalog::registrable_search(request);
  return store_search(catalog::search_hash(search, metadata), search, metadata);
}

LoadReport Catalog::load_file(const std::filesystem::path& path, const LoadOptions& options) {
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    throw Error(ErrorCode::kNotFound, fmt::format("cannot open item file '{}'", path.string()));
  }
  return load_stream(input, path.string(), options);
}

LoadReport Catalog::load_text(std::string_view text, const LoadOptions& options) {
  std::istringstream input{std::string(text)};
  return load_stream(input, "text", options);
}

namespace {

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\n") == std::string_view::npos; }

using ItemText = Catalog::ItemText;

// Items already in memory as JSON values, written out as text batch by batch.
class JsonItemSource final : public Catalog::ItemSource {
 public:
  JsonItemSource(const std::vector<json>& items, std::string_view name) : items_(items), name_(name) {}
  bool next(std::vector<ItemText>& batch, std::size_t max) override {
    batch.clear();
    for (; next_ < items_.size() && batch.size() < max; ++next_) {
      batch.push_back({items_[next_].dump(), 0});
    }
    return !batch.empty();
  }
  [[nodiscard]] std::string_view name() const override { return name_; }

 private:
  const std::vector<json>& items_;
  std::string name_;
  std::size_t next_ = 0;
};

// ndjson lines cut out of large blocks: each line costs one allocation.
class NdjsonItemSource final : public Catalog::ItemSource {
 public:
  NdjsonItemSource(std::istream& input, std::string first, std::size_t first_line, std::string_view name)
      : input_(input), pending_(std::move(first)), line_(first_line), name_(name) {
    block_.resize(std::size_t{4} << 20);
  }
  bool next(std::vector<ItemText>& batch, std::size_t max) override {
    batch.clear();
    if (!pending_.empty()) {
      batch.push_back({std::move(pending_), line_});
      pending_.clear();
    }
    while (batch.size() < max) {
      if (position_ == filled_) {
        if (!input_) {
          break;
        }
        input_.read(block_.data(), static_cast<std::streamsize>(block_.size()));
        filled_ = static_cast<std::size_t>(input_.gcount());
        position_ = 0;
        if (filled_ == 0) {
          break;
        }
      }
      const auto* newline = static_cast<const char*>(std::memchr(block_.data() + position_, '\n', filled_ - position_));
      const std::size_t end = newline != nullptr ? static_cast<std::size_t>(newline - block_.data()) : filled_;
      partial_.append(block_, position_, end - position_);
      position_ = newline != nullptr ? end + 1 : end;
      if (newline == nullptr && input_) {
        continue;  // the line goes on in the next block
      }
      ++line_;
      if (!is_blank(partial_)) {
        batch.push_back({std::move(partial_), line_});
      }
      partial_ = std::string();
    }
    return !batch.empty();
  }
  [[nodiscard]] std::string_view name() const override { return name_; }

 private:
  std::istream& input_;
  std::string pending_;
  std::size_t line_;
  std::string name_;
  std::string block_;
  std::size_t filled_ = 0;
  std::size_t position_ = 0;
  std::string partial_;
};

}  // namespace

namespace {

// Item texts already in memory, handed out batch by batch.
class TextItemSource final : public Catalog::ItemSource {
 public:
  explicit TextItemSource(std::vector<std::string> items) : items_(std::move(items)) {}
  bool next(std::vector<Catalog::ItemText>& batch, std::size_t max) override {
    batch.clear();
    for (; next_ < items_.size() && batch.size() < max; ++next_) {
      batch.push_back({std::move(items_[next_]), 0});
    }
    return !batch.empty();
  }
  [[nodiscard]] std::string_view name() const override { return "items"; }

 private:
  std::vector<std::string> items_;
  std::size_t next_ = 0;
};

}  // namespace

LoadReport Catalog::load_texts(std::vector<std::string> items, const LoadOptions& options) {
  TextItemSource source(std::move(items));
  return load_items(source, options);
}

LoadReport Catalog::load(const std::vector<json>& items, const LoadOptions& options) {
  JsonItemSource source(items, "items");
  return load_items(source, options);
}

LoadReport Catalog::load_stream(std::istream& input, std::string_view source, const LoadOptions& options) {
  std::string first;
  std::size_t line_number = 0;
  while (std::getline(input, first)) {
    ++line_number;
    if (!is_blank(first)) {
      break;
    }
  }
  if (is_blank(first)) {
    return {};  // empty input
  }
  // ndjson when the first line is a whole Item; otherwise one JSON document
  // (a FeatureCollection, an Item over several lines, or an array of Items).
  const json first_value = json::parse(first, nullptr, false);
  if (first_value.is_object() && first_value.contains("type") && first_value["type"] == "Feature") {
    NdjsonItemSource items(input, std::move(first), line_number, source);
    return load_items(items, options);
  }
  std::stringstream rest;
  rest << first << '\n' << input.rdbuf();
  json document;
  try {
    document = json::parse(rest.str());
  } catch (const json::exception& error) {
    // parse_error, or out_of_range for a number beyond a double's range.
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: invalid JSON: {}", source, error.what()));
  }
  std::vector<json> items;
  if (document.is_object() && document.contains("type") && document["type"] == "FeatureCollection") {
    const auto it = document.find("features");
    if (it == document.end() || !it->is_array()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: FeatureCollection has no 'features' array", source));
    }
    items = std::move(*it).get<std::vector<json>>();
  } else if (document.is_array()) {
    items = std::move(document).get<std::vector<json>>();
  } else {
    items.push_back(std::move(document));
  }
  JsonItemSource json_items(items, source);
  return load_items(json_items, options);
}

}  // namespace tessera
