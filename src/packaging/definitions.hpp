#pragma once

#include <string>
#include <string_view>

namespace tessera::packaging {

// A storage-safe, lower-case id for a name: letters and digits kept (ASCII),
// every other run of characters one '-' ("Côte d'Ivoire" -> "c-te-d-ivoire").
std::string slug(std::string_view name);

}  // namespace tessera::packaging
