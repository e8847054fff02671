#pragma once

// Small rasters written for tests.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

namespace tessera::testing {

// A one-band uint8 GeoTIFF filled with `value`: `width` x `height` pixels on
// the grid `transform` (GDAL's geotransform) in EPSG:`epsg`.
inline std::string write_filled_raster(const std::filesystem::path& path, int width, int height,
                                       const std::array<double, 6>& transform, int epsg, std::uint8_t value,
                                       std::optional<double> nodata = std::nullopt) {
  GDALAllRegister();
  GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
  GDALDatasetUniquePtr dataset(gtiff->Create(path.c_str(), width, height, 1, GDT_Byte, nullptr));
  std::array<double, 6> grid = transform;
  dataset->SetGeoTransform(grid.data());
  OGRSpatialReference crs;
  crs.importFromEPSG(epsg);
  dataset->SetSpatialRef(&crs);
  std::vector<std::uint8_t> values(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), value);
  EXPECT_EQ(
      dataset->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, width, height, values.data(), width, height, GDT_Byte, 0, 0),
      CE_None);
  if (nodata) {
    dataset->GetRasterBand(1)->SetNoDataValue(*nodata);
  }
  return path.string();
}

}  // namespace tessera::testing
