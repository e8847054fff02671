#include <optional>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "python_callable.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"
#include "tessera/matching.hpp"
#include "tessera/raster_item.hpp"

namespace tessera::python {
namespace {

// `item_generator`: None, a callable (uri, item_like) -> item, or a dict of
// ItemGeneratorOptions settings whose optional "callable" member is one.
ItemGeneratorOptions item_generator_of(const py::object& setting) {
  if (setting.is_none()) {
    return {};
  }
  py::object callable = py::none();
  ItemGeneratorOptions options;
  if (PyCallable_Check(setting.ptr()) != 0) {
    callable = setting;
  } else if (py::isinstance<py::dict>(setting)) {
    py::dict settings(setting);  // a copy: the caller's dict keeps its callable
    settings = settings.attr("copy")();
    if (settings.contains("callable")) {
      callable = settings.attr("pop")("callable");
    }
    options = ItemGeneratorOptions::from_json(to_json(settings));
  } else {
    throw Error(ErrorCode::kInvalidInput, "item_generator must be a callable or a dict of settings");
  }
  if (!callable.is_none()) {
    options.kind = ItemGeneratorOptions::Kind::kCallable;
    // Called from the loader's threads: it takes the GIL, and its exceptions
    // become the object's failure (dead-lettered with the message). Held, so
    // the options can be copied (reconcile does) with the GIL released.
    options.callable = [held = hold(callable)](const std::string& uri, const nlohmann::json& item_like) {
      py::gil_scoped_acquire acquire;
      std::string failure;
      try {
        return to_json((*held)(uri, from_json(item_like)));
      } catch (py::error_already_set& error) {
        failure = error.what();
      }
      throw Error(ErrorCode::kInvalidInput, "item generator: " + failure);
    };
  }
  return options;
}

// A message may be given as text or as a dict (serialised as JSON).
std::string message_text(const py::handle& message) {
  if (py::isinstance<py::str>(message)) {
    return message.cast<std::string>();
  }
  if (py::isinstance<py::bytes>(message)) {
    return message.cast<std::string>();
  }
  if (py::isinstance<py::dict>(message)) {
    return to_json(message).dump();
  }
  throw Error(ErrorCode::kInvalidInput, "ingest_messages: each message must be a str, bytes or dict");
}

// Defines ingest or ingest_messages: `name`(catalog, <inputs_name>, <the
// IngestOptions keywords both take>). `run` gets the inputs (typed Inputs,
// as the stub shows them) and the options, and answers in Python.
template <typename Inputs, typename Run>
void def_ingest(py::module_& m, const char* name, const char* inputs_name, Run run, const char* doc) {
  const IngestOptions defaults;
  m.def(
      name,
      [run](Catalog& catalog, const Inputs& inputs, const std::string& mode, std::size_t batch_size,
            const std::optional<std::string>& dead_letter, const std::optional<StorageOptions>& storage_options,
            std::size_t parallel_fetches, const optional_ref<const Matcher>& matcher, std::size_t max_message_bytes,
            std::size_t max_object_bytes, const py::object& item_generator) {
        IngestOptions options;
        options.max_message_bytes = max_message_bytes;
        options.max_object_bytes = max_object_bytes;
        options.mode = load_mode_from_name(mode);
        options.batch_size = batch_size;
        options.dead_letter = dead_letter.value_or("");
        options.storage_options = storage_options.value_or(StorageOptions{});
        options.parallel_fetches = parallel_fetches;
        if (const Matcher* outbox = pointer_of(matcher); outbox != nullptr) {
          options.outbox = outbox->outbox_hook();
        }
        options.item_generator = item_generator_of(item_generator);
        return run(catalog, inputs, options);
      },
      py::arg("catalog"), py::arg(inputs_name), py::arg("mode") = "upsert", py::arg("batch_size") = 500,
      py::arg("dead_letter") = py::none(), py::arg("storage_options") = py::none(), py::arg("parallel_fetches") = 16,
      py::arg("matcher") = py::none(), py::arg("max_message_bytes") = defaults.max_message_bytes,
      py::arg("max_object_bytes") = defaults.max_object_bytes, py::arg("item_generator") = py::none(), doc);
}

}  // namespace

void bind_ingest(py::module_& m) {
  m.def(
      "create_item",
      [](const std::string& href, const std::optional<std::string>& id, const std::optional<std::string>& collection,
         const std::optional<std::string>& datetime, const py::object& properties, bool statistics,
         const std::optional<StorageOptions>& storage_options, const std::optional<std::string>& sensor,
         const std::optional<std::string>& collection_href) {
        CreateItemOptions options;
        options.id = id.value_or("");
        options.collection = collection.value_or("");
        options.collection_href = collection_href.value_or("");
        options.sensor = sensor.value_or("");
        options.datetime = datetime.value_or("");
        if (!properties.is_none()) {
          options.properties = to_json(properties);
        }
        options.statistics = statistics;
        options.storage_options = storage_options.value_or(StorageOptions{});
        nlohmann::json item;
        {
          py::gil_scoped_release release;
          item = create_item(href, options);
        }
        return from_json(item);
      },
      py::arg("href"), py::arg("id") = py::none(), py::arg("collection") = py::none(), py::arg("datetime") = py::none(),
      py::arg("properties") = py::none(), py::arg("statistics") = false, py::arg("storage_options") = py::none(),
      py::arg("sensor") = py::none(), py::arg("collection_href") = py::none(),
      "A STAC 1.1 Item for a GDAL-readable raster (path, file://, s3://, https://); `sensor` (one of\n"
      "tessera.sensor_presets()) names the band table giving common names and wavelengths.");
  m.def("sensor_presets", &sensor_presets, "The sensor names create_item(sensor=...) accepts.");
  m.def(
      "to_cog",
      [](const std::string& source, const std::string& destination,
         const std::optional<StorageOptions>& storage_options) {
        py::gil_scoped_release release;
        to_cog(source, destination, storage_options.value_or(StorageOptions{}));
      },
      py::arg("src"), py::arg("dst"), py::arg("storage_options") = py::none(),
      "Convert a raster to a Cloud-Optimized GeoTIFF at a local path or storage URI (file://, s3://).");
  def_ingest<py::object>(
      m, "ingest", "sources",
      [](Catalog& catalog, const py::object& sources, const IngestOptions& options) {
        std::vector<std::string> paths;
        if (py::isinstance<py::str>(sources) || py::hasattr(sources, "__fspath__")) {
          paths.push_back(py::str(py::module_::import("os").attr("fspath")(sources)).cast<std::string>());
        } else {
          for (const auto& source : sources) {
            paths.push_back(py::str(py::module_::import("os").attr("fspath")(source)).cast<std::string>());
          }
        }
        IngestReport report;
        {
          py::gil_scoped_release release;
          report = ingest(catalog, paths, options);
        }
        return from_json(report.to_json());
      },
      "Load items from files, folders and storage prefixes (file:// or s3://). Returns a report with one result "
      "per source file or object. With a Matcher, each match writes a run_requested event with its item. "
      "`item_generator` (as for run_loader) makes items of the rasters found (.tif, ...): a callable (uri, "
      "item_like) -> item, or a dict {'kind': 'builtin' | 'command', 'collection', 'cog_prefix', 'command': [...], "
      "..., 'callable'}; without it, rasters in folders and prefixes are passed over and a raster given as a "
      "source fails.");
  def_ingest<py::list>(
      m, "ingest_messages", "messages",
      [](Catalog& catalog, const py::list& messages, const IngestOptions& options) {
        std::vector<std::string> texts;
        for (const auto& message : messages) {
          texts.push_back(message_text(message));
        }
        IngestReport report;
        {
          py::gil_scoped_release release;
          report = ingest_messages(catalog, texts, options);
        }
        return from_json(report.to_json()["results"]);
      },
      "Load queue messages (STAC Items, S3 event notifications, SNS envelopes, dead-letter records). Returns one "
      "result per message. `item_generator` (as for ingest) makes items of the rasters S3 events name.");
  m.def(
      "validate",
      [](Catalog& catalog, const py::object& items) {
        // A dict or list is serialised; text is taken as it is (Item, FeatureCollection, array or ndjson).
        const std::string text = py::isinstance<py::str>(items) || py::isinstance<py::bytes>(items)
                                     ? items.cast<std::string>()
                                     : to_json(items).dump();
        ValidationReport report;
        {
          py::gil_scoped_release release;
          report = validate(catalog, text);
        }
        return from_json(report.to_json());
      },
      py::arg("catalog"), py::arg("items"),
      "Check items as a load would (structure, geometry, dates, an existing collection) without writing them. "
      "`items`: an Item or FeatureCollection (dict or JSON text), a list of Items, or ndjson text. Returns "
      "{'valid', 'invalid', 'results': [{'id', 'collection', 'valid', 'error'?}]}.");
  m.def(
      "reconcile",
      [](Catalog& catalog, const std::string& storage_prefix, bool fix,
         const std::optional<StorageOptions>& storage_options, const std::string& mode, std::size_t page_size,
         const py::object& progress, const py::object& on_finding, const py::object& item_generator) {
        ReconcileOptions options;
        options.fix = fix;
        options.ingest.item_generator = item_generator_of(item_generator);
        options.storage_options = storage_options.value_or(StorageOptions{});
        options.ingest.mode = load_mode_from_name(mode);
        options.page_size = page_size;
        // The callbacks run on this thread with the GIL released: each takes it.
        if (!progress.is_none()) {
          options.progress = [progress](std::size_t objects) {
            py::gil_scoped_acquire acquire;
            progress(objects);
          };
        }
        if (!on_finding.is_none()) {
          options.on_finding = [on_finding](const nlohmann::json& finding) {
            py::gil_scoped_acquire acquire;
            on_finding(from_json(finding));
          };
        }
        ReconcileReport report;
        {
          py::gil_scoped_release release;
          report = reconcile(catalog, storage_prefix, options);
        }
        return from_json(report.to_json());
      },
      py::arg("catalog"), py::arg("storage_prefix"), py::arg("fix") = false, py::arg("storage_options") = py::none(),
      py::arg("mode") = "upsert", py::arg("page_size") = 1000, py::arg("progress") = py::none(),
      py::arg("on_finding") = py::none(), py::arg("item_generator") = py::none(),
      "Compare the item objects under a storage prefix (path, file://, s3://) with the catalog's items recorded "
      "as loaded from it: missing, orphaned and stale items (also an asset whose sha2-256 file:checksum no longer "
      "matches its object); fix=True loads and deletes accordingly. Streams the listing; `progress(objects)` after "
      "each page, `on_finding(finding)` for each finding. With `item_generator` (as for run_loader), rasters "
      "without an item are missing and fix generates theirs.");
  m.def(
      "run_loader",
      [](Catalog& catalog, const std::string& queue_url, const py::kwargs& keywords) {
        // The callables and the matcher are taken out; the rest are LoaderOptions members.
        py::dict settings(keywords);
        const auto take = [&settings](const char* name) {
          return settings.contains(name) ? py::object(settings.attr("pop")(name)) : py::object(py::none());
        };
        const py::object stop = take("stop");
        const py::object on_batch = take("on_batch");
        const py::object matcher = take("matcher");
        const py::object item_generator = take("item_generator");
        nlohmann::json options_json = to_json(settings);
        options_json["queue_url"] = queue_url;
        LoaderOptions options = LoaderOptions::from_json(options_json);
        options.ingest.item_generator = item_generator_of(item_generator);
        if (!matcher.is_none()) {
          options.ingest.outbox = matcher.cast<const Matcher&>().outbox_hook();
        }
        // The callbacks run on the loader's threads: each takes the GIL.
        if (!stop.is_none()) {
          options.stop = [stop] {
            py::gil_scoped_acquire acquire;
            return stop().cast<bool>();
          };
        }
        if (!on_batch.is_none()) {
          options.on_batch = [on_batch](const nlohmann::json& batch) {
            py::gil_scoped_acquire acquire;
            on_batch(from_json(batch));
          };
        }
        LoaderReport report;
        {
          py::gil_scoped_release release;
          report = run_loader(catalog, options);
        }
        return from_json(report.to_json());
      },
      py::arg("catalog"), py::arg("queue_url"),
      "Run the SQS queue loader: long-poll `queue_url` and load what its messages hold, deleting the stored ones, "
      "leaving transient failures for redelivery and sending lasting ones to dead_letter_queue_url. Keyword "
      "settings as LoaderOptions (docs/ingest.md): dead_letter_queue_url, batch_size, batch_window_seconds, "
      "max_receive_count, concurrency, until_empty, wait_seconds, visibility_timeout_seconds, queue_options, mode, "
      "dead_letter, storage_options, tombstone_removed, ... `stop()` is called between batches (True stops), "
      "`on_batch(summary)` after each; `matcher` writes run_requested events as ingest does. `item_generator` makes "
      "items of raster objects: a callable (uri, item_like) -> item, or a dict {'kind': 'builtin' | 'command', "
      "'collection', 'cog_prefix', 'command': [...], 'timeout_seconds', ..., 'callable'}. Returns the totals.");
}

}  // namespace tessera::python
