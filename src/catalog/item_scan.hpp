#pragma once

// A typed walk over a search's items for the modules that read the items'
// data (mosaics): the few fields they place and read an item by, taken from
// the stored item texts without a FeatureCollection in between. Internal
// header, offered to the modules above the catalog.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"

namespace tessera::catalog {

struct ScannedItem {
  std::string id;
  std::string collection;
  std::vector<double> bbox;             // as the item has it (4 or 6 numbers); empty when absent
  std::string geometry;                 // GeoJSON text ("null" for none), parsed only by who needs it
  std::optional<std::string> datetime;  // properties.datetime
  std::vector<std::pair<std::string, std::string>> assets;  // (name, href) of each asset with a string href
  std::string self_href;                                    // the item's self link, for relative hrefs
};

struct ScannedPage {
  std::vector<ScannedItem> items;
  std::string next_token;  // empty on the last page
};

// An asset's href as the item gives it, resolved against the item's self link
// when it is relative.
std::string resolved_href(const ScannedItem& item, const std::string& href);

// One page of `request` (a search() request) as typed items.
ScannedPage scan_page(Catalog& catalog, const nlohmann::json& request);

}  // namespace tessera::catalog
