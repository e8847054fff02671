#pragma once

// The packaging service: boundaries, the processor registry, published
// packages and package jobs over HTTP (docs/packaging.md#as-a-service).
// Internal header.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/auth.hpp"
#include "tessera/packaging.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

// The scope package jobs and boundary uploads need.
inline constexpr std::string_view kPackagesWriteScope = "packages:write";

class PackageRoutes {
 public:
  // Opens the storage, loads the boundaries and processors the options name
  // and starts the job workers. InvalidInput/NotFound naming the option.
  PackageRoutes(const PackagesServiceOptions& options, const Authenticator& auth);
  ~PackageRoutes();
  PackageRoutes(const PackageRoutes&) = delete;
  PackageRoutes& operator=(const PackageRoutes&) = delete;

  // GET /boundaries, POST /boundaries, GET /boundaries/{name}, GET
  // /processors, GET /processors/{dataset}/{version}, GET /packages, GET
  // /packages/{boundary}, POST /jobs, GET /jobs, GET/DELETE /jobs/{id};
  // nullopt for another path.
  std::optional<HttpResponse> handle(const HttpRequest& request, const std::vector<std::string_view>& segments) const;

 private:
  HttpResponse boundaries(const HttpRequest& request) const;
  HttpResponse upload_boundaries(const HttpRequest& request) const;
  HttpResponse packages() const;
  HttpResponse package(std::string_view boundary) const;
  HttpResponse submit(const HttpRequest& request) const;
  HttpResponse jobs(const HttpRequest& request) const;
  // The public URL of a key of the storage, or null without a base.
  [[nodiscard]] nlohmann::json public_url(const std::string& key) const;

  const Authenticator& auth_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Packager> packager_;
  std::unique_ptr<PackageJobs> jobs_;
  std::string packages_url_;  // without a trailing '/'; empty: none
};

// Adds the packaging routes to an OpenAPI document's paths and schemas.
void add_package_openapi(nlohmann::json& paths, nlohmann::json& schemas);

// The https URL of an s3:// storage root (a custom endpoint path-style, else
// AWS's virtual-hosted name in the region); "" for other storages.
std::string default_packages_url(std::string_view root_uri, const StorageOptions& options);

}  // namespace tessera::service
