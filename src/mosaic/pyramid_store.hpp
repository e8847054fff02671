#pragma once

// The file a pyramid is stored in: one SQLite database holding its settings
// (search, options, cursor) and its tiles, each tile's band values and mask
// compressed with zstd. Internal header.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "catalog/sqlite/sqlite_db.hpp"
#include "tessera/image.hpp"
#include "tessera/tms.hpp"

namespace tessera::mosaic {

using StoreConnection = catalog::sqlite::Connection;
using StorePool = catalog::sqlite::ConnectionPool;

// A connection to the pyramid file at `path` with its schema. InvalidInput
// when the file is an SQLite database of something else, NotFound when
// `create` is false and there is no file.
std::unique_ptr<StoreConnection> open_store(const std::filesystem::path& path, bool create);

// The setting `key` ("search_id", "search", "options", "cursor"), if stored.
std::optional<std::string> store_setting(StoreConnection& connection, std::string_view key);
void put_store_setting(StoreConnection& connection, std::string_view key, std::string_view value);

// Stores the tile's values and mask (replacing what was there).
void put_stored_tile(StoreConnection& connection, const Tile& tile, const ImageData& image);
// Deletes the tile; whether there was one.
bool remove_stored_tile(StoreConnection& connection, const Tile& tile);
// The stored tile, `tile_size` pixels square, or nullopt when none is
// stored. A stored tile whose sizes do not add up is an Io error (a damaged
// file), found before anything is allocated for it.
std::optional<ImageData> stored_tile(StoreConnection& connection, const Tile& tile, int tile_size);

}  // namespace tessera::mosaic
