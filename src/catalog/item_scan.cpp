#include "catalog/item_scan.hpp"

#include <simdjson.h>

#include <fmt/format.h>

#include "catalog/search_page.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog {

namespace {

std::string string_or_empty(simdjson::dom::element element) {
  std::string_view text;
  return element.get(text) == simdjson::SUCCESS ? std::string(text) : std::string();
}

ScannedItem scanned_item(simdjson::dom::element item) {
  ScannedItem scanned;
  scanned.id = string_or_empty(item["id"]);
  scanned.collection = string_or_empty(item["collection"]);
  simdjson::dom::array bbox;
  if (item["bbox"].get(bbox) == simdjson::SUCCESS) {
    for (const auto value : bbox) {
      double number = 0;
      if (value.get(number) == simdjson::SUCCESS) {
        scanned.bbox.push_back(number);
      }
    }
  }
  simdjson::dom::element geometry;
  scanned.geometry = item["geometry"].get(geometry) == simdjson::SUCCESS ? simdjson::minify(geometry) : "null";
  std::string_view datetime;
  if (item.at_pointer("/properties/datetime").get(datetime) == simdjson::SUCCESS) {
    scanned.datetime = std::string(datetime);
  }
  simdjson::dom::object assets;
  if (item["assets"].get(assets) == simdjson::SUCCESS) {
    for (const auto [name, asset] : assets) {
      std::string_view href;
      if (asset["href"].get(href) == simdjson::SUCCESS) {
        scanned.assets.emplace_back(std::string(name), std::string(href));
      }
    }
  }
  simdjson::dom::array links;
  if (item["links"].get(links) == simdjson::SUCCESS) {
    for (const auto link : links) {
      std::string_view rel;
      if (link["rel"].get(rel) == simdjson::SUCCESS && rel == "self") {
        scanned.self_href = string_or_empty(link["href"]);
        break;
      }
    }
  }
  return scanned;
}

}  // namespace

std::string resolved_href(const ScannedItem& item, const std::string& href) {
  if (href.find("://") != std::string::npos || href.starts_with("/") || item.self_href.empty()) {
    return href;
  }
  const auto slash = item.self_href.rfind('/');
  if (slash == std::string::npos) {
    return href;
  }
  return item.self_href.substr(0, slash + 1) + (href.starts_with("./") ? href.substr(2) : href);
}

ScannedPage scan_page(Catalog& catalog, const nlohmann::json& request) {
  SearchPage page = catalog.search_page(request);
  ScannedPage scanned;
  scanned.items.reserve(page.items.size());
  thread_local simdjson::dom::parser parser;
  for (const std::string& text : page.items) {
    simdjson::dom::element item;
    if (parser.parse(text).get(item) != simdjson::SUCCESS) {
      // Stored items were validated when loaded: a text that does not parse is a bug.
      throw Error(ErrorCode::kInternal, fmt::format("catalog scan: a stored item is not JSON ({} bytes)", text.size()));
    }
    scanned.items.push_back(scanned_item(item));
  }
  scanned.next_token = std::move(page.next_token);
  return scanned;
}

}  // namespace tessera::catalog
