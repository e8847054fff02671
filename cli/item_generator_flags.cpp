#include "item_generator_flags.hpp"

#include <sstream>

#include "tessera/error.hpp"

namespace tessera::cli {

void add_generator_flags(CLI::App* command, GeneratorArgs& args) {
  command
      ->add_option("--item-generator", args.kind,
                   "What makes items of raster objects: builtin (create_item, COG into --cog-prefix), command "
                   "(--item-command) or none")
      ->check(CLI::IsMember({"none", "builtin", "command"}));
  command->add_option("--item-collection", args.collection, "Collection of the generated items");
  command->add_option(
      "--cog-prefix", args.cog_prefix,
      "builtin: storage URI or folder the COGs are written to (default: the item points at the upload)");
  command->add_option("--item-command", args.command,
                      "command: the program and its arguments, a JSON array of strings or words split at whitespace "
                      "(no shell); it gets the object URI as last argument, the item-like JSON on stdin, and prints "
                      "the item");
  command->add_option("--item-command-timeout", args.timeout, "Seconds before the item command is killed")
      ->check(CLI::Range(1.0, 86400.0));
  command->add_flag("--item-statistics", args.statistics, "builtin: per-band statistics in the items");
}

ItemGeneratorOptions generator_of(const GeneratorArgs& args) {
  nlohmann::json settings = {{"kind", args.kind},
                             {"collection", args.collection},
                             {"cog_prefix", args.cog_prefix},
                             {"timeout_seconds", args.timeout},
                             {"statistics", args.statistics}};
  if (!args.command.empty()) {
    nlohmann::json argv = nlohmann::json::parse(args.command, nullptr, false);
    if (!args.command.starts_with("[")) {
      argv = nlohmann::json::array();
      std::istringstream words(args.command);
      for (std::string word; words >> word;) {
        argv.push_back(word);
      }
    } else if (argv.is_discarded()) {
      throw Error(ErrorCode::kInvalidInput, "--item-command starts with '[' but is not a JSON array");
    }
    settings["command"] = argv;
  }
  return ItemGeneratorOptions::from_json(settings);
}

}  // namespace tessera::cli
