#pragma once

#include <memory>
#include <string>

#include "catalog/collection_search.hpp"
#include "catalog/stac_api/area_cache.hpp"
#include "catalog/stac_api/http_client.hpp"
#include "catalog/stac_api/remote_search.hpp"
#include "tessera/catalog.hpp"

namespace tessera::catalog::stac_api {

// A read-only catalog over a remote STAC API (`stac+https://host/path`):
// searches, items, collections and queryables are the server's, asked over
// HTTP; registered searches and named locks live in a local SQLite store
// (CatalogOptions::stac_api.search_store). See docs/catalog.md.
class StacApiCatalog final : public Catalog {
 public:
  // `landing_url` is the API's landing page (http or https).
  StacApiCatalog(const std::string& landing_url, const CatalogOptions& options);
  ~StacApiCatalog() override;

  void create_collection(const nlohmann::json& collection) override;
  void update_collection(const nlohmann::json& collection) override;
  void upsert_collection(const nlohmann::json& collection) override;
  void delete_collection(std::string_view id, bool cascade) override;
  nlohmann::json get_collection(std::string_view id) override;
  nlohmann::json collections() override;
  nlohmann::json update_collection_extent(std::string_view id) override;

  nlohmann::json get_item(std::string_view collection, std::string_view id) override;
  void delete_item(std::string_view collection, std::string_view id) override;
  // A STAC API publishes no change feed: item_changes is Unsupported (a
  // pyramid over a remote API is built, not updated); there is nothing to
  // prune and no change to start after.
  std::vector<ItemChange> item_changes(std::int64_t after, std::size_t limit) override;
  std::int64_t last_item_change() override { return 0; }
  std::size_t prune_item_changes(std::chrono::seconds /*age*/) override { return 0; }

  SearchPage search_page(const nlohmann::json& request) override;
  CollectionPage collection_page(const CollectionSearchRequest& request) override;
  nlohmann::json queryables(std::string_view collection) override;
  void index_property(std::string_view property) override;
  nlohmann::json registered_search(std::string_view id) override;
  nlohmann::json registered_searches() override;
  bool try_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) override;
  void renew_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) override;
  void unlock(std::string_view name, std::string_view owner) override;
  void refresh() override;
  // The local store's database: matching keeps its models, AOIs and events
  // there, and matches items read from the server.
  [[nodiscard]] const Database* database() const noexcept override { return store_->database(); }

 protected:
  std::string store_search(const std::string& id, const nlohmann::json& search,
                           const nlohmann::json& metadata) override;
  std::unique_ptr<LoadWriter> load_writer(const LoadOptions& options) override;
  [[nodiscard]] std::size_t max_search_limit() const noexcept override { return options_.max_limit; }

 private:
  // GET (or POST `body`) `url` and its JSON answer; NotFound for 404, and
  // errors naming `what` for other failures.
  nlohmann::json fetch_json(const std::string& url, std::string_view what, const nlohmann::json& body = nullptr);
  // One page of the server's search, read and checked.
  RemotePage fetch_page(const PageCall& call, std::size_t limit);
  // A search answered from the area cache; nullopt when it cannot be.
  std::optional<SearchPage> cached_search(SearchRequest& request);
  std::optional<AreaItems> fetch_area(const SearchRequest& request, const Bbox& area);
  // Every collection the server lists at `url` (its next links followed).
  std::vector<nlohmann::json> all_collections(const std::string& url);
  [[noreturn]] void refuse_write(std::string_view operation) const;
  [[nodiscard]] std::string endpoint(std::string_view path) const;

  CatalogOptions options_;
  std::string landing_url_;
  std::string origin_;  // scheme://host:port, the only server tokens may name
  HttpClient http_;
  Conformance conformance_;
  std::optional<SearchEndpoint> search_;  // none: the server offers no item search
  std::unique_ptr<AreaCache> area_cache_;
  std::unique_ptr<Catalog> store_;  // registered searches and named locks
};

}  // namespace tessera::catalog::stac_api
