#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "catalog/collection_search.hpp"
#include "catalog/database.hpp"
#include "catalog/sqlite/sqlite_db.hpp"
#include "catalog/stac.hpp"
#include "tessera/catalog.hpp"

namespace tessera::catalog::sqlite {

// A connection's read settings outside loads: its page cache (a load enlarges it) and the
// database file mapped: pages are read through the mapping, which all the
// pool's connections share in the OS page cache, instead of each connection
// copying the pages it reads into a cache of its own (8 connections of 64 MiB
// each grew `tessera serve` to ~440 MiB under the STAC API benchmark's
// filter load; with the mapping its own memory stayed ~14 MiB).
inline constexpr const char* kDefaultReadPragmas = "PRAGMA cache_size=-16384; PRAGMA mmap_size=1073741824";

// Replaces the free-text row of the item at `rowid` in items_fts (none when
// the item has no searchable text). Every write of an item calls it.
void write_item_text(Connection& connection, std::int64_t rowid, const std::optional<SearchableText>& text);

// The embedded catalog: one SQLite file in WAL mode (readers in other
// processes proceed while one process writes), items indexed by an R*Tree on
// their bbox and by collection and datetime. See docs/catalog.md.
class SqliteCatalog final : public Catalog {
 public:
  // `path` is a file path or ":memory:".
  SqliteCatalog(const std::string& path, const CatalogOptions& options);

  void create_collection(const nlohmann::json& collection) override;
  void update_collection(const nlohmann::json& collection) override;
  void upsert_collection(const nlohmann::json& collection) override;
  void delete_collection(std::string_view id, bool cascade) override;
  nlohmann::json get_collection(std::string_view id) override;
  nlohmann::json collections() override;
  nlohmann::json update_collection_extent(std::string_view id) override;

  nlohmann::json get_item(std::string_view collection, std::string_view id) override;
  void delete_item(std::string_view collection, std::string_view id) override;
  std::vector<ItemChange> item_changes(std::int64_t after, std::size_t limit) override;
  std::int64_t last_item_change() override;
  std::size_t prune_item_changes(std::chrono::seconds age) override;

  SearchPage search_page(const nlohmann::json& request) override;
  CollectionPage collection_page(const CollectionSearchRequest& request) override;
  nlohmann::json queryables(std::string_view collection) override;
  void index_property(std::string_view property) override;
  nlohmann::json registered_search(std::string_view id) override;
  nlohmann::json registered_searches() override;
  bool try_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) override;
  void renew_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) override;
  void unlock(std::string_view name, std::string_view owner) override;

  // The catalog's connections, for modules that keep their own tables in the
  // same file (matching).
  [[nodiscard]] ConnectionPool& pool() const noexcept { return *pool_; }
  [[nodiscard]] const Database* database() const noexcept override { return &database_; }

 protected:
  std::string store_search(const std::string& id, const nlohmann::json& search,
                           const nlohmann::json& metadata) override;
  std::unique_ptr<LoadWriter> load_writer(const LoadOptions& options) override;
  [[nodiscard]] std::size_t max_search_limit() const noexcept override { return options_.max_limit; }

 private:
  enum class CollectionWrite { kCreate, kUpdate, kUpsert };
  void write_collection(const nlohmann::json& collection, CollectionWrite how);
  std::unique_ptr<Connection> connect() const;
  void create_schema(Connection& connection) const;
  // Fills the free-text tables of a catalog made before they existed.
  static void index_free_text(Connection& connection);

  std::string path_;
  CatalogOptions options_;
  std::unique_ptr<ConnectionPool> pool_;
  Database database_;  // points into pool_
};

}  // namespace tessera::catalog::sqlite
