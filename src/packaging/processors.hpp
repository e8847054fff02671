#pragma once

// The built-in processors, registered in every Packager as "raster" and "vector". Internal header.

#include <memory>

#include "tessera/packaging.hpp"

namespace tessera::packaging {

std::shared_ptr<Processor> raster_processor();
std::shared_ptr<Processor> vector_processor();

}  // namespace tessera::packaging
