#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "catalog/collection_search.hpp"
#include "catalog/database.hpp"
#include "catalog/pgstac/pg_db.hpp"
#include "tessera/catalog.hpp"

namespace tessera::catalog::pgstac {

// The catalog on PostgreSQL with the pgstac schema (the one stac-fastapi-pgstac
// and titiler-pgstac use), through pgstac's own functions and staging tables:
// a catalog written by tessera is read by those tools and the other way round.
// See docs/pgstac.md for where pgstac's semantics differ and what tessera does.
class PgstacCatalog final : public Catalog {
 public:
  PgstacCatalog(const std::string& uri, const CatalogOptions& options);

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

  // The catalog's connections, for modules that keep their own tables in
  // tessera's schema of the same database (matching).
  [[nodiscard]] PgPool& pool() const noexcept { return *pool_; }
  [[nodiscard]] const Database* database() const noexcept override { return &database_; }

 protected:
  std::string store_search(const std::string& id, const nlohmann::json& search,
                           const nlohmann::json& metadata) override;
  std::unique_ptr<LoadWriter> load_writer(const LoadOptions& options) override;
  [[nodiscard]] std::size_t max_search_limit() const noexcept override { return options_.max_limit; }

 private:
  bool collection_exists(PgConnection& connection, std::string_view id);

  CatalogOptions options_;
  std::unique_ptr<PgPool> pool_;
  Database database_;  // points into pool_
  PgPool::Factory connect_;
  // Each held named lock keeps the connection whose session holds it.
  std::mutex locks_mutex_;
  std::map<std::string, std::pair<std::string, std::unique_ptr<PgConnection>>, std::less<>> locks_;
};

}  // namespace tessera::catalog::pgstac
