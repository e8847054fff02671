#pragma once

#include <string>
#include <vector>

#include "ingest/ingest_internal.hpp"

namespace tessera::ingestion {

// Writes one record per failure to `sink` (a path ending in .ndjson is
// appended to; anything else is a storage URI or folder getting one JSON
// object per record) and returns how many were written. A record is
// {"tessera_dead_letter": 1, "source", "error", "message"}: ingest_messages
// replays it by processing "message" again.
std::size_t write_dead_letters(const std::string& sink, const StorageOptions& storage_options,
                               const std::vector<Unit>& units, const std::vector<IngestResult>& results);

}  // namespace tessera::ingestion
