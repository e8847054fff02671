#include "packaging/package_pages.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <memory>
#include <numbers>
#include <vector>

#include <fmt/format.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_geometry.h>

#include "core/gdal_env.hpp"
#include "packaging/job_record.hpp"

namespace tessera::packaging {

using nlohmann::json;

namespace {

std::string escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string text_of(const json& object, const char* field) {
  return object.is_object() && object.contains(field) && object[field].is_string() ? object[field].get<std::string>()
                                                                                   : std::string();
}

// Only web addresses become links: a licence path or source could be any
// text, and javascript: or a server path must never be one.
bool is_web_url(std::string_view text) { return text.starts_with("https://") || text.starts_with("http://"); }

std::string link_or_text(const std::string& href, const std::string& label) {
  return is_web_url(href) ? fmt::format("<a href=\"{}\">{}</a>", escaped(href), escaped(label)) : escaped(label);
}

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string license_label(const json& license) {
  const std::string title = text_of(license, "title");
  const std::string name = text_of(license, "name");
  return !title.empty() ? title : !name.empty() ? name : text_of(license, "path");
}

std::string licenses_html(const json& licenses) {
  std::string html;
  for (const auto& license : licenses) {
    html += (html.empty() ? "" : ", ") + link_or_text(text_of(license, "path"), license_label(license));
  }
  return html.empty() ? "not stated" : html;
}

// The resources of each dataset, in the package's order of first appearance.
std::vector<std::pair<std::string, std::vector<json>>> datasets_of(const json& datapackage) {
  std::vector<std::pair<std::string, std::vector<json>>> datasets;
  for (const auto& resource : datapackage.value("resources", json::array())) {
    const std::string key =
        fmt::format("{}/{}", text_of(resource, "tessera:dataset"), text_of(resource, "tessera:version"));
    auto found = std::find_if(datasets.begin(), datasets.end(), [&](const auto& entry) { return entry.first == key; });
    if (found == datasets.end()) {
      datasets.emplace_back(key, std::vector<json>{});
      found = std::prev(datasets.end());
    }
    found->second.push_back(resource);
  }
  return datasets;
}

std::string page(const std::string& title, const std::string& body) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n"
      "body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }}\n"
      "table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.3em 0.6em; "
      "text-align: left; vertical-align: top; }}\ncode {{ word-break: break-all; }}\n"
      "</style>\n</head>\n<body>\n{}</body>\n</html>\n",
      escaped(title), body);
}

std::string title_of(const json& datapackage, const Boundary& boundary) {
  const std::string title = text_of(datapackage, "title");
  return title.empty() ? boundary.name : title;
}

}  // namespace

std::string package_index_html(const json& datapackage, const Boundary& boundary) {
  const std::string title = title_of(datapackage, boundary);
  const Bbox box = boundary.geometry.bbox();
  std::string body = fmt::format(
      "<header>\n<h1>{}</h1>\n<p>Data package for the boundary <strong>{}</strong> (id "
      "<code>{}</code>), built {}.</p>\n</header>\n<main>\n",
      escaped(title), escaped(boundary.name), escaped(boundary.id), escaped(text_of(datapackage, "created")));
  body += fmt::format(
      "<section>\n<h2>Boundary</h2>\n<figure>\n<img src=\"{}\" alt=\"Map of the boundary of {}\">\n"
      "<figcaption>Extent: longitude {:.4f} to {:.4f}, latitude {:.4f} to {:.4f} (WGS84)</figcaption>\n"
      "</figure>\n</section>\n",
      kThumbnailFile, escaped(boundary.name), box.minx, box.maxx, box.miny, box.maxy);
  body += "<section>\n<h2>Datasets</h2>\n";
  for (const auto& [key, resources] : datasets_of(datapackage)) {
    const json& first = resources.front();
    const std::string dataset_title = text_of(first, "title").empty() ? key : text_of(first, "title");
    body += fmt::format("<article>\n<h3>{} <small>({})</small></h3>\n", escaped(dataset_title), escaped(key));
    if (const std::string description = text_of(first, "description"); !description.empty()) {
      body += fmt::format("<p>{}</p>\n", escaped(description));
    }
    body += fmt::format("<p>Licence: {}</p>\n", licenses_html(first.value("licenses", json::array())));
    if (const std::string citation = text_of(first, "tessera:citation"); !citation.empty()) {
      body += fmt::format("<p>Citation: <cite>{}</cite></p>\n", escaped(citation));
    }
    body += "<table>\n<thead><tr><th>file</th><th>format</th><th>size</th><th>SHA-256</th></tr></thead>\n<tbody>\n";
    for (const auto& resource : resources) {
      const std::string path = text_of(resource, "path");
      std::string hash = text_of(resource, "hash");
      if (hash.starts_with("sha256:")) {
        hash.erase(0, 7);
      }
      body +=
          fmt::format("<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
                      escaped(path), escaped(path.substr(path.rfind('/') + 1)), escaped(text_of(resource, "format")),
                      human_bytes(resource.value("bytes", std::uint64_t{0})), escaped(hash));
    }
    body += "</tbody>\n</table>\n</article>\n";
  }
  body +=
      "</section>\n</main>\n<footer>\n<p><a href=\"license.html\">Licences and citations</a> · <a "
      "href=\"datapackage.json\">datapackage.json</a> (Frictionless Data Package) · <a "
      "href=\"provenance.json\">provenance.json</a></p>\n</footer>\n";
  return page(title, body);
}

std::string package_license_html(const json& datapackage, const Boundary& boundary) {
  const std::string title = title_of(datapackage, boundary);
  // Each licence with the datasets under it.
  std::map<std::string, std::pair<json, std::vector<json>>> by_license;
  for (const auto& [key, resources] : datasets_of(datapackage)) {
    const json& first = resources.front();
    const json licenses = first.value("licenses", json::array({json::object()}));
    for (const auto& license : licenses.empty() ? json::array({json::object()}) : licenses) {
      auto& entry = by_license[license.dump()];
      entry.first = license;
      entry.second.push_back(first);
    }
  }
  std::string body = fmt::format(
      "<header>\n<h1>Licences of {}</h1>\n<p><a href=\"index.html\">Back to the package</a></p>\n</header>\n<main>\n",
      escaped(title));
  for (const auto& [license_key, entry] : by_license) {
    const json& license = entry.first;
    const std::string label = license.empty() ? "Licence not stated" : license_label(license);
    body += fmt::format("<section>\n<h2>{}</h2>\n", escaped(label));
    if (const std::string path = text_of(license, "path"); is_web_url(path)) {
      body += fmt::format("<p>Terms: <a href=\"{}\">{}</a></p>\n", escaped(path), escaped(path));
    }
    if (const std::string name = text_of(license, "name"); !name.empty()) {
      body += fmt::format("<p>Identifier: <code>{}</code></p>\n", escaped(name));
    }
    body += "<ul>\n";
    for (const auto& dataset : entry.second) {
      const std::string name =
          fmt::format("{} {}", text_of(dataset, "tessera:dataset"), text_of(dataset, "tessera:version"));
      body += fmt::format("<li><strong>{}</strong> ({})",
                          escaped(text_of(dataset, "title").empty() ? name : text_of(dataset, "title")), escaped(name));
      if (const std::string citation = text_of(dataset, "tessera:citation"); !citation.empty()) {
        body += fmt::format(": <cite>{}</cite>", escaped(citation));
      }
      body += "</li>\n";
    }
    body += "</ul>\n</section>\n";
  }
  body += "</main>\n";
  return page("Licences of " + title, body);
}

std::string boundary_thumbnail_png(const Geometry& boundary, int size) {
  gdal::ensure_initialized();
  const Bbox box = boundary.bbox();
  // Degrees of longitude shrink with latitude: scaled so shapes look right.
  const double x_scale = std::max(0.05, std::cos((box.miny + box.maxy) / 2 * std::numbers::pi / 180));
  const double margin = std::max({(box.maxx - box.minx) * x_scale, box.maxy - box.miny, 1e-6}) * 0.05;
  const double width_units = (box.maxx - box.minx) * x_scale + 2 * margin;
  const double height_units = box.maxy - box.miny + 2 * margin;
  const double longer = std::max(width_units, height_units);
  const int width = std::max(1, static_cast<int>(std::lround(size * width_units / longer)));
  const int height = std::max(1, static_cast<int>(std::lround(size * height_units / longer)));
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr image(mem->Create("", width, height, 4, GDT_Byte, nullptr));
  if (!image) {
    gdal::throw_last_error(ErrorCode::kInternal, "creating the thumbnail raster");
  }
  double transform[6] = {box.minx - margin / x_scale, width_units / x_scale / width, 0, box.maxy + margin, 0,
                         -height_units / height};
  image->SetGeoTransform(transform);
  const double background[4] = {244, 243, 238, 255};
  for (int band = 1; band <= 4; ++band) {
    image->GetRasterBand(band)->Fill(background[band - 1]);
  }
  int bands[4] = {1, 2, 3, 4};
  const auto burn = [&](const OGRGeometry& shape, const double(&colour)[4]) {
    OGRGeometryH handle = OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&shape));
    const char* options[] = {"ALL_TOUCHED=TRUE", nullptr};
    if (GDALRasterizeGeometries(GDALDataset::ToHandle(image.get()), 4, bands, 1, &handle, nullptr, nullptr, colour,
                                const_cast<char**>(options), nullptr, nullptr) != CE_None) {
      gdal::throw_last_error(ErrorCode::kInternal, "drawing the boundary thumbnail");
    }
  };
  burn(*boundary.ogr(), {120, 160, 200, 255});
  if (const std::unique_ptr<OGRGeometry> outline(boundary.ogr()->Boundary()); outline) {
    burn(*outline, {25, 60, 110, 255});
  }
  const std::string path = fmt::format("/vsimem/tessera-thumbnail-{}.png", new_job_id());
  GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
  GDALDatasetUniquePtr written(png->CreateCopy(path.c_str(), image.get(), FALSE, nullptr, nullptr, nullptr));
  if (!written) {
    gdal::throw_last_error(ErrorCode::kInternal, "writing the boundary thumbnail as PNG");
  }
  written.reset();
  vsi_l_offset length = 0;
  GByte* bytes = VSIGetMemFileBuffer(path.c_str(), &length, FALSE);
  if (bytes == nullptr) {
    throw Error(ErrorCode::kInternal, "the boundary thumbnail was not written");
  }
  std::string data(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(length));
  VSIUnlink(path.c_str());
  return data;
}

}  // namespace tessera::packaging
