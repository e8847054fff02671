#include "service/tile_links.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "service/http_support.hpp"
#include "service/tile_params.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

using nlohmann::json;

namespace {

// A number or a text of a render (nodata may be "nan"), as query text.
std::string parameter_text(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

bool has_role(const json& asset, std::string_view role) {
  const auto roles = asset.find("roles");
  return roles != asset.end() && roles->is_array() &&
         std::any_of(roles->begin(), roles->end(), [&](const json& value) { return value == role; });
}

// GeoTIFF (COG included) and JPEG 2000: the asset types a tile is read from.
bool raster_type(const json& asset) {
  const auto type = asset.find("type");
  if (type == asset.end() || !type->is_string()) {
    return false;
  }
  const std::string& text = type->get_ref<const std::string&>();
  return text.starts_with("image/tiff") || text.starts_with("image/jp2");
}

json render_of_asset(const std::string& name, const json& asset) {
  const auto title = asset.find("title");
  return {{"title", title != asset.end() && title->is_string() ? *title : json(name)}, {"assets", json::array({name})}};
}

std::string query_of(const std::vector<std::pair<std::string, std::string>>& parameters) {
  std::string query;
  for (const auto& [name, value] : parameters) {
    query += query.empty() ? '?' : '&';
    query += query_escape(name) + '=' + query_escape(value);
  }
  return query;
}

// The parameter names that stand for one choice: a preset of the group is
// left out when the request names any of them.
std::vector<std::string_view> group_of(std::string_view name) {
  static constexpr std::array<std::array<std::string_view, 2>, 2> kGroups = {{
      {"assets", "expression"},
      {"colormap", "colormap_name"},
  }};
  for (const auto& group : kGroups) {
    if (std::find(group.begin(), group.end(), name) != group.end()) {
      return {group.begin(), group.end()};
    }
  }
  return {name};
}

// The render's assets when the item has every one of them (and it names some).
bool item_has_assets(const json& item, const json& render) {
  const auto assets = render.find("assets");
  const auto item_assets = item.find("assets");
  if (assets == render.end() || !assets->is_array() || assets->empty() || item_assets == item.end() ||
      !item_assets->is_object()) {
    return false;
  }
  return std::all_of(assets->begin(), assets->end(), [&](const json& name) {
    return name.is_string() && item_assets->contains(name.get<std::string>());
  });
}

json tile_link(std::string_view rel, const std::string& href, const std::string& title) {
  return {{"rel", rel}, {"type", "application/json"}, {"href", href}, {"title", title}};
}

std::string title_of(const std::string& render_id, const json& render) {
  const auto title = render.find("title");
  return title != render.end() && title->is_string() ? title->get<std::string>() : render_id;
}

}  // namespace

json renders_of(const json& collection) {
  if (const auto own = collection.find("renders"); own != collection.end() && own->is_object()) {
    return *own;
  }
  const auto item_assets = collection.find("item_assets");
  if (item_assets == collection.end() || !item_assets->is_object()) {
    return json::object();
  }
  if (const auto visual = item_assets->find("visual"); visual != item_assets->end() && visual->is_object()) {
    return {{"visual", render_of_asset("visual", *visual)}};
  }
  const json* chosen = nullptr;
  std::string chosen_name;
  for (const auto& [name, asset] : item_assets->items()) {
    if (asset.is_object() && raster_type(asset) && (has_role(asset, "data") || has_role(asset, "visual"))) {
      if (chosen != nullptr) {
        return json::object();  // two candidates: which one to draw is not ours to guess
      }
      chosen = &asset;
      chosen_name = name;
    }
  }
  return chosen == nullptr ? json::object() : json{{chosen_name, render_of_asset(chosen_name, *chosen)}};
}

std::vector<std::pair<std::string, std::string>> render_parameters(const json& render) {
  std::vector<std::pair<std::string, std::string>> parameters;
  if (!render.is_object()) {
    return parameters;
  }
  if (const auto assets = render.find("assets"); assets != render.end() && assets->is_array()) {
    for (const json& asset : *assets) {
      if (asset.is_string()) {
        parameters.emplace_back("assets", asset.get<std::string>());
      }
    }
  }
  if (const auto rescale = render.find("rescale"); rescale != render.end() && rescale->is_array()) {
    for (const json& range : *rescale) {
      if (range.is_array() && range.size() == 2) {
        parameters.emplace_back("rescale", parameter_text(range[0]) + ',' + parameter_text(range[1]));
      }
    }
  }
  for (const char* name : {"expression", "nodata", "colormap_name", "color_formula", "resampling"}) {
    if (const auto value = render.find(name); value != render.end() && (value->is_string() || value->is_number())) {
      parameters.emplace_back(name, parameter_text(*value));
    }
  }
  if (const auto colormap = render.find("colormap"); colormap != render.end() && colormap->is_object()) {
    parameters.emplace_back("colormap", colormap->dump());
  }
  if (const auto zooms = render.find("minmax_zoom"); zooms != render.end() && zooms->is_array() && zooms->size() == 2 &&
                                                     (*zooms)[0].is_number_integer() &&
                                                     (*zooms)[1].is_number_integer()) {
    parameters.emplace_back("minzoom", (*zooms)[0].dump());
    parameters.emplace_back("maxzoom", (*zooms)[1].dump());
  }
  return parameters;
}

HttpRequest with_render(const HttpRequest& request, const json& renders) {
  const std::string* render_id = request.query_value("render_id");
  if (render_id == nullptr) {
    return request;
  }
  const auto render = renders.find(*render_id);
  if (render == renders.end() || !render->is_object()) {
    std::string known;
    for (const auto& [id, value] : renders.items()) {
      known += (known.empty() ? "" : ", ") + id;
    }
    throw BadParameter("render_id", fmt::format("render_id: the collection has no render '{}' (it has: {})", *render_id,
                                                known.empty() ? "none" : known));
  }
  HttpRequest presets = request;
  for (auto& [name, value] : render_parameters(*render)) {
    const auto group = group_of(name);
    if (std::none_of(group.begin(), group.end(),
                     [&](std::string_view member) { return request.query_value(member) != nullptr; })) {
      presets.query.emplace_back(std::move(name), std::move(value));
    }
  }
  return presets;
}

const json& TileLinks::renders_for(const std::string& collection_id) {
  const auto cached = renders_by_collection_.find(collection_id);
  if (cached != renders_by_collection_.end()) {
    return cached->second;
  }
  json renders = json::object();
  try {
    renders = renders_of(catalog_.get_collection(collection_id));
  } catch (const Error& error) {
    if (error.code() != ErrorCode::kNotFound) {
      throw;
    }
  }
  return renders_by_collection_.emplace(collection_id, std::move(renders)).first->second;
}

void TileLinks::add_to_item(json& item) {
  const auto collection = item.find("collection");
  const auto id = item.find("id");
  const auto links = item.find("links");
  if (collection == item.end() || !collection->is_string() || id == item.end() || !id->is_string() ||
      links == item.end() || !links->is_array()) {
    return;
  }
  const std::string tilejson =
      fmt::format("{}/collections/{}/items/{}/WebMercatorQuad/tilejson.json", base_,
                  query_escape(collection->get<std::string>()), query_escape(id->get<std::string>()));
  const json& renders = renders_for(collection->get<std::string>());
  for (const auto& [render_id, render] : renders.items()) {
    if (item_has_assets(item, render)) {
      links->push_back(
          tile_link("tilejson", tilejson + query_of(render_parameters(render)), title_of(render_id, render)));
    }
  }
  if (renders.empty() && item_has_assets(item, {{"assets", {"visual"}}})) {
    links->push_back(tile_link("tilejson", tilejson + query_of({{"assets", "visual"}}), "visual"));
  }
}

void TileLinks::add_to_collection(json& collection) const {
  const auto id = collection.find("id");
  const auto links = collection.find("links");
  if (id == collection.end() || !id->is_string() || links == collection.end() || !links->is_array()) {
    return;
  }
  const json renders = renders_of(collection);
  if (!collection.contains("renders") && !renders.empty()) {
    collection["renders"] = renders;
  }
  const std::string tilejson =
      fmt::format("{}/collections/{}/WebMercatorQuad/tilejson.json", base_, query_escape(id->get<std::string>()));
  for (const auto& [render_id, render] : renders.items()) {
    collection["links"].push_back(
        tile_link("tiles", tilejson + query_of(render_parameters(render)), title_of(render_id, render) + " tiles"));
  }
}

}  // namespace tessera::service
