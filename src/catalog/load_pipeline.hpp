#pragma once

// The backends' half of the one load pipeline (Catalog::load_items,
// load_pipeline.cpp). The pipeline reads a batch of item texts, validates
// each (prepare_item) and runs the outbox hook on a preparation thread while
// the load thread writes the batch before it; it reports items that fail
// validation with their place in the source, counts progress, and hands
// every valid item to the backend. A backend supplies only what differs:
// the rows it builds from an item (preparation thread) and how a batch of
// them is written (load thread). Internal header.

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "catalog/stac.hpp"
#include "tessera/catalog.hpp"

namespace tessera::catalog {

// One batch of a load in the backend's form. Filled on the preparation
// thread, then written on the load thread: never used from two at once.
class LoadBatch {
 public:
  virtual ~LoadBatch() = default;
  // Property signatures this batch already has the property types of, for
  // prepare_item to skip listing them; nullptr lists them for every item.
  [[nodiscard]] virtual const std::unordered_set<std::uint64_t>* known_signatures() const { return nullptr; }
  // Takes one valid item (its outbox events attached). Throws tessera::Error
  // for an item the backend cannot store, leaving `item` as it was: the
  // pipeline reports the failure under the item's id with its place in the
  // source. An item refused for the catalog's state rather than its own
  // content (its collection does not exist) is returned as a failure instead
  // and reported as it is.
  virtual std::optional<LoadFailure> add(PreparedItem&& item) = 0;
  // Writes the batch. What cannot be written is reported, never thrown: a
  // bad item never costs the good ones of other batches.
  virtual LoadReport write() = 0;
};

// A backend's state for one load: made on the load thread before the first
// batch is read (outbox tables, caches), it lives until the preparation
// thread is done with it.
class LoadWriter {
 public:
  virtual ~LoadWriter() = default;
  // An empty batch for up to `items` items; called on the preparation thread.
  virtual std::unique_ptr<LoadBatch> new_batch(std::size_t items) = 0;
  // After the last batch is written, with the whole load's report (on the
  // load thread; not called when the load throws).
  virtual void finish(const LoadReport& /*report*/) {}
};

// The failure of an item whose collection is not in the catalog; both
// backends report it in these words.
LoadFailure unknown_collection(std::string_view id, std::string_view collection);

}  // namespace tessera::catalog
