#include <optional>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"
#include "tessera/matching.hpp"
#include "tessera/raster_item.hpp"

namespace tessera::python {
namespace {

IngestOptions make_options(const std::string& mode, std::size_t batch_size,
                           const std::optional<std::string>& dead_letter,
                           const std::optional<StorageOptions>& storage_options, std::size_t parallel_fetches,
                           const Matcher* matcher, std::size_t max_message_bytes, std::size_t max_object_bytes) {
  IngestOptions options;
  options.max_message_bytes = max_message_bytes;
  options.max_object_bytes = max_object_bytes;
  options.mode = load_mode_from_name(mode);
  options.batch_size = batch_size;
  options.dead_letter = dead_letter.value_or("");
  options.storage_options = storage_options.value_or(StorageOptions{});
  options.parallel_fetches = parallel_fetches;
  if (matcher != nullptr) {
    options.outbox = matcher->outbox_hook();
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
  m.def(
      "ingest",
      [](Catalog& catalog, const py::object& sources, const std::string& mode, std::size_t batch_size,
         const std::optional<std::string>& dead_letter, const std::optional<StorageOptions>& storage_options,
         std::size_t parallel_fetches, const optional_ref<const Matcher>& matcher, std::size_t max_message_bytes,
         std::size_t max_object_bytes) {
        std::vector<std::string> paths;
        if (py::isinstance<py::str>(sources) || py::hasattr(sources, "__fspath__")) {
          paths.push_back(py::str(py::module_::import("os").attr("fspath")(sources)).cast<std::string>());
        } else {
          for (const auto& source : sources) {
            paths.push_back(py::str(py::module_::import("os").attr("fspath")(source)).cast<std::string>());
          }
        }
        const IngestOptions options = make_options(mode, batch_size, dead_letter, storage_options, parallel_fetches,
                                                   pointer_of(matcher), max_message_bytes, max_object_bytes);
        IngestReport report;
        {
          py::gil_scoped_release release;
          report = ingest(catalog, paths, options);
        }
        return from_json(report.to_json());
      },
      py::arg("catalog"), py::arg("sources"), py::arg("mode") = "upsert", py::arg("batch_size") = 500,
      py::arg("dead_letter") = py::none(), py::arg("storage_options") = py::none(), py::arg("parallel_fetches") = 16,
      py::arg("matcher") = py::none(), py::arg("max_message_bytes") = IngestOptions{}.max_message_bytes,
      py::arg("max_object_bytes") = IngestOptions{}.max_object_bytes,
      "Load items from files, folders and storage prefixes (file:// or s3://). Returns a report with one result "
      "per source file or object. With a Matcher, each match writes a run_requested event with its item.");
  m.def(
      "ingest_messages",
      [](Catalog& catalog, const py::list& messages, const std::string& mode, std::size_t batch_size,
         const std::optional<std::string>& dead_letter, const std::optional<StorageOptions>& storage_options,
         std::size_t parallel_fetches, const optional_ref<const Matcher>& matcher, std::size_t max_message_bytes,
         std::size_t max_object_bytes) {
        std::vector<std::string> texts;
        for (const auto& message : messages) {
          texts.push_back(message_text(message));
        }
        const IngestOptions options = make_options(mode, batch_size, dead_letter, storage_options, parallel_fetches,
                                                   pointer_of(matcher), max_message_bytes, max_object_bytes);
        IngestReport report;
        {
          py::gil_scoped_release release;
          report = ingest_messages(catalog, texts, options);
        }
        return from_json(report.to_json()["results"]);
      },
      py::arg("catalog"), py::arg("messages"), py::arg("mode") = "upsert", py::arg("batch_size") = 500,
      py::arg("dead_letter") = py::none(), py::arg("storage_options") = py::none(), py::arg("parallel_fetches") = 16,
      py::arg("matcher") = py::none(), py::arg("max_message_bytes") = IngestOptions{}.max_message_bytes,
      py::arg("max_object_bytes") = IngestOptions{}.max_object_bytes,
      "Load queue messages (STAC Items, S3 event notifications, SNS envelopes, dead-letter records). Returns one "
      "result per message.");
}

}  // namespace tessera::python
