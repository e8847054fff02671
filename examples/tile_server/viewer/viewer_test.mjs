// Drives the viewer in headless Chromium (playwright-core from npm, Debian's
// chromium): `tessera serve` runs on loopback over generated sample data and
// serves the viewer at /viewer/, the tile routes at the root; tiles
// must load without HTTP or console errors, the map must not be blank,
// another colormap must change the pixels, a date range must re-register the
// search, and a click must show point values. Saves a screenshot.
//
// node viewer_test.mjs --server TESSERA_CLI --viewer-dir DIR --sample-data-writer BIN --chromium BIN --work DIR
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: args } = parseArgs({
  options: {
    server: { type: "string" },
    "viewer-dir": { type: "string" },
    "sample-data-writer": { type: "string" },
    chromium: { type: "string" },
    work: { type: "string" },
  },
});

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

// Starts the server on a free port and resolves with its base URL.
function startServer(dataFolder, catalogUri) {
  const server = spawn(
    args.server,
    ["serve", "--catalog", catalogUri, "--allowed-root", dataFolder, "--port", "0", "--threads", "4",
      "--viewer-dir", args["viewer-dir"], "--no-browser"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    server.on("exit", (code) => reject(new Error(`tessera serve exited with ${code}`)));
    server.stdout.on("data", (chunk) => {
      // The first line is the base URL.
      const match = /^(http:\/\/[^\s]+?)\/$/m.exec(String(chunk));
      if (match) {
        resolve({ server, baseUrl: match[1] });
      }
    });
  });
}

// Statistics of the map canvas: how many pixels differ from the background,
// and a fingerprint of the pixels, read in the page.
async function canvasPixels(page) {
  return page.evaluate(() => {
    const source = window.viewer.map.getCanvas();
    const copy = document.createElement("canvas");
    copy.width = source.width;
    copy.height = source.height;
    const context = copy.getContext("2d");
    context.drawImage(source, 0, 0);
    const { data } = context.getImageData(0, 0, copy.width, copy.height);
    let painted = 0;
    let fingerprint = 0;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) {
      // The background is #dfe6ec.
      if (Math.abs(data[i] - 0xdf) + Math.abs(data[i + 1] - 0xe6) + Math.abs(data[i + 2] - 0xec) > 24) {
        painted += 1;
      }
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      fingerprint = (fingerprint * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) >>> 0;
    }
    return { painted, total: data.length / 4, colours: colours.size, fingerprint };
  });
}

async function waitForTiles(page, problems) {
  try {
    await page.waitForFunction(() => window.viewer?.isReady?.() === true, null, { timeout: 60000, polling: 100 });
  } catch (error) {
    const state = await page.evaluate(() => ({
      status: document.getElementById("status").textContent,
      searchId: window.viewer.searchId,
      tilesLoaded: window.viewer.tilesLoaded,
      loaded: window.viewer.map.loaded(),
    }));
    throw new Error(`the map did not finish loading: ${JSON.stringify(state)}\n${problems.join("\n")}`, { cause: error });
  }
}

const dataFolder = join(args.work, "data");
mkdirSync(args.work, { recursive: true });
const catalogUri = execFileSync(args["sample-data-writer"], [dataFolder], { encoding: "utf8" }).trim();
const { server, baseUrl } = await startServer(dataFolder, catalogUri);
const browser = await chromium.launch({
  executablePath: args.chromium,
  // WebGL through SwiftShader: CI machines have no GPU.
  args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  page.on("console", (message) => {
    // Chromium logs every 404 as a console error; tiles without data are
    // expected (see below).
    const emptyTile = message.text().includes("404") && message.location().url.includes("/tiles/");
    if (message.type() === "error" && !emptyTile) {
      problems.push(`console error: ${message.text()} (${message.location().url})`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  const tileRequests = [];
  page.on("response", (response) => {
    const url = response.url();
    check(url.startsWith(baseUrl) || url.startsWith("blob:") || url.startsWith("data:"), `request outside the server: ${url}`);
    if (url.includes("/tiles/")) {
      tileRequests.push(url);
    }
    // Tiles beside the scenes have no data: the server answers 404, as TiTiler does.
    if (response.status() >= 400 && !(response.status() === 404 && url.includes("/tiles/"))) {
      problems.push(`HTTP ${response.status()} for ${url}`);
    }
  });

  await page.goto(`${baseUrl}/viewer/?collection=sample&assets=data&rescale=0,255&colormap_name=viridis&center=11,45.75&zoom=7`);
  await waitForTiles(page, problems);
  const firstSearch = await page.evaluate(() => window.viewer.searchId);
  check(tileRequests.length > 0, "no tile was requested");
  const viridis = await canvasPixels(page);
  console.log(`viridis: ${viridis.painted}/${viridis.total} pixels painted, ${viridis.colours} colours`);
  check(viridis.painted > viridis.total * 0.05, "the map canvas is blank");
  check(viridis.colours > 20, "the map shows too few colours for imagery");

  await page.selectOption("#colormap", "magma");
  await waitForTiles(page, problems);
  const magma = await canvasPixels(page);
  check(magma.fingerprint !== viridis.fingerprint, "changing the colormap did not change the pixels");
  check(tileRequests.some((url) => url.includes("colormap_name=magma")), "no tile was requested with the new colormap");

  // June only: a new search, fewer scenes painted.
  await page.fill("#start", "2024-06-01");
  await page.fill("#end", "2024-06-30");
  await page.click("#apply");
  await waitForTiles(page, problems);
  const juneSearch = await page.evaluate(() => window.viewer.searchId);
  check(juneSearch && juneSearch !== firstSearch, "the date range did not register a new search");
  const june = await canvasPixels(page);
  check(june.painted < magma.painted, "the June-only mosaic does not paint less than all scenes");

  const box = await page.locator("#map canvas").boundingBox();
  await page.mouse.click(box.x + box.width / 2 - 60, box.y + box.height / 2);
  const popup = page.locator(".maplibregl-popup-content table");
  await popup.waitFor({ timeout: 20000 });
  const popupText = await popup.innerText();
  check(/scene-june\s+data_b1\s+\d+/.test(popupText), `the popup shows no point value: ${popupText}`);

  const screenshot = join(args.work, "viewer.png");
  await page.screenshot({ path: screenshot });
  console.log(`screenshot: ${screenshot}`);
  check(problems.length === 0, `problems in the page:\n${problems.join("\n")}`);
  console.log(`viewer test passed (${tileRequests.length} tile requests)`);
} finally {
  await browser.close();
  server.kill("SIGTERM");
}
