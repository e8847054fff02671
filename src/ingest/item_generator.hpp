#pragma once

// Raw uploads become items: which objects are rasters, and the item
// generators (built-in, host command, host callable) that make their items.
// Internal header.

#include <string>
#include <string_view>
#include <vector>

#include "tessera/ingest.hpp"

namespace tessera::ingestion {

// Whether the generator takes the object `uri` by its name: a raster
// extension, and not under the generator's own COG prefix.
bool is_raster_name(std::string_view uri, const ItemGeneratorOptions& options);
// Whether `uri` has no extension (its leading bytes then decide).
bool has_no_extension(std::string_view uri);
// TIFF, BigTIFF or JPEG 2000 leading bytes.
bool has_raster_signature(std::string_view leading_bytes);
// How many leading bytes has_raster_signature looks at.
inline constexpr std::size_t kSignatureBytes = 12;

// Whether `uri` lies under the built-in generator's COG prefix (its outputs).
bool is_generated_cog(std::string_view uri, const ItemGeneratorOptions& options);

// The item-like JSON every generator starts from: an id from the file name,
// the configured collection, a "data" asset whose href is `uri` (with
// file:size when known).
nlohmann::json item_stub(const std::string& uri, std::int64_t size, const ItemGeneratorOptions& options);

// The item texts the configured generator makes of the raster at `uri`.
// InvalidInput for a generator that fails for good (bad output, non-zero
// exit); Unavailable for a command that timed out.
std::vector<std::string> generate_items(const std::string& uri, std::int64_t size, const IngestOptions& options);

}  // namespace tessera::ingestion
