// The map viewer of tessera's service: a mosaic of a registered catalog
// search (or one COG) over a local base layer, with colormap, rescale and
// date-range controls and point values on click. Everything comes from the
// service; the page loads nothing from elsewhere. The page is served at
// <service>/viewer/ and the routes it calls at <service>/, so every URL is
// relative to the page's parent (which also holds behind a proxy's prefix).
//
// Page parameters (all optional): collection, assets (default "data"),
// url (a COG instead of a mosaic), colormap_name, rescale=min,max,
// start/end (dates), center=lon,lat, zoom.
import * as maplibregl from "maplibre-gl";
import "./style.css";

const page = new URLSearchParams(window.location.search);
// The service's root: the folder above the page's (/viewer/).
const apiRoot = new URL("../", window.location.href);
const api = (path) => new URL(path, apiRoot).href;
const assets = page.get("assets") || "data";
const cogUrl = page.get("url");
const expression = page.get("expression"); // band math, e.g. an index over two bands
const [rescaleMin, rescaleMax] = (page.get("rescale") || "0,255").split(",");
const center = (page.get("center") || "0,20").split(",").map(Number);

const controls = {
  colormap: document.getElementById("colormap"),
  rescaleMin: document.getElementById("rescale-min"),
  rescaleMax: document.getElementById("rescale-max"),
  start: document.getElementById("start"),
  end: document.getElementById("end"),
  status: document.getElementById("status"),
};
controls.rescaleMin.value = rescaleMin;
controls.rescaleMax.value = rescaleMax;
controls.start.value = page.get("start") || "";
controls.end.value = page.get("end") || "";

// What the test (and a curious user in the console) can look at.
const viewer = { searchId: null, tileErrors: 0, tilesLoaded: 0 };
window.viewer = viewer;

function setStatus(text) {
  controls.status.textContent = text;
}

async function fetchJson(url, options) {
  const response = await fetch(url, options);
  const body = await response.json();
  if (!response.ok) {
    // The service's errors: {"code", "description"}.
    throw new Error(`${response.status}: ${body.description ?? body.detail}`);
  }
  return body;
}

// A search over the page's collection and date range, registered on the
// server; a new date range is a new search (and a new id).
async function registerSearch() {
  const search = { metadata: { name: "viewer" } };
  const collection = page.get("collection");
  if (collection) {
    search.collections = [collection];
  }
  const start = controls.start.value ? `${controls.start.value}T00:00:00Z` : "..";
  const end = controls.end.value ? `${controls.end.value}T23:59:59Z` : "..";
  if (start !== ".." || end !== "..") {
    search.datetime = `${start}/${end}`;
  }
  const registered = await fetchJson(api("searches/register"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(search),
  });
  return registered.id;
}

function renderQuery() {
  const query = new URLSearchParams();
  query.set("rescale", `${controls.rescaleMin.value},${controls.rescaleMax.value}`);
  query.set("colormap_name", controls.colormap.value);
  if (cogUrl) {
    query.set("url", cogUrl);
  } else {
    query.set("assets", assets);
  }
  if (expression) {
    query.set("expression", expression);
  }
  return query.toString();
}

function tileUrl() {
  const path = cogUrl ? "cog/tiles" : `searches/${viewer.searchId}/tiles`;
  // Braces are kept as they are: MapLibre fills them in.
  return `${apiRoot.href}${path}/WebMercatorQuad/{z}/{x}/{y}.png?${renderQuery()}`;
}

const map = new maplibregl.Map({
  container: "map",
  center,
  zoom: Number(page.get("zoom") || 2),
  // Keeps the last frame readable, so the test can compare pixels.
  canvasContextAttributes: { preserveDrawingBuffer: true },
  style: {
    version: 8,
    sources: { basemap: { type: "geojson", data: api("basemap.geojson") } },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#dfe6ec" } },
      { id: "basemap-fill", type: "fill", source: "basemap", filter: ["==", "$type", "Polygon"], paint: { "fill-color": "#f4f1ea" } },
      { id: "basemap-lines", type: "line", source: "basemap", paint: { "line-color": "#8a96a3", "line-width": 0.7 } },
    ],
  },
});
viewer.map = map;

// The layer is being replaced from changeLayer() until showLayer() has put
// the new one in; the map is ready once that layer's tiles have all loaded.
let layerPending = true;
viewer.isReady = () => !layerPending && map.loaded() && map.isSourceLoaded("imagery");

function changeLayer() {
  layerPending = true;
}

function showLayer() {
  if (map.getLayer("imagery")) {
    map.removeLayer("imagery");
    map.removeSource("imagery");
  }
  map.addSource("imagery", { type: "raster", tiles: [tileUrl()], tileSize: 256 });
  // No fade-in, so a loaded map shows the new tiles at once.
  map.addLayer({ id: "imagery", type: "raster", source: "imagery", paint: { "raster-fade-duration": 0 } });
  layerPending = false;
}

map.on("idle", () => {
  if (viewer.isReady()) {
    setStatus(`${viewer.tilesLoaded} tiles, ${viewer.tileErrors} errors${viewer.searchId ? `, search ${viewer.searchId.slice(0, 8)}` : ""}`);
  }
});

async function apply(event) {
  event?.preventDefault();
  changeLayer();
  try {
    if (!cogUrl) {
      viewer.searchId = await registerSearch();
    }
    showLayer();
  } catch (error) {
    setStatus(String(error));
  }
}

map.on("sourcedata", (event) => {
  if (event.sourceId === "imagery" && event.tile) {
    viewer.tilesLoaded += 1;
  }
});
map.on("error", (event) => {
  viewer.tileErrors += 1;
  setStatus(String(event.error?.message || event.error));
});

function pointUrl(lngLat) {
  const where = `${lngLat.lng.toFixed(6)},${lngLat.lat.toFixed(6)}`;
  return cogUrl
    ? api(`cog/point/${where}?url=${encodeURIComponent(cogUrl)}`)
    : api(`searches/${viewer.searchId}/point/${where}?assets=${encodeURIComponent(assets)}`);
}

// A table of "band: value" for a COG, "item band: value" for a mosaic (as
// text nodes: item ids come from the catalog, not from this page).
function pointTable(body) {
  const rows = cogUrl
    ? body.values.map((value, band) => [body.band_names[band], value])
    : body.values.flatMap((item) => item.values.map((value, band) => [`${item.id} ${item.band_names[band]}`, value]));
  const table = document.createElement("table");
  table.className = "point-values";
  for (const [name, value] of rows) {
    const row = table.insertRow();
    row.insertCell().textContent = name;
    row.insertCell().textContent = value ?? "no data";
  }
  if (rows.length === 0) {
    table.insertRow().insertCell().textContent = "No data here";
  }
  return table;
}

map.on("click", async (event) => {
  const popup = new maplibregl.Popup().setLngLat(event.lngLat).setText("…").addTo(map);
  try {
    popup.setDOMContent(pointTable(await fetchJson(pointUrl(event.lngLat))));
  } catch (error) {
    popup.setText(error.message);
  }
});

controls.colormap.addEventListener("change", () => {
  changeLayer();
  showLayer();
});
document.getElementById("controls").addEventListener("submit", apply);

map.on("load", async () => {
  const { colorMaps } = await fetchJson(api("colormaps"));
  for (const name of colorMaps) {
    controls.colormap.add(new Option(name, name));
  }
  controls.colormap.value = page.get("colormap_name") || "viridis";
  await apply();
});
