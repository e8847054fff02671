#include "tessera/catalog.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "catalog/sqlite/sqlite_catalog.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace tessera {

using nlohmann::json;

LoadMode parse_load_mode(std::string_view name) {
  if (name == "insert") {
    return LoadMode::kInsert;
  }
  if (name == "ignore") {
    return LoadMode::kIgnore;
  }
  if (name == "upsert") {
    return LoadMode::kUpsert;
  }
  throw Error(ErrorCode::kInvalidInput, fmt::format("load mode must be insert, ignore or upsert, got '{}'", name));
}

std::string_view load_mode_name(LoadMode mode) noexcept {
  switch (mode) {
    case LoadMode::kInsert:
      return "insert";
    case LoadMode::kIgnore:
      return "ignore";
    case LoadMode::kUpsert:
      return "upsert";
  }
  return "insert";
}

json LoadReport::to_json() const {
  json failures = json::array();
  for (const auto& failure : failed) {
    failures.push_back({{"id", failure.id}, {"collection", failure.collection}, {"error", failure.error}});
  }
  return {{"loaded", loaded}, {"skipped", skipped}, {"failed", failures}};
}

void LoadReport::merge(const LoadReport& other) {
  loaded += other.loaded;
  skipped += other.skipped;
  failed.insert(failed.end(), other.failed.begin(), other.failed.end());
}

Catalog::~Catalog() = default;

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
    throw Error(ErrorCode::kUnsupported, "the PgSTAC catalog backend is not built yet");
  }
  throw Error(
      ErrorCode::kInvalidInput,
      fmt::format("catalog URI '{}' is not sqlite:///abs/path.db, sqlite://:memory: or an absolute .db path", uri));
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

LoadReport Catalog::load(const std::vector<json>& items, const LoadOptions& options) {
  std::vector<ItemText> texts;
  texts.reserve(items.size());
  for (const auto& item : items) {
    texts.push_back({item.dump(), 0});
  }
  return load_texts(texts, "items", options);
}

namespace {

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace

LoadReport Catalog::load_stream(std::istream& input, std::string_view source, const LoadOptions& options) {
  if (options.batch_size == 0) {
    throw Error(ErrorCode::kInvalidInput, "load: batch_size must be at least 1");
  }
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
  if (!(first_value.is_object() && first_value.value("type", "") == "Feature")) {
    std::stringstream rest;
    rest << first << '\n' << input.rdbuf();
    json document;
    try {
      document = json::parse(rest.str());
    } catch (const json::parse_error& error) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: invalid JSON: {}", source, error.what()));
    }
    const json* features = &document;
    if (document.is_object() && document.value("type", "") == "FeatureCollection") {
      const auto it = document.find("features");
      if (it == document.end() || !it->is_array()) {
        throw Error(ErrorCode::kInvalidInput, fmt::format("{}: FeatureCollection has no 'features' array", source));
      }
      features = &*it;
    }
    std::vector<ItemText> texts;
    if (features->is_array()) {
      for (const auto& feature : *features) {
        texts.push_back({feature.dump(), 0});
      }
    } else {
      texts.push_back({document.dump(), 0});
    }
    return load_texts(texts, source, options);
  }

  // Stream ndjson a batch at a time, each line stored as written.
  LoadReport report;
  std::vector<ItemText> batch;
  batch.reserve(options.batch_size);
  batch.push_back({std::move(first), line_number});
  std::size_t processed = 0;
  LoadOptions batch_options = options;
  if (options.progress) {
    batch_options.progress = [&](std::size_t done) { options.progress(processed + done); };
  }
  // Several batches per call let a backend overlap parsing with writing.
  const std::size_t chunk = options.batch_size * 8;
  auto flush = [&] {
    report.merge(load_texts(batch, source, batch_options));
    processed += batch.size();
    batch.clear();
  };
  std::string line;
  while (std::getline(input, line)) {
    ++line_number;
    if (is_blank(line)) {
      continue;
    }
    batch.push_back({std::move(line), line_number});
    if (batch.size() == chunk) {
      flush();
    }
  }
  if (!batch.empty()) {
    flush();
  }
  return report;
}

}  // namespace tessera
