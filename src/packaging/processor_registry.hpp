#pragma once

// The processor registry: dataset versions a package can be asked for by
// name, with their metadata. Internal header.

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/packaging.hpp"

namespace tessera::packaging {

// Thread-safe.
class ProcessorRegistry {
 public:
  void add(RegisteredProcessor processor);
  // All entries checked first (errors name "processors[i]"), then added.
  nlohmann::json add_json(const nlohmann::json& entries);
  [[nodiscard]] nlohmann::json list() const;
  [[nodiscard]] RegisteredProcessor get(std::string_view name) const;
  [[nodiscard]] std::vector<DatasetDefinition> definitions(const std::vector<std::string>& names) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, RegisteredProcessor, std::less<>> processors_;
};

// "<dataset>/<version>" checked for its form; InvalidInput naming `where`.
void check_processor_name(std::string_view name, std::string_view where);

}  // namespace tessera::packaging
