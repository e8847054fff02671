#pragma once

// Command-line geoprocessing services: a program run without a shell, the
// sketch as JSON on its stdin, the result as JSON on its stdout, stderr lines
// in the task's log, killed (its whole process group) after the timeout.
// Internal header.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/geoprocessing.hpp"

namespace tessera::service {

// The program's JSON output. Io when it cannot start, exits non-zero (its
// last stderr line in the message), or writes more than the limit or no JSON;
// Unavailable when it timed out or the run was abandoned.
nlohmann::json run_command(const std::vector<std::string>& argv, const nlohmann::json& input, double timeout_seconds,
                           const CommandLimits& limits, const GeoprocessingContext& context);

}  // namespace tessera::service
