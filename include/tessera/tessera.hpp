#pragma once

// Umbrella header for the C++ API.
#include "tessera/catalog.hpp"
#include "tessera/colormap.hpp"
#include "tessera/cql2.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"
#include "tessera/geometry.hpp"
#include "tessera/image.hpp"
#include "tessera/ingest.hpp"
#include "tessera/log.hpp"
#include "tessera/matching.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/packaging.hpp"
#include "tessera/raster_item.hpp"
#include "tessera/render.hpp"
#include "tessera/storage.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"
#include "tessera/version.hpp"

namespace tessera {

// The library's version, e.g. "0.1.0".
TESSERA_API const char* version() noexcept;

// Versions of the libraries tessera was built on, as {"gdal": ..., "proj": ..., ...}.
TESSERA_API nlohmann::json dependency_versions();

}  // namespace tessera
