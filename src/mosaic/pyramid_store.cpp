#include "mosaic/pyramid_store.hpp"

#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <zstd.h>
#include <nlohmann/json.hpp>

#include "tessera/error.hpp"

namespace tessera::mosaic {

namespace {

using catalog::sqlite::Statement;

// The format of the file, checked on open: a file written by a later
// tessera is refused rather than misread.
constexpr std::string_view kStoreFormat = "tessera-pyramid-1";

constexpr const char* kStoreSchema = R"sql(
CREATE TABLE IF NOT EXISTS pyramid (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tiles (
  z INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
  data_type TEXT NOT NULL,   -- numpy's name
  bands INTEGER NOT NULL,
  band_names TEXT NOT NULL,  -- JSON array
  data BLOB NOT NULL,        -- zstd: band values (band-major) then the mask
  PRIMARY KEY (z, x, y)
) WITHOUT ROWID;
)sql";

// Fast compression: a base level is written once per change, read often.
constexpr int kZstdLevel = 3;

std::size_t tile_bytes(DataType type, int bands, int tile_size) {
  const auto pixels = static_cast<std::size_t>(tile_size) * static_cast<std::size_t>(tile_size);
  return pixels * data_type_size(type) * static_cast<std::size_t>(bands) + pixels;
}

[[noreturn]] void damaged(const Tile& tile, std::string_view why) {
  throw Error(ErrorCode::kIo, fmt::format("pyramid tile {}/{}/{} is damaged: {}", tile.z, tile.x, tile.y, why));
}

}  // namespace

std::unique_ptr<StoreConnection> open_store(const std::filesystem::path& path, bool create) {
  std::error_code error;
  if (!create && !std::filesystem::exists(path, error)) {
    throw Error(ErrorCode::kNotFound, fmt::format("no pyramid at '{}'", path.string()));
  }
  auto connection = std::make_unique<StoreConnection>(path.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 5000);
  // WAL: tile reads go on while an update writes.
  connection->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  auto& tables = connection->cached("SELECT count(*) FROM sqlite_master WHERE name NOT IN ('pyramid', 'tiles')");
  tables.step();
  const bool foreign = tables.int64(0) > 0;
  tables.reset();
  if (foreign) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' is an SQLite database but not a pyramid", path.string()));
  }
  connection->exec(kStoreSchema);
  const auto format = store_setting(*connection, "format");
  if (!format) {
    put_store_setting(*connection, "format", kStoreFormat);
  } else if (*format != kStoreFormat) {
    throw Error(ErrorCode::kUnsupported, fmt::format("pyramid '{}' has format '{}'; this tessera reads '{}'",
                                                     path.string(), *format, kStoreFormat));
  }
  return connection;
}

std::optional<std::string> store_setting(StoreConnection& connection, std::string_view key) {
  auto& select = connection.cached("SELECT value FROM pyramid WHERE key = ?");
  select.bind(1, key);
  std::optional<std::string> value;
  if (select.step()) {
    value = std::string(select.text(0));
  }
  select.reset();
  return value;
}

void put_store_setting(StoreConnection& connection, std::string_view key, std::string_view value) {
  connection.cached("INSERT OR REPLACE INTO pyramid (key, value) VALUES (?, ?)").bind(1, key).bind(2, value).run();
}

void put_stored_tile(StoreConnection& connection, const Tile& tile, const ImageData& image) {
  const std::size_t band_bytes = image.pixel_count() * data_type_size(image.data_type());
  std::vector<std::byte> raw(band_bytes * static_cast<std::size_t>(image.band_count()) + image.pixel_count());
  for (int band = 0; band < image.band_count(); ++band) {
    std::memcpy(raw.data() + band_bytes * static_cast<std::size_t>(band), image.band_data(band), band_bytes);
  }
  std::memcpy(raw.data() + band_bytes * static_cast<std::size_t>(image.band_count()), image.mask(),
              image.pixel_count());
  std::string compressed(ZSTD_compressBound(raw.size()), '\0');
  const std::size_t size = ZSTD_compress(compressed.data(), compressed.size(), raw.data(), raw.size(), kZstdLevel);
  if (ZSTD_isError(size) != 0U) {
    throw Error(ErrorCode::kInternal, fmt::format("zstd compression failed: {}", ZSTD_getErrorName(size)));
  }
  compressed.resize(size);
  connection
      .cached("INSERT OR REPLACE INTO tiles (z, x, y, data_type, bands, band_names, data) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, static_cast<std::int64_t>(tile.z))
      .bind(2, tile.x)
      .bind(3, tile.y)
      .bind(4, data_type_name(image.data_type()))
      .bind(5, static_cast<std::int64_t>(image.band_count()))
      .bind(6, nlohmann::json(image.band_names).dump())
      .bind_blob(7, compressed)
      .run();
}

bool remove_stored_tile(StoreConnection& connection, const Tile& tile) {
  connection.cached("DELETE FROM tiles WHERE z = ? AND x = ? AND y = ?")
      .bind(1, static_cast<std::int64_t>(tile.z))
      .bind(2, tile.x)
      .bind(3, tile.y)
      .run();
  return connection.changes() > 0;
}

std::optional<ImageData> stored_tile(StoreConnection& connection, const Tile& tile, int tile_size) {
  auto& select =
      connection.cached("SELECT data_type, bands, band_names, data FROM tiles WHERE z = ? AND x = ? AND y = ?");
  select.bind(1, static_cast<std::int64_t>(tile.z)).bind(2, tile.x).bind(3, tile.y);
  if (!select.step()) {
    select.reset();
    return std::nullopt;
  }
  struct Reset {
    Statement& statement;
    ~Reset() { statement.reset(); }
  } reset{select};
  const DataType type = data_type_from_name(select.text(0));
  const auto bands = select.int64(1);
  // A tile holds at most as many bands as a mosaic may make (the request
  // value limit bounds them long before this).
  constexpr std::int64_t kMaxStoredBands = 4096;
  if (bands < 1 || bands > kMaxStoredBands) {
    damaged(tile, fmt::format("{} bands", bands));
  }
  const std::string_view blob = select.blob(3);
  const std::size_t expected = tile_bytes(type, static_cast<int>(bands), tile_size);
  const unsigned long long content = ZSTD_getFrameContentSize(blob.data(), blob.size());
  if (content != expected) {
    damaged(tile, fmt::format("holds {} bytes, {} expected", content, expected));
  }
  ImageData image(type, static_cast<int>(bands), tile_size, tile_size);
  std::vector<std::byte> raw(expected);
  const std::size_t written = ZSTD_decompress(raw.data(), raw.size(), blob.data(), blob.size());
  if (ZSTD_isError(written) != 0U || written != expected) {
    damaged(tile, ZSTD_isError(written) != 0U ? ZSTD_getErrorName(written) : "short frame");
  }
  const std::size_t band_bytes = image.pixel_count() * data_type_size(type);
  for (int band = 0; band < image.band_count(); ++band) {
    std::memcpy(image.band_data(band), raw.data() + band_bytes * static_cast<std::size_t>(band), band_bytes);
  }
  std::memcpy(image.mask(), raw.data() + band_bytes * static_cast<std::size_t>(bands), image.pixel_count());
  const auto names = nlohmann::json::parse(select.text(2), nullptr, false);
  if (names.is_array() && names.size() == static_cast<std::size_t>(bands)) {
    for (const auto& name : names) {
      image.band_names.push_back(name.is_string() ? name.get<std::string>() : std::string());
    }
  }
  return image;
}

}  // namespace tessera::mosaic
