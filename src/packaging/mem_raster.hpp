#pragma once

// In-memory GDAL rasters over buffers the caller owns. Internal header.

#include <fmt/format.h>
#include <gdal_priv.h>

#include "core/gdal_env.hpp"

namespace tessera::packaging {

// A MEM dataset of the given size without bands (add them with add_band_over).
inline GDALDatasetUniquePtr create_mem(int width, int height) {
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr dataset(mem->Create("", width, height, 0, GDT_Byte, nullptr));
  if (!dataset) {
    gdal::throw_last_error(ErrorCode::kInternal, "creating an in-memory raster");
  }
  return dataset;
}

// Adds a band of `type` over `data` (width x height values, row-major), which
// must outlive the dataset.
inline void add_band_over(GDALDataset& dataset, GDALDataType type, void* data) {
  const std::string pointer = fmt::format("DATAPOINTER={}", data);
  const char* options[] = {pointer.c_str(), nullptr};
  if (dataset.AddBand(type, const_cast<char**>(options)) != CE_None) {
    gdal::throw_last_error(ErrorCode::kInternal, "adding an in-memory band");
  }
}

}  // namespace tessera::packaging
