// Queue messages as the ingest worker reads them (an Item or FeatureCollection
// body, an S3 event, an SNS envelope, a dead-letter record), and the split of
// a fetched file or object into item texts.

#include <string>

#include "fuzz_support.hpp"
#include "ingest/ingest_internal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = tessera::fuzz::as_text(data, size);
  tessera::fuzz::accepted([&] { (void)tessera::ingestion::unit_of_message(std::string(text), "message 1"); });
  tessera::fuzz::accepted([&] { (void)tessera::ingestion::split_items(text); });
  return 0;
}
