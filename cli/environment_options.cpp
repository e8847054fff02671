#include "environment_options.hpp"

#include <cctype>

namespace tessera::cli {

void add_environment_variables(CLI::App& command, const std::string& prefix) {
  for (CLI::Option* option : command.get_options()) {
    const std::vector<std::string>& names = option->get_lnames();
    // An option given its own variable keeps it.
    if (names.empty() || names.front() == "help" || !option->get_envname().empty()) {
      continue;
    }
    std::string variable = prefix;
    for (const char c : names.front()) {
      variable += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (option->get_items_expected_max() > 1) {
      option->delimiter(',');
    }
    option->envname(variable);
  }
}

}  // namespace tessera::cli
