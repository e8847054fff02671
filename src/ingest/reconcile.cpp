// Drift reconciliation: the item objects under a storage prefix against the
// catalog's source records. The listing streams a page at a time; each page's
// records are claimed (marked with this run's token), so the records left
// unclaimed at the end are those whose object is gone.
#include <filesystem>
#include <map>
#include <random>

#include <fmt/format.h>

#include "catalog/stac.hpp"
#include "core/sha256.hpp"
#include "ingest/ingest_internal.hpp"
#include "ingest/item_generator.hpp"
#include "ingest/source_records.hpp"
#include "storage/object_walk.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"

namespace fs = std::filesystem;

namespace tessera {

using nlohmann::json;

json ReconcileReport::to_json() const {
  return {
      {"objects", objects}, {"missing", missing}, {"orphaned", orphaned}, {"stale", stale},
      {"loaded", loaded},   {"deleted", deleted}, {"findings", findings}, {"findings_truncated", findings_truncated}};
}

namespace {

bool is_item_object(std::string_view key) {
  return key.ends_with(".json") || key.ends_with(".geojson") || key.ends_with(".ndjson");
}

// The storage to list and the URI its objects were recorded under (ingest
// records local files as file://<absolute path>, S3 objects as s3://bucket/key).
struct Prefix {
  std::string storage_uri;
  std::string source_root;  // without a trailing '/'
};

Prefix prefix_of(std::string_view text) {
  Prefix prefix;
  if (text.starts_with("s3://")) {
    prefix.storage_uri = std::string(text);
    prefix.source_root = std::string(text);
  } else {
    const fs::path path = text.starts_with("file://") ? fs::path(storage::parse_uri(text).path) : fs::path(text);
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec).lexically_normal();
    prefix.storage_uri = absolute.string();
    prefix.source_root = "file://" + absolute.string();
  }
  while (prefix.source_root.ends_with('/') && !prefix.source_root.ends_with("://")) {
    prefix.source_root.pop_back();
  }
  return prefix;
}

// The object an asset href names, resolved against the item's source object
// when relative.
std::string resolve_href(const std::string& href, const std::string& source) {
  if (href.find("://") != std::string::npos) {
    return href;
  }
  if (href.starts_with('/')) {
    return "file://" + fs::path(href).lexically_normal().string();
  }
  const std::size_t scheme_end = source.find("://");
  if (scheme_end == std::string::npos) {
    return href;
  }
  const std::string scheme = source.substr(0, scheme_end + 3);
  const std::string folder = source.substr(scheme.size(), source.rfind('/') + 1 - scheme.size());
  return scheme + (fs::path(folder) / href).lexically_normal().string();
}

// The sha2-256 multihash prefix (code 0x12, 32 bytes), the one algorithm
// reconcile computes.
constexpr std::string_view kSha256Multihash = "1220";
// Objects are hashed a range at a time, never held whole.
constexpr std::uint64_t kHashRangeBytes = std::uint64_t{8} << 20;

std::string random_token() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}", device(), device());
}

class Reconciler {
 public:
  Reconciler(Catalog& catalog, std::string_view storage_prefix, const ReconcileOptions& options)
      : catalog_(catalog),
        options_(options),
        prefix_(prefix_of(storage_prefix)),
        storage_(Storage::open(prefix_.storage_uri,
                               prefix_.storage_uri.starts_with("s3://") ? options.storage_options : StorageOptions{})),
        records_(ingestion::SourceRecords::open(catalog)),
        token_(random_token()) {
    if (!records_) {
      throw Error(ErrorCode::kUnsupported, "reconcile: this catalog keeps no source records (a remote STAC API)");
    }
    if (options_.page_size == 0) {
      throw Error(ErrorCode::kInvalidInput, "reconcile: page_size must be at least 1");
    }
    ingest_options_ = options_.ingest;
    ingest_options_.storage_options = options_.storage_options;
  }

  ReconcileReport run() {
    std::vector<ObjectInfo> page;
    storage::visit_objects(*storage_, "", [&](const ObjectInfo& object) {
      if (is_item_object(object.key) || ingestion::is_raster_name(uri_of(object.key), ingest_options_.item_generator)) {
        page.push_back(object);
        if (page.size() == options_.page_size) {
          compare(page);
          page.clear();
        }
      }
      return true;
    });
    compare(page);
    find_orphans();
    return std::move(report_);
  }

 private:
  std::string uri_of(const std::string& key) const { return prefix_.source_root + "/" + key; }

  void add(json finding) {
    if (options_.on_finding) {
      options_.on_finding(finding);
    }
    if (report_.findings.size() < options_.max_findings) {
      report_.findings.push_back(std::move(finding));
    } else {
      report_.findings_truncated = true;
    }
  }

  // One page of listed objects against their records.
  void compare(const std::vector<ObjectInfo>& page) {
    if (page.empty()) {
      return;
    }
    report_.objects += page.size();
    std::vector<std::string> uris;
    for (const auto& object : page) {
      uris.push_back(uri_of(object.key));
    }
    std::map<std::string, std::vector<ingestion::SourceRecord>> by_source;
    for (auto& record : records_->claim(uris, token_)) {
      by_source[record.source].push_back(std::move(record));
    }
    std::vector<std::string> to_load;
    for (std::size_t n = 0; n < page.size(); ++n) {
      const ObjectInfo& object = page[n];
      const auto recorded = by_source.find(uris[n]);
      if (recorded == by_source.end()) {
        if (find_missing(object, uris[n])) {
          to_load.push_back(uris[n]);
        }
        continue;
      }
      bool changed = false;
      for (const auto& record : recorded->second) {
        if (record.size < 0 || (static_cast<std::uint64_t>(record.size) == object.size &&
                                (record.modified_ms < 0 || record.modified_ms == object.modified_unix_ms))) {
          changed = checksums_differ(record) || changed;
          continue;
        }
        ++report_.stale;
        changed = true;
        add({{"kind", "stale"},
             {"object", uris[n]},
             {"collection", record.collection},
             {"id", record.item_id},
             {"reason", fmt::format("the object changed since the item was loaded (size {} -> {}, modified {} -> {} "
                                    "ms)",
                                    record.size, object.size, record.modified_ms, object.modified_unix_ms)}});
      }
      if (changed) {
        to_load.push_back(uris[n]);
      }
    }
    if (options_.fix && !to_load.empty()) {
      const IngestReport loaded = ingest(catalog_, to_load, ingest_options_);
      report_.loaded += loaded.loaded;
      (void)records_->claim(to_load, token_);  // the records the load wrote are this run's too
    }
    if (options_.progress) {
      options_.progress(report_.objects);
    }
  }

  // Stale findings for the assets of `record` whose file:checksum (sha2-256
  // multihash) is not that of the object under the prefix it names now.
  // Whether there were some.
  bool checksums_differ(const ingestion::SourceRecord& record) {
    if (record.checksums.empty()) {
      return false;
    }
    const json checksums = json::parse(record.checksums, nullptr, false);
    if (!checksums.is_object()) {
      return false;
    }
    bool differ = false;
    const std::string root = prefix_.source_root + "/";
    for (const auto& [href, value] : checksums.items()) {
      const std::string uri = resolve_href(href, record.source);
      const std::string expected = value.is_string() ? value.get<std::string>() : std::string();
      if (!uri.starts_with(root) || !expected.starts_with(kSha256Multihash)) {
        continue;  // outside what is reconciled, or an algorithm not computed here
      }
      std::string reason;
      try {
        const std::string actual = std::string(kSha256Multihash) + sha256_of(uri.substr(root.size()));
        if (actual != expected) {
          reason = fmt::format("asset {}: file:checksum {} differs from the object's {}", href, expected, actual);
        }
      } catch (const Error& error) {
        if (error.code() != ErrorCode::kNotFound) {
          throw;
        }
        reason = fmt::format("asset {}: the object its file:checksum describes is gone", href);
      }
      if (reason.empty()) {
        continue;
      }
      ++report_.stale;
      differ = true;
      add({{"kind", "stale"},
           {"object", record.source},
           {"collection", record.collection},
           {"id", record.item_id},
           {"reason", reason}});
    }
    return differ;
  }

  std::string sha256_of(const std::string& key) {
    const ObjectInfo info = storage_->stat(key);
    core::Sha256 digest;
    for (std::uint64_t offset = 0; offset < info.size; offset += kHashRangeBytes) {
      digest.update(storage_->read_range(key, offset, std::min(kHashRangeBytes, info.size - offset)));
    }
    return digest.hex();
  }

  // A raster no record names: missing when the generator would make an item
  // of it that the catalog lacks. Whether it is.
  bool find_missing_raster(const ObjectInfo& object, const std::string& uri) {
    const ItemGeneratorOptions& generator = ingest_options_.item_generator;
    if (generator.kind == ItemGeneratorOptions::Kind::kNone) {
      return false;  // nothing makes items of rasters here
    }
    const std::string id =
        ingestion::item_stub(uri, static_cast<std::int64_t>(object.size), generator)["id"].get<std::string>();
    if (!generator.collection.empty()) {
      try {
        (void)catalog_.get_item(generator.collection, id);
        return false;
      } catch (const Error& error) {
        if (error.code() != ErrorCode::kNotFound) {
          throw;
        }
      }
    }
    ++report_.missing;
    add({{"kind", "missing"},
         {"object", uri},
         {"collection", generator.collection},
         {"id", id},
         {"reason", "no item was made from this raster"}});
    return true;
  }

  // Reads an object no record names; reports its items that the catalog
  // lacks. Whether it has some.
  bool find_missing(const ObjectInfo& object, const std::string& uri) {
    if (!is_item_object(object.key)) {
      return find_missing_raster(object, uri);
    }
    if (object.size > ingest_options_.max_object_bytes) {
      add({{"kind", "missing"},
           {"object", uri},
           {"collection", ""},
           {"id", ""},
           {"reason", fmt::format("object of {} bytes is larger than max_object_bytes ({}): not read", object.size,
                                  ingest_options_.max_object_bytes)}});
      ++report_.missing;
      return false;
    }
    bool any = false;
    std::vector<std::string> texts;
    try {
      texts = ingestion::split_items(storage_->get(object.key));
    } catch (const Error& error) {
      if (error.code() == ErrorCode::kNotFound) {
        return false;  // removed since it was listed
      }
      throw;
    }
    for (const auto& text : texts) {
      const auto [id, collection] = catalog::item_identity(text);
      if (id.empty() || collection.empty()) {
        continue;  // not an item a load would take: nothing can be missing
      }
      try {
        (void)catalog_.get_item(collection, id);
        continue;
      } catch (const Error& error) {
        if (error.code() != ErrorCode::kNotFound) {
          throw;
        }
      }
      ++report_.missing;
      any = true;
      add({{"kind", "missing"}, {"object", uri}, {"collection", collection}, {"id", id}});
    }
    return any;
  }

  // The records under the prefix that no listed object claimed.
  void find_orphans() {
    records_->scan(prefix_.source_root + "/", token_, options_.page_size,
                   [&](const std::vector<ingestion::SourceRecord>& records) {
                     std::vector<ingestion::ItemKey> gone;
                     for (const auto& record : records) {
                       ++report_.orphaned;
                       add({{"kind", "orphaned"},
                            {"object", record.source},
                            {"collection", record.collection},
                            {"id", record.item_id}});
                       if (!options_.fix) {
                         continue;
                       }
                       try {
                         catalog_.delete_item(record.collection, record.item_id);
                         ++report_.deleted;
                       } catch (const Error& error) {
                         if (error.code() != ErrorCode::kNotFound) {
                           throw;
                         }
                       }
                       gone.emplace_back(record.collection, record.item_id);
                     }
                     records_->forget(gone);
                   });
  }

  Catalog& catalog_;
  const ReconcileOptions& options_;
  Prefix prefix_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<ingestion::SourceRecords> records_;
  std::string token_;
  IngestOptions ingest_options_;
  ReconcileReport report_;
};

}  // namespace

ReconcileReport reconcile(Catalog& catalog, std::string_view storage_prefix, const ReconcileOptions& options) {
  Reconciler reconciler(catalog, storage_prefix, options);
  return reconciler.run();
}

}  // namespace tessera
