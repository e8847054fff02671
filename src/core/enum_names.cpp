#include "core/enum_names.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tessera::core {

void throw_unknown_name(std::string_view what, std::string_view name, const std::vector<std::string>& accepted) {
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("unknown {} '{}' (one of: {})", what, name, fmt::join(accepted, ", ")));
}

}  // namespace tessera::core
