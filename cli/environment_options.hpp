#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tessera::cli {

// Gives every long option and flag of `command` an environment variable, for
// container deployments: `prefix` + the option's name upper-cased with '-'
// as '_' (--max-body-bytes: TESSERA_MAX_BODY_BYTES), unless the option
// already names its own variable. A flag given on the
// command line wins over its variable (CLI11 reads a variable only for an
// option the command line left out). Repeatable options take a
// comma-separated list (on the command line too). The help text names each
// variable.
void add_environment_variables(CLI::App& command, const std::string& prefix = "TESSERA_");

}  // namespace tessera::cli
