#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "progress.hpp"
#include "tessera/catalog.hpp"
#include "tessera/error.hpp"

namespace tessera::cli {

using nlohmann::json;

namespace {

json read_json_file(const std::string& path) {
  std::ifstream input(path);
  if (!input) {
    throw Error(ErrorCode::kNotFound, "cannot open '" + path + "'");
  }
  json value = json::parse(input, nullptr, false);
  if (value.is_discarded()) {
    throw Error(ErrorCode::kInvalidInput, "'" + path + "' is not valid JSON");
  }
  return value;
}

// Counts the non-blank lines of an ndjson file so progress can show a total.
std::size_t count_lines(const std::string& path) {
  std::ifstream input(path);
  std::size_t lines = 0;
  std::string line;
  while (std::getline(input, line)) {
    lines += line.find_first_not_of(" \t\r") != std::string::npos ? 1 : 0;
  }
  return lines;
}

}  // namespace

void add_catalog_commands(CLI::App& app) {
  // tessera collection upsert|ls CATALOG
  auto* collection = app.add_subcommand("collection", "Create, replace and list collections");
  collection->require_subcommand(1);
  auto collection_options = std::make_shared<std::pair<std::string, std::vector<std::string>>>();
  auto* upsert = collection->add_subcommand("upsert", "Create or replace collections from JSON files");
  upsert->add_option("CATALOG", collection_options->first, "Catalog URI")->required();
  upsert->add_option("FILES", collection_options->second, "STAC Collection JSON files")->required();
  upsert->callback([collection_options] {
    auto catalog = Catalog::open(collection_options->first);
    for (const auto& file : collection_options->second) {
      const json value = read_json_file(file);
      catalog->upsert_collection(value);
      std::cout << value["id"].get<std::string>() << "\n";
    }
  });
  auto* ls = collection->add_subcommand("ls", "List collection ids");
  ls->add_option("CATALOG", collection_options->first, "Catalog URI")->required();
  ls->callback([collection_options] {
    for (const auto& value : Catalog::open(collection_options->first)->collections()) {
      std::cout << value["id"].get<std::string>() << "\n";
    }
  });

  // tessera index CATALOG PROPERTY...
  auto index_options = std::make_shared<std::pair<std::string, std::vector<std::string>>>();
  auto* index = app.add_subcommand("index", "Index properties for sorting and filtering");
  index->add_option("CATALOG", index_options->first, "Catalog URI")->required();
  index->add_option("PROPERTIES", index_options->second, "Property names, e.g. eo:cloud_cover")->required();
  index->callback([index_options] {
    auto catalog = Catalog::open(index_options->first);
    for (const auto& property : index_options->second) {
      catalog->index_property(property);
    }
  });

  // tessera load CATALOG FILE [--mode] [--batch-size]
  struct LoadArgs {
    std::string catalog;
    std::vector<std::string> files;
    std::string mode = "insert";
    std::size_t batch_size = 1000;
    bool quiet = false;
  };
  auto load_args = std::make_shared<LoadArgs>();
  auto* load = app.add_subcommand("load", "Load STAC items (ndjson, FeatureCollection or Item files)");
  load->add_option("CATALOG", load_args->catalog, "Catalog URI")->required();
  load->add_option("FILES", load_args->files, "Item files")->required();
  load->add_option("--mode", load_args->mode, "insert, ignore or upsert")->check(CLI::IsMember(load_mode_names()));
  load->add_option("--batch-size", load_args->batch_size, "Items per transaction")->check(CLI::PositiveNumber);
  load->add_flag("-q,--quiet", load_args->quiet, "No progress bar");
  load->callback([load_args] {
    auto catalog = Catalog::open(load_args->catalog);
    LoadReport total;
    for (const auto& file : load_args->files) {
      LoadOptions options;
      options.mode = load_mode_from_name(load_args->mode);
      options.batch_size = load_args->batch_size;
      ProgressBar bar(file, load_args->quiet ? 0 : count_lines(file), !load_args->quiet);
      options.progress = [&bar](std::size_t done) { bar.update(done); };
      total.merge(catalog->load_file(file, options));
      bar.finish();
    }
    const json report = total.to_json();
    std::cerr << "loaded " << total.loaded << ", skipped " << total.skipped << ", failed " << total.failed.size()
              << "\n";
    for (const auto& failure : report["failed"]) {
      std::cout << failure.dump() << "\n";
    }
    if (!total.failed.empty()) {
      throw CLI::RuntimeError(2);
    }
  });

  // tessera search CATALOG [--bbox ...] [--datetime ...] [--filter ...] [--limit N]
  struct SearchArgs {
    std::string catalog;
    std::string bbox;
    std::string datetime;
    std::string filter;
    std::string collections;
    std::string ids;
    std::string sortby;
    std::string q;
    std::string request;
    std::size_t limit = 10;
    std::size_t max_items = 0;
    bool collection_output = false;
  };
  auto search_args = std::make_shared<SearchArgs>();
  auto* search = app.add_subcommand("search", "STAC item search; prints ndjson (or --collection)");
  search->add_option("CATALOG", search_args->catalog, "Catalog URI")->required();
  search->add_option("--bbox", search_args->bbox, "minx,miny,maxx,maxy");
  search->add_option("--datetime", search_args->datetime, "Instant or interval (a/b, ../b, a/..)");
  search->add_option("--filter", search_args->filter, "CQL2-text filter");
  search->add_option("--collections", search_args->collections, "Comma-separated collection ids");
  search->add_option("--ids", search_args->ids, "Comma-separated item ids");
  search->add_option("--sortby", search_args->sortby, "e.g. -datetime,+eo:cloud_cover");
  search->add_option("--q", search_args->q, "Free text over title, description and keywords (e.g. 'snow,ice -cloud')");
  search->add_option("--request", search_args->request, "A whole search request as JSON");
  search->add_option("--limit", search_args->limit, "Items per page");
  search->add_option("--max-items", search_args->max_items, "Follow pages up to this many items (0: one page)");
  search->add_flag("--collection", search_args->collection_output, "Print the first page as a FeatureCollection");
  search->callback([search_args] {
    json request = search_args->request.empty() ? json::object() : json::parse(search_args->request, nullptr, false);
    if (!request.is_object()) {
      throw Error(ErrorCode::kInvalidInput, "--request is not a JSON object");
    }
    const std::pair<const char*, const std::string*> text_members[] = {
        {"bbox", &search_args->bbox}, {"datetime", &search_args->datetime}, {"collections", &search_args->collections},
        {"ids", &search_args->ids},   {"sortby", &search_args->sortby},     {"q", &search_args->q}};
    for (const auto& [name, value] : text_members) {
      if (!value->empty()) {
        request[name] = *value;
      }
    }
    if (!search_args->filter.empty()) {
      request["filter"] = search_args->filter;
      request["filter-lang"] = "cql2-text";
    }
    request["limit"] = search_args->limit;
    auto catalog = Catalog::open(search_args->catalog);
    json page = catalog->search(request);
    if (search_args->collection_output) {
      std::cout << page.dump(2) << "\n";
      return;
    }
    std::size_t printed = 0;
    for (;;) {
      for (const auto& feature : page["features"]) {
        std::cout << feature.dump() << "\n";
        ++printed;
        if (search_args->max_items > 0 && printed >= search_args->max_items) {
          return;
        }
      }
      if (search_args->max_items == 0 || !page.contains("next")) {
        return;
      }
      page = catalog->search({{"token", page["next"]}, {"limit", search_args->limit}});
    }
  });
}

}  // namespace tessera::cli
