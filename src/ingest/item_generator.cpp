#include "ingest/item_generator.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/child_process.hpp"
#include "ingest/ingest_internal.hpp"
#include "tessera/error.hpp"
#include "tessera/raster_item.hpp"

namespace tessera {

using nlohmann::json;

ItemGeneratorOptions ItemGeneratorOptions::from_json(const json& options) {
  const auto fail = [](const std::string& what) { throw Error(ErrorCode::kInvalidInput, "item_generator: " + what); };
  if (!options.is_object()) {
    fail("must be an object");
  }
  const auto strings = [&fail](const json& value, const std::string& name) {
    std::vector<std::string> list;
    if (!value.is_array()) {
      fail(fmt::format("'{}' must be an array of strings", name));
    }
    for (const auto& element : value) {
      if (!element.is_string()) {
        fail(fmt::format("'{}' must be an array of strings", name));
      }
      list.push_back(element.get<std::string>());
    }
    return list;
  };
  ItemGeneratorOptions parsed;
  for (const auto& member : options.items()) {
    const std::string& name = member.key();
    const json& value = member.value();
    if (name == "kind") {
      const std::string kind = value.is_string() ? value.get<std::string>() : std::string();
      if (kind == "none") {
        parsed.kind = Kind::kNone;
      } else if (kind == "builtin") {
        parsed.kind = Kind::kBuiltIn;
      } else if (kind == "command") {
        parsed.kind = Kind::kCommand;
      } else {
        fail("'kind' must be \"builtin\", \"command\" or \"none\"");
      }
    } else if (name == "collection" || name == "cog_prefix") {
      if (!value.is_string()) {
        fail(fmt::format("'{}' must be a string", name));
      }
      (name == "collection" ? parsed.collection : parsed.cog_prefix) = value.get<std::string>();
    } else if (name == "statistics") {
      if (!value.is_boolean()) {
        fail("'statistics' must be true or false");
      }
      parsed.statistics = value.get<bool>();
    } else if (name == "command") {
      parsed.command = strings(value, name);
    } else if (name == "raster_extensions") {
      parsed.raster_extensions = strings(value, name);
    } else if (name == "timeout_seconds") {
      if (!value.is_number() || !(value.get<double>() > 0 && value.get<double>() <= 86400)) {
        fail("'timeout_seconds' must be a number of seconds in (0, 86400]");
      }
      parsed.timeout_seconds = value.get<double>();
    } else if (name == "max_output_bytes") {
      if (!value.is_number_integer() || value.get<std::int64_t>() <= 0 || value.get<std::int64_t>() > (1 << 30)) {
        fail("'max_output_bytes' must be an integer in 1..1073741824");
      }
      parsed.max_output_bytes = value.get<std::size_t>();
    } else {
      fail(fmt::format("unknown member '{}'", name));
    }
  }
  if (parsed.kind == Kind::kCommand && parsed.command.empty()) {
    fail("kind \"command\" needs a non-empty 'command'");
  }
  return parsed;
}

namespace ingestion {

namespace {

// The last path segment of a URI or path.
std::string_view file_name(std::string_view uri) {
  const std::size_t slash = uri.rfind('/');
  return slash == std::string_view::npos ? uri : uri.substr(slash + 1);
}

std::string lower_extension(std::string_view uri) {
  const std::string_view name = file_name(uri);
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) {
    return {};
  }
  std::string extension(name.substr(dot));
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

// The COG prefix as the URIs of objects are written: storage URIs as given,
// folders as file://<absolute path>; with a trailing '/'.
std::string cog_root(const std::string& cog_prefix) {
  std::string root = cog_prefix;
  if (root.find("://") == std::string::npos) {
    std::error_code ec;
    root = "file://" + std::filesystem::absolute(root, ec).lexically_normal().string();
  }
  if (!root.ends_with('/')) {
    root += '/';
  }
  return root;
}

std::string cog_destination(const std::string& cog_prefix, const std::string& id) {
  return fmt::format("{}{}{}.tif", cog_prefix, cog_prefix.ends_with('/') ? "" : "/", id);
}

json built_in(const std::string& uri, const json& stub, const IngestOptions& options) {
  const ItemGeneratorOptions& generator = options.item_generator;
  if (generator.collection.empty()) {
    throw Error(ErrorCode::kInvalidInput, "the built-in item generator needs a collection (item_generator.collection)");
  }
  CreateItemOptions create;
  create.id = stub["id"].get<std::string>();
  create.collection = generator.collection;
  create.statistics = generator.statistics;
  create.storage_options = options.storage_options;
  if (generator.cog_prefix.empty()) {
    return create_item(uri, create);
  }
  const std::string cog = cog_destination(generator.cog_prefix, create.id);
  to_cog(uri, cog, options.storage_options);
  json item = create_item(cog, create);
  // The upload the COG was made from stays findable.
  item["assets"]["source"] = {{"href", uri}, {"roles", json::array({"source"})}};
  return item;
}

std::string run_command(const std::string& uri, const json& stub, const ItemGeneratorOptions& generator) {
  core::ChildProcessRequest request;
  request.argv = generator.command;
  request.argv.push_back(uri);
  request.input = stub.dump();
  request.timeout_seconds = generator.timeout_seconds;
  request.max_output_bytes = generator.max_output_bytes;
  request.max_error_bytes = 4096;
  const core::ChildProcessResult result = core::run_child_process(request);
  if (!result.start_error.empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("item command: {}", result.start_error));
  }
  if (result.timed_out) {
    throw Error(ErrorCode::kUnavailable, fmt::format("item command '{}' did not finish within {} s",
                                                     generator.command[0], generator.timeout_seconds));
  }
  if (result.exit_code != 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("item command '{}' exited with status {}: {}",
                                                      generator.command[0], result.exit_code, result.error));
  }
  if (result.output_truncated) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("item command '{}' wrote more than max_output_bytes ({})",
                                                      generator.command[0], generator.max_output_bytes));
  }
  return result.output;
}

}  // namespace

bool is_raster_name(std::string_view uri, const ItemGeneratorOptions& options) {
  const std::string extension = lower_extension(uri);
  return !extension.empty() &&
         std::find(options.raster_extensions.begin(), options.raster_extensions.end(), extension) !=
             options.raster_extensions.end() &&
         !is_generated_cog(uri, options);
}

bool has_no_extension(std::string_view uri) { return lower_extension(uri).empty(); }

bool has_raster_signature(std::string_view leading) {
  return leading.starts_with(std::string_view("II*\0", 4)) || leading.starts_with(std::string_view("MM\0*", 4)) ||
         leading.starts_with(std::string_view("II+\0", 4)) || leading.starts_with(std::string_view("MM\0+", 4)) ||
         leading.starts_with(std::string_view("\0\0\0\x0CjP  \r\n\x87\n", 12)) ||
         leading.starts_with(std::string_view("\xFF\x4F\xFF\x51", 4));
}

bool is_generated_cog(std::string_view uri, const ItemGeneratorOptions& options) {
  return options.kind == ItemGeneratorOptions::Kind::kBuiltIn && !options.cog_prefix.empty() &&
         uri.starts_with(cog_root(options.cog_prefix));
}

json item_stub(const std::string& uri, std::int64_t size, const ItemGeneratorOptions& options) {
  std::string id(file_name(uri));
  if (const std::size_t dot = id.rfind('.'); dot != std::string::npos && dot > 0) {
    id.resize(dot);
  }
  json asset = {{"href", uri}, {"roles", json::array({"data"})}};
  if (size >= 0) {
    asset["file:size"] = size;
  }
  json stub = {{"type", "Feature"},     {"stac_version", "1.1.0"},      {"id", id},
               {"geometry", nullptr},   {"properties", json::object()}, {"assets", {{"data", asset}}},
               {"links", json::array()}};
  if (!options.collection.empty()) {
    stub["collection"] = options.collection;
  }
  return stub;
}

std::vector<std::string> generate_items(const std::string& uri, std::int64_t size, const IngestOptions& options) {
  const ItemGeneratorOptions& generator = options.item_generator;
  const json stub = item_stub(uri, size, generator);
  std::vector<std::string> texts;
  switch (generator.kind) {
    case ItemGeneratorOptions::Kind::kNone:
      throw Error(ErrorCode::kInvalidInput, "a raster, not item JSON, and no item generator is configured");
    case ItemGeneratorOptions::Kind::kBuiltIn:
      texts.push_back(built_in(uri, stub, options).dump());
      break;
    case ItemGeneratorOptions::Kind::kCommand:
      texts = split_items(run_command(uri, stub, generator));
      break;
    case ItemGeneratorOptions::Kind::kCallable:
      if (!generator.callable) {
        throw Error(ErrorCode::kInvalidInput, "the item generator is a callable, and none was given");
      }
      texts = split_items(generator.callable(uri, stub).dump());
      break;
  }
  if (texts.empty()) {
    throw Error(ErrorCode::kInvalidInput, "the item generator returned no item");
  }
  // An item that names no collection takes the configured one.
  if (!generator.collection.empty()) {
    for (auto& text : texts) {
      json item = json::parse(text, nullptr, false);
      if (item.is_object() && !item.contains("collection")) {
        item["collection"] = generator.collection;
        text = item.dump();
      }
    }
  }
  return texts;
}

}  // namespace ingestion
}  // namespace tessera
