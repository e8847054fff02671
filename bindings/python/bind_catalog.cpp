#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "tessera/catalog.hpp"
#include "tessera/error.hpp"

namespace tessera::python {
namespace {

using nlohmann::json;

LoadOptions make_load_options(const std::string& mode, std::size_t batch_size, const py::object& progress) {
  LoadOptions options;
  options.mode = load_mode_from_name(mode);
  options.batch_size = batch_size;
  if (!progress.is_none()) {
    options.progress = [progress](std::size_t done) {
      py::gil_scoped_acquire gil;
      progress(done);
    };
  }
  return options;
}

}  // namespace

py::dict load_items(Catalog& catalog, const py::object& source, const LoadOptions& options) {
  LoadReport report;
  if (py::isinstance<py::str>(source) || py::hasattr(source, "__fspath__")) {
    const std::filesystem::path path = py::str(py::module_::import("os").attr("fspath")(source)).cast<std::string>();
    {
      py::gil_scoped_release release;
      report = catalog.load_file(path, options);
    }
    return py::cast<py::dict>(from_json(report.to_json()));
  }
  std::vector<json> batch;
  auto flush = [&] {
    LoadReport part;
    {
      py::gil_scoped_release release;
      part = catalog.load(batch, options);
    }
    report.merge(part);
    batch.clear();
  };
  if (py::isinstance<py::dict>(source)) {
    const json document = to_json(source);
    if (document.value("type", "") == "FeatureCollection") {
      if (!document.contains("features") || !document["features"].is_array()) {
        throw Error(ErrorCode::kInvalidInput, "load: FeatureCollection has no 'features' list");
      }
      batch = document["features"].get<std::vector<json>>();
    } else {
      batch.push_back(document);
    }
    flush();
    return py::cast<py::dict>(from_json(report.to_json()));
  }
  // An iterable is loaded a batch at a time. When the server goes away after
  // some batches were written, the rest is reported failed and retryable
  // (as one Catalog::load reports the batches it could not write), so the
  // caller knows exactly what to load again; with nothing written yet the
  // error is raised.
  py::iterator items = py::iter(source);
  try {
    // The iterator moves past an item before its batch is flushed, so the
    // items reported after a failure start after the failed batch.
    while (items != py::iterator::sentinel()) {
      batch.push_back(to_json(*items));
      ++items;
      if (batch.size() == options.batch_size) {
        flush();
      }
    }
    if (!batch.empty()) {
      flush();
    }
  } catch (const Error& error) {
    if (!error.retryable() || report.loaded + report.skipped + report.failed.size() == 0) {
      throw;
    }
    auto not_written = [&](const json& item) {
      auto member = [&](const char* name) {
        return item.is_object() && item.contains(name) && item[name].is_string() ? item[name].get<std::string>()
                                                                                 : std::string();
      };
      report.failed.push_back(
          {member("id"), member("collection"), "item '" + member("id") + "': not written: " + error.what(), true});
    };
    std::for_each(batch.begin(), batch.end(), not_written);
    for (; items != py::iterator::sentinel(); ++items) {
      not_written(to_json(*items));
    }
  }
  return py::cast<py::dict>(from_json(report.to_json()));
}

namespace {

py::dict load(Catalog& catalog, const py::object& source, const std::string& mode, std::size_t batch_size,
              const py::object& progress) {
  return load_items(catalog, source, make_load_options(mode, batch_size, progress));
}

// Runs `call` on the catalog without the GIL and converts its JSON result.
template <typename Call>
py::object released(Call&& call) {
  json result;
  {
    py::gil_scoped_release release;
    result = call();
  }
  return from_json(result);
}

}  // namespace

void bind_catalog(py::module_& m) {
  py::class_<Catalog>(m, "Catalog",
                      "A STAC catalog (SQLite: sqlite:///abs/path.db or sqlite://:memory:; PgSTAC: "
                      "postgresql://...; a remote STAC API, read-only: stac+https://host/path) with bulk load and "
                      "STAC-API item search.")
      .def_static(
          "open",
          [](const std::string& uri, std::size_t max_limit, int busy_timeout_ms, int statement_timeout_ms,
             std::size_t max_geometry_vertices, const std::optional<py::dict>& stac_api) {
            CatalogOptions options;
            if (stac_api) {
              options.stac_api = tessera::StacApiOptions::from_json(to_json(*stac_api));
            }
            options.max_limit = max_limit;
            options.max_geometry_vertices = max_geometry_vertices;
            options.busy_timeout_ms = busy_timeout_ms;
            options.statement_timeout_ms = statement_timeout_ms;
            py::gil_scoped_release release;
            return Catalog::open(uri, options);
          },
          py::arg("uri"), py::arg("max_limit") = CatalogOptions{}.max_limit,
          py::arg("busy_timeout_ms") = CatalogOptions{}.busy_timeout_ms,
          py::arg("statement_timeout_ms") = CatalogOptions{}.statement_timeout_ms,
          py::arg("max_geometry_vertices") = CatalogOptions{}.max_geometry_vertices, py::arg("stac_api") = py::none(),
          "Opens a catalog. `stac_api` (a dict: headers, connect_timeout_ms, timeout_ms, max_retries, "
          "backoff_base_ms, backoff_cap_ms, requests_per_second, max_response_bytes, ca_file, search_cache_ttl_ms, "
          "search_cache_max_bytes, search_store) sets how a stac+https:// catalog talks to its server.")
      .def(
          "create_collection",
          [](Catalog& self, const py::dict& collection) {
            const json value = to_json(collection);
            py::gil_scoped_release release;
            self.create_collection(value);
          },
          py::arg("collection"))
      .def(
          "update_collection",
          [](Catalog& self, const py::dict& collection) {
            const json value = to_json(collection);
            py::gil_scoped_release release;
            self.update_collection(value);
          },
          py::arg("collection"))
      .def(
          "upsert_collection",
          [](Catalog& self, const py::dict& collection) {
            const json value = to_json(collection);
            py::gil_scoped_release release;
            self.upsert_collection(value);
          },
          py::arg("collection"))
      .def("delete_collection", &Catalog::delete_collection, py::arg("id"), py::arg("cascade") = false,
           py::call_guard<py::gil_scoped_release>())
      .def(
          "get_collection",
          [](Catalog& self, const std::string& id) { return released([&] { return self.get_collection(id); }); },
          py::arg("id"))
      .def("collections", [](Catalog& self) { return released([&] { return self.collections(); }); })
      .def(
          "update_collection_extent",
          [](Catalog& self, const std::string& id) {
            return released([&] { return self.update_collection_extent(id); });
          },
          py::arg("id"))
      .def("load", &load, py::arg("items_or_path"), py::arg("mode") = "insert", py::arg("batch_size") = 1000,
           py::arg("progress") = py::none(),
           "Load items from a path (ndjson, FeatureCollection or Item JSON), a FeatureCollection/Item dict or an "
           "iterable of Item dicts. Returns {'loaded', 'skipped', 'failed': [{'id', 'collection', 'error', "
           "'retryable'}]}.")
      .def(
          "get_item",
          [](Catalog& self, const std::string& collection, const std::string& id) {
            return released([&] { return self.get_item(collection, id); });
          },
          py::arg("collection"), py::arg("id"))
      .def("delete_item", &Catalog::delete_item, py::arg("collection"), py::arg("id"),
           py::call_guard<py::gil_scoped_release>())
      .def(
          "item_changes",
          [](Catalog& self, std::int64_t after, std::size_t limit) {
            return released([&] {
              json changes = json::array();
              for (const auto& change : self.item_changes(after, limit)) {
                changes.push_back(change.to_json());
              }
              return changes;
            });
          },
          py::arg("after") = 0, py::arg("limit") = 1000,
          "The item changes (insert, replace, delete, with the old and new bbox) with an id above `after`, oldest "
          "first: [{id, collection, item_id, operation, old_bbox?, new_bbox?, created_us}].")
      .def("last_item_change", &Catalog::last_item_change, py::call_guard<py::gil_scoped_release>(),
           "The id of the newest item change (0 for none).")
      .def(
          "prune_item_changes",
          [](Catalog& self, double age_seconds) {
            if (!(age_seconds >= 0)) {
              throw Error(ErrorCode::kInvalidInput, "prune_item_changes: age_seconds must be >= 0");
            }
            return released(
                [&] { return self.prune_item_changes(std::chrono::seconds(static_cast<std::int64_t>(age_seconds))); });
          },
          py::arg("age_seconds"), "Delete the item changes older than this; returns how many.")
      .def(
          "search",
          [](Catalog& self, const py::object& request, const py::kwargs& parameters) {
            json value = request.is_none() ? json::object() : to_json(request);
            if (!value.is_object()) {
              throw Error(ErrorCode::kInvalidInput, "search: the request must be a dict");
            }
            for (const auto& [name, parameter] : parameters) {
              value[name.cast<std::string>()] = to_json(parameter);
            }
            std::string text;
            {
              py::gil_scoped_release release;
              text = self.search_text(value);
            }
            // Python's own JSON parser builds the dicts faster than a tree walk.
            const auto loads = py::module_::import("json").attr("loads");
            return loads(py::str(text));
          },
          py::arg("request") = py::none(),
          "STAC API item search; the request dict (or keyword arguments) takes ids, collections, bbox, intersects, "
          "datetime, filter, filter-lang, sortby, fields, q (free text), limit, token, context.")
      .def(
          "search_collections",
          [](Catalog& self, const py::object& request, const py::kwargs& parameters) {
            json value = request.is_none() ? json::object() : to_json(request);
            if (!value.is_object()) {
              throw Error(ErrorCode::kInvalidInput, "search_collections: the request must be a dict");
            }
            for (const auto& [name, parameter] : parameters) {
              value[name.cast<std::string>()] = to_json(parameter);
            }
            return released([&] { return self.search_collections(value); });
          },
          py::arg("request") = py::none(),
          "STAC API collection search; the request dict (or keyword arguments) takes bbox, datetime (against each "
          "collection's extent), q (free text), ids, limit and token. Returns {'collections': [...], "
          "'numberMatched', 'numberReturned', 'next'?, 'prev'?}, collections in id order.")
      .def(
          "aggregate",
          [](Catalog& self, const py::object& request, const py::kwargs& parameters) {
            json value = request.is_none() ? json::object() : to_json(request);
            if (!value.is_object()) {
              throw Error(ErrorCode::kInvalidInput, "aggregate: the request must be a dict");
            }
            for (const auto& [name, parameter] : parameters) {
              value[name.cast<std::string>()] = to_json(parameter);
            }
            return released([&] { return self.aggregate(value); });
          },
          py::arg("request") = py::none(),
          "STAC API aggregation over the items a search matches; the request dict (or keyword arguments) takes "
          "aggregations (a list of names: those aggregations() lists, or '<property>_frequency'), "
          "centroid_geohash_grid_frequency_precision (1-12), datetime_frequency_interval (year ... second) and ids, "
          "collections, bbox, intersects, datetime, filter, filter-lang, query. Returns the AggregationCollection.")
      .def(
          "aggregations",
          [](Catalog& self, const std::optional<std::string>& collection) {
            return released([&] { return self.aggregations(collection.value_or("")); });
          },
          py::arg("collection") = py::none(),
          "The aggregations aggregate() offers (for a collection: NotFound when it does not exist).")
      .def(
          "register_search",
          [](Catalog& self, const py::object& request, const py::object& metadata) {
            const json search = to_json(request);
            const json extra = metadata.is_none() ? json::object() : to_json(metadata);
            return released([&] { return self.register_search(search, extra); });
          },
          py::arg("request"), py::arg("metadata") = py::none(),
          "Store a search (a mosaic) under a stable id (pgstac's search hash) and return the id.")
      .def(
          "registered_search",
          [](Catalog& self, const std::string& id) { return released([&] { return self.registered_search(id); }); },
          py::arg("id"), "The registered search: id, search, metadata, lastused, usecount.")
      .def(
          "registered_searches", [](Catalog& self) { return released([&] { return self.registered_searches(); }); },
          "Every registered search, most recently used first.")
      .def("refresh", &Catalog::refresh, py::call_guard<py::gil_scoped_release>(),
           "Drop what the catalog keeps from its source (a remote STAC API's area cache of search results).")
      .def("index_property", &Catalog::index_property, py::arg("property"), py::call_guard<py::gil_scoped_release>(),
           "Index a property for sortby and filters on it (idempotent).")
      .def(
          "queryables",
          [](Catalog& self, const std::optional<std::string>& collection) {
            return released([&] { return self.queryables(collection.value_or("")); });
          },
          py::arg("collection") = py::none());
}

}  // namespace tessera::python
