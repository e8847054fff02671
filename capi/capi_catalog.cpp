#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "tessera/catalog.hpp"

namespace {

using nlohmann::json;
using tessera::Error;
using tessera::ErrorCode;
using tessera::capi::catalog_of;
using tessera::capi::guarded;
using tessera::capi::load_options_of;
using tessera::capi::parse_json_argument;

void hand_out_json(const json& value, char** out_json) { *out_json = tessera::capi::copy_string(value.dump()); }

}  // namespace

namespace tessera::capi {

json parse_json_argument(const char* text, const char* function, const char* argument) {
  json value = json::parse(tessera::capi::require(text, function, argument), nullptr, false);
  if (value.is_discarded()) {
    throw Error(ErrorCode::kInvalidInput, std::string(function) + ": argument '" + argument + "' is not valid JSON");
  }
  return value;
}

tessera::LoadOptions load_options_of(const tsr_load_options* options) {
  tessera::LoadOptions parsed;
  if (options == nullptr) {
    return parsed;
  }
  if (options->version == 0 || options->version > TSR_LOAD_OPTIONS_VERSION) {
    throw Error(ErrorCode::kInvalidInput, "tsr_load_options: unknown version (use tsr_load_options_init)");
  }
  if (options->mode != nullptr) {
    parsed.mode = tessera::load_mode_from_name(options->mode);
  }
  if (options->batch_size != 0) {
    parsed.batch_size = options->batch_size;
  }
  return parsed;
}

}  // namespace tessera::capi

extern "C" {

tsr_status tsr_catalog_options_init(tsr_catalog_options* options, unsigned int version) {
  return guarded([&] {
    TSR_REQUIRE(options);
    if (version == 0 || version > TSR_CATALOG_OPTIONS_VERSION) {
      throw Error(ErrorCode::kInvalidInput, "tsr_catalog_options_init: unknown version");
    }
    const tessera::CatalogOptions defaults;
    // A caller built against version 1 has a shorter struct: only its fields are written.
    options->version = version;
    options->max_limit = defaults.max_limit;
    options->busy_timeout_ms = defaults.busy_timeout_ms;
    options->statement_timeout_ms = defaults.statement_timeout_ms;
    if (version >= 2) {
      options->max_geometry_vertices = defaults.max_geometry_vertices;
    }
    if (version >= 3) {
      options->stac_api_json = nullptr;
    }
  });
}

tsr_status tsr_catalog_open(const char* uri, const tsr_catalog_options* options, tsr_catalog* out_catalog) {
  return guarded([&] {
    TSR_REQUIRE(uri);
    TSR_REQUIRE(out_catalog);
    tessera::CatalogOptions parsed;
    if (options != nullptr) {
      if (options->version == 0 || options->version > TSR_CATALOG_OPTIONS_VERSION) {
        throw Error(ErrorCode::kInvalidInput, "tsr_catalog_options: unknown version (use tsr_catalog_options_init)");
      }
      parsed.max_limit = options->max_limit;
      parsed.busy_timeout_ms = options->busy_timeout_ms;
      parsed.statement_timeout_ms = options->statement_timeout_ms;
      if (options->version >= 2) {
        parsed.max_geometry_vertices = options->max_geometry_vertices;
      }
      if (options->version >= 3 && options->stac_api_json != nullptr) {
        const auto stac_api = nlohmann::json::parse(options->stac_api_json, nullptr, false);
        if (stac_api.is_discarded()) {
          throw Error(ErrorCode::kInvalidInput, "tsr_catalog_open: stac_api_json is not valid JSON");
        }
        parsed.stac_api = tessera::StacApiOptions::from_json(stac_api);
      }
    }
    auto handle = std::make_unique<tsr_catalog_s>();
    handle->impl = tessera::Catalog::open(uri, parsed);
    *out_catalog = handle.release();
  });
}

void tsr_catalog_destroy(tsr_catalog* catalog) {
  if (catalog == nullptr || *catalog == nullptr) {
    return;
  }
  delete *catalog;
  *catalog = nullptr;
}

tsr_status tsr_catalog_upsert_collection(tsr_catalog catalog, const char* collection_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    impl.upsert_collection(parse_json_argument(collection_json, __func__, "collection_json"));
  });
}

tsr_status tsr_catalog_get_collection(tsr_catalog catalog, const char* id, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(id);
    TSR_REQUIRE(out_json);
    hand_out_json(impl.get_collection(id), out_json);
  });
}

tsr_status tsr_catalog_collections(tsr_catalog catalog, char** out_json) {
  return guarded([&] {
    TSR_REQUIRE(out_json);
    hand_out_json(catalog_of(catalog, __func__).collections(), out_json);
  });
}

tsr_status tsr_catalog_delete_collection(tsr_catalog catalog, const char* id, bool cascade) {
  return guarded([&] { catalog_of(catalog, __func__).delete_collection(TSR_REQUIRE(id), cascade); });
}

tsr_status tsr_load_options_init(tsr_load_options* options, unsigned int version) {
  return guarded([&] {
    TSR_REQUIRE(options);
    if (version == 0 || version > TSR_LOAD_OPTIONS_VERSION) {
      throw Error(ErrorCode::kInvalidInput, "tsr_load_options_init: unknown version");
    }
    *options = tsr_load_options{version, "insert", tessera::LoadOptions{}.batch_size};
  });
}

tsr_status tsr_catalog_load_file(tsr_catalog catalog, const char* path, const tsr_load_options* options,
                                 char** out_report_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(path);
    TSR_REQUIRE(out_report_json);
    hand_out_json(impl.load_file(path, load_options_of(options)).to_json(), out_report_json);
  });
}

tsr_status tsr_catalog_load_json(tsr_catalog catalog, const char* json_text, const tsr_load_options* options,
                                 char** out_report_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(json_text);
    TSR_REQUIRE(out_report_json);
    hand_out_json(impl.load_text(json_text, load_options_of(options)).to_json(), out_report_json);
  });
}

tsr_status tsr_catalog_get_item(tsr_catalog catalog, const char* collection, const char* id, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(collection);
    TSR_REQUIRE(id);
    TSR_REQUIRE(out_json);
    hand_out_json(impl.get_item(collection, id), out_json);
  });
}

tsr_status tsr_catalog_delete_item(tsr_catalog catalog, const char* collection, const char* id) {
  return guarded([&] { catalog_of(catalog, __func__).delete_item(TSR_REQUIRE(collection), TSR_REQUIRE(id)); });
}

tsr_status tsr_catalog_item_changes(tsr_catalog catalog, int64_t after, size_t limit, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_json);
    json changes = json::array();
    for (const auto& change : impl.item_changes(after, limit)) {
      changes.push_back(change.to_json());
    }
    *out_json = tessera::capi::copy_string(changes.dump());
  });
}

tsr_status tsr_catalog_last_item_change(tsr_catalog catalog, int64_t* out_id) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_id);
    *out_id = impl.last_item_change();
  });
}

tsr_status tsr_catalog_prune_item_changes(tsr_catalog catalog, int64_t age_seconds, size_t* out_pruned) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_pruned);
    if (age_seconds < 0) {
      throw tessera::Error(tessera::ErrorCode::kInvalidInput, "tsr_catalog_prune_item_changes: age_seconds " +
                                                                  std::to_string(age_seconds) + " is negative");
    }
    *out_pruned = impl.prune_item_changes(std::chrono::seconds(age_seconds));
  });
}

tsr_status tsr_catalog_search(tsr_catalog catalog, const char* request_json, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    const json request = parse_json_argument(request_json, __func__, "request_json");
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(impl.search_text(request));
  });
}

tsr_status tsr_catalog_search_collections(tsr_catalog catalog, const char* request_json, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_json);
    const json request = parse_json_argument(request_json, __func__, "request_json");
    hand_out_json(impl.search_collections(request), out_json);
  });
}

tsr_status tsr_catalog_aggregate(tsr_catalog catalog, const char* request_json, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_json);
    const json request = parse_json_argument(request_json, __func__, "request_json");
    hand_out_json(impl.aggregate(request), out_json);
  });
}

tsr_status tsr_catalog_aggregations(tsr_catalog catalog, const char* collection, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_json);
    hand_out_json(impl.aggregations(collection == nullptr ? std::string_view() : std::string_view(collection)),
                  out_json);
  });
}

tsr_status tsr_catalog_register_search(tsr_catalog catalog, const char* request_json, const char* metadata_json,
                                       char** out_id) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    const json request = parse_json_argument(request_json, __func__, "request_json");
    const json metadata =
        metadata_json == nullptr ? json::object() : parse_json_argument(metadata_json, __func__, "metadata_json");
    TSR_REQUIRE(out_id);
    *out_id = tessera::capi::copy_string(impl.register_search(request, metadata));
  });
}

tsr_status tsr_catalog_registered_search(tsr_catalog catalog, const char* id, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(impl.registered_search(TSR_REQUIRE(id)).dump());
  });
}

tsr_status tsr_catalog_registered_searches(tsr_catalog catalog, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(impl.registered_searches().dump());
  });
}

tsr_status tsr_catalog_refresh(tsr_catalog catalog) {
  return guarded([&] { catalog_of(catalog, __func__).refresh(); });
}

tsr_status tsr_catalog_index_property(tsr_catalog catalog, const char* property) {
  return guarded([&] { catalog_of(catalog, __func__).index_property(TSR_REQUIRE(property)); });
}

tsr_status tsr_catalog_queryables(tsr_catalog catalog, const char* collection, char** out_json) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_json);
    hand_out_json(impl.queryables(collection != nullptr ? collection : ""), out_json);
  });
}

}  // extern "C"
