#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "tessera/ingest.hpp"
#include "tessera/raster_item.hpp"

namespace {

using nlohmann::json;
using tessera::Error;
using tessera::ErrorCode;
using tessera::capi::guarded;

tessera::StorageOptions storage_options_of(const json& settings, const char* where) {
  if (!settings.is_object()) {
    throw Error(ErrorCode::kInvalidInput, std::string(where) + ": expected a JSON object");
  }
  tessera::StorageOptions parsed;
  for (const auto& [name, value] : settings.items()) {
    if (!value.is_string()) {
      throw Error(ErrorCode::kInvalidInput, std::string(where) + ": '" + name + "' is not a string");
    }
    parsed[name] = value.get<std::string>();
  }
  return parsed;
}

tessera::IngestOptions ingest_options_of(const tsr_ingest_options* options) {
  tessera::IngestOptions parsed;
  if (options == nullptr) {
    return parsed;
  }
  if (options->version == 0 || options->version > TSR_INGEST_OPTIONS_VERSION) {
    throw Error(ErrorCode::kInvalidInput, "tsr_ingest_options: unknown version (use tsr_ingest_options_init)");
  }
  if (options->mode != nullptr) {
    parsed.mode = tessera::load_mode_from_name(options->mode);
  }
  if (options->batch_size != 0) {
    parsed.batch_size = options->batch_size;
  }
  if (options->dead_letter != nullptr) {
    parsed.dead_letter = options->dead_letter;
  }
  if (options->parallel_fetches != 0) {
    parsed.parallel_fetches = options->parallel_fetches;
  }
  if (options->version >= 2 && options->max_message_bytes != 0) {
    parsed.max_message_bytes = options->max_message_bytes;
  }
  if (options->version >= 2 && options->max_object_bytes != 0) {
    parsed.max_object_bytes = options->max_object_bytes;
  }
  if (options->storage_options_json != nullptr) {
    parsed.storage_options = storage_options_of(json::parse(options->storage_options_json, nullptr, false),
                                                "tsr_ingest_options.storage_options_json");
  }
  if (options->version >= 3 && options->item_generator_json != nullptr) {
    const json settings = json::parse(options->item_generator_json, nullptr, false);
    if (settings.is_discarded()) {
      throw Error(ErrorCode::kInvalidInput, "tsr_ingest_options.item_generator_json: not valid JSON");
    }
    parsed.item_generator = tessera::ItemGeneratorOptions::from_json(settings);
  }
  return parsed;
}

std::vector<std::string> string_array(const char* text, const char* function, const char* argument) {
  const json value = json::parse(tessera::capi::require(text, function, argument), nullptr, false);
  if (!value.is_array() || !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
    throw Error(ErrorCode::kInvalidInput,
                std::string(function) + ": argument '" + argument + "' must be a JSON array of strings");
  }
  return value.get<std::vector<std::string>>();
}

}  // namespace

extern "C" {

tsr_status tsr_ingest_options_init(tsr_ingest_options* options, unsigned int version) {
  return guarded([&] {
    TSR_REQUIRE(options);
    if (version == 0 || version > TSR_INGEST_OPTIONS_VERSION) {
      throw Error(ErrorCode::kInvalidInput, "tsr_ingest_options_init: unknown version");
    }
    const tessera::IngestOptions defaults;
    // A caller built against an older version has a shorter struct: only its fields are written.
    options->version = version;
    options->mode = "upsert";
    options->batch_size = defaults.batch_size;
    options->dead_letter = nullptr;
    options->storage_options_json = nullptr;
    options->parallel_fetches = defaults.parallel_fetches;
    if (version >= 2) {
      options->max_message_bytes = defaults.max_message_bytes;
      options->max_object_bytes = defaults.max_object_bytes;
    }
    if (version >= 3) {
      options->item_generator_json = nullptr;
    }
  });
}

tsr_status tsr_ingest(tsr_catalog catalog, const char* sources_json, const tsr_ingest_options* options,
                      char** out_report_json) {
  return guarded([&] {
    TSR_REQUIRE(catalog);
    TSR_REQUIRE(out_report_json);
    const auto sources = string_array(sources_json, __func__, "sources_json");
    const auto report = tessera::ingest(*catalog->impl, sources, ingest_options_of(options));
    *out_report_json = tessera::capi::copy_string(report.to_json().dump());
  });
}

tsr_status tsr_ingest_messages(tsr_catalog catalog, const char* messages_json, const tsr_ingest_options* options,
                               char** out_report_json) {
  return guarded([&] {
    TSR_REQUIRE(catalog);
    TSR_REQUIRE(out_report_json);
    const auto messages = string_array(messages_json, __func__, "messages_json");
    const auto report = tessera::ingest_messages(*catalog->impl, messages, ingest_options_of(options));
    *out_report_json = tessera::capi::copy_string(report.to_json().dump());
  });
}

tsr_status tsr_run_loader(tsr_catalog catalog, const char* options_json, int (*stop)(void* user), void* user,
                          char** out_report_json) {
  return guarded([&] {
    TSR_REQUIRE(catalog);
    TSR_REQUIRE(out_report_json);
    const json settings = json::parse(TSR_REQUIRE(options_json), nullptr, false);
    if (settings.is_discarded()) {
      throw Error(ErrorCode::kInvalidInput, "tsr_run_loader: options_json is not valid JSON");
    }
    tessera::LoaderOptions options = tessera::LoaderOptions::from_json(settings);
    if (stop != nullptr) {
      options.stop = [stop, user] { return stop(user) != 0; };
    }
    *out_report_json = tessera::capi::copy_string(tessera::run_loader(*catalog->impl, options).to_json().dump());
  });
}

tsr_status tsr_validate(tsr_catalog catalog, const char* items, char** out_report_json) {
  return guarded([&] {
    TSR_REQUIRE(catalog);
    TSR_REQUIRE(out_report_json);
    *out_report_json =
        tessera::capi::copy_string(tessera::validate(*catalog->impl, TSR_REQUIRE(items)).to_json().dump());
  });
}

tsr_status tsr_reconcile(tsr_catalog catalog, const char* storage_prefix, const char* options_json,
                         char** out_report_json) {
  return guarded([&] {
    TSR_REQUIRE(catalog);
    TSR_REQUIRE(out_report_json);
    tessera::ReconcileOptions options;
    if (options_json != nullptr) {
      const json settings = json::parse(options_json, nullptr, false);
      if (!settings.is_object()) {
        throw Error(ErrorCode::kInvalidInput, "tsr_reconcile: options_json must be a JSON object");
      }
      for (const auto& [name, value] : settings.items()) {
        if (name == "fix" && value.is_boolean()) {
          options.fix = value.get<bool>();
        } else if (name == "storage_options") {
          options.storage_options = storage_options_of(value, "tsr_reconcile: storage_options");
        } else if (name == "mode" && value.is_string()) {
          options.ingest.mode = tessera::load_mode_from_name(value.get<std::string>());
        } else if (name == "page_size" && value.is_number_unsigned()) {
          options.page_size = value.get<std::size_t>();
        } else if (name == "max_findings" && value.is_number_unsigned()) {
          options.max_findings = value.get<std::size_t>();
        } else if (name == "item_generator") {
          options.ingest.item_generator = tessera::ItemGeneratorOptions::from_json(value);
        } else {
          throw Error(ErrorCode::kInvalidInput,
                      "tsr_reconcile: options_json member '" + name + "' is unknown or of the wrong type");
        }
      }
    }
    *out_report_json = tessera::capi::copy_string(
        tessera::reconcile(*catalog->impl, TSR_REQUIRE(storage_prefix), options).to_json().dump());
  });
}

tsr_status tsr_create_item(const char* href, const char* options_json, char** out_item_json) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(out_item_json);
    tessera::CreateItemOptions options;
    if (options_json != nullptr) {
      const json settings = json::parse(options_json, nullptr, false);
      if (!settings.is_object()) {
        throw Error(ErrorCode::kInvalidInput, "tsr_create_item: options_json must be a JSON object");
      }
      options.id = settings.value("id", "");
      options.collection = settings.value("collection", "");
      options.collection_href = settings.value("collection_href", "");
      options.sensor = settings.value("sensor", "");
      options.datetime = settings.value("datetime", "");
      options.properties = settings.value("properties", json::object());
      options.statistics = settings.value("statistics", false);
      if (settings.contains("storage_options")) {
        options.storage_options = storage_options_of(settings["storage_options"], "tsr_create_item: storage_options");
      }
    }
    *out_item_json = tessera::capi::copy_string(tessera::create_item(href, options).dump());
  });
}

tsr_status tsr_to_cog(const char* source, const char* destination, const char* storage_options_json) {
  return guarded([&] {
    tessera::StorageOptions options;
    if (storage_options_json != nullptr) {
      options =
          storage_options_of(json::parse(storage_options_json, nullptr, false), "tsr_to_cog: storage_options_json");
    }
    tessera::to_cog(TSR_REQUIRE(source), TSR_REQUIRE(destination), options);
  });
}

}  // extern "C"
