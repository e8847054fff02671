// Packaging dataset definitions, and their to_json() round trip; the same
// text as a processor registry entry (a definition with metadata beside it).

#include "fuzz_support.hpp"
#include "tessera/packaging.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto definition = tessera::fuzz::as_json(data, size);
  if (!definition) {
    return 0;
  }
  tessera::fuzz::accepted([&] {
    const auto dataset = tessera::DatasetDefinition::from_json(*definition);
    const auto document = dataset.to_json();
    if (!tessera::fuzz::accepted([&] { (void)tessera::DatasetDefinition::from_json(document); })) {
      tessera::fuzz::finding("to_json() of an accepted dataset rejected", document.dump().c_str());
    }
  });
  tessera::fuzz::accepted([&] { (void)tessera::RegisteredProcessor::from_json(*definition).metadata_json(); });
  return 0;
}
