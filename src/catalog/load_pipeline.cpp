// The one load pipeline every backend's load runs through (see load_pipeline.hpp).

#include "catalog/load_pipeline.hpp"

#include <future>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera {

namespace {

// One batch after preparation: the backend's rows and what failed before
// reaching them.
struct PreparedBatch {
  std::size_t count = 0;  // items read, good and bad
  std::unique_ptr<catalog::LoadBatch> rows;
  std::vector<LoadFailure> failed;
};

// Reads, validates and hands to the backend the next batch of `source`;
// nullopt when the source is exhausted.
std::optional<PreparedBatch> prepare_batch(Catalog::ItemSource& source, const LoadOptions& options,
                                           catalog::LoadWriter& writer) {
  std::vector<Catalog::ItemText> texts;
  if (!source.next(texts, options.batch_size)) {
    return std::nullopt;
  }
  PreparedBatch batch;
  batch.count = texts.size();
  batch.rows = writer.new_batch(texts.size());
  for (auto& text : texts) {
    catalog::PreparedItem item;
    try {
      // Validation is tessera's, the same for every backend, so they accept
      // and reject the same items with the same messages.
      item = catalog::prepare_item(std::move(text.text), batch.rows->known_signatures());
      if (options.outbox) {
        item.outbox_events = options.outbox(item.content);
      }
      if (auto refused = batch.rows->add(std::move(item))) {
        batch.failed.push_back(std::move(*refused));
      }
    } catch (const Error& error) {
      // prepare_item keeps the text of an item it rejects; an item that
      // passed it holds its text and names itself (add leaves it intact).
      auto [id, collection] =
          item.id.empty() ? catalog::item_identity(text.text) : std::make_pair(item.id, item.collection);
      const std::string where = text.line > 0 ? fmt::format("{} line {}: ", source.name(), text.line) : std::string();
      batch.failed.push_back({std::move(id), std::move(collection), where + error.what()});
    }
  }
  return batch;
}

}  // namespace

LoadReport Catalog::load_items(ItemSource& source, const LoadOptions& options) {
  if (options.batch_size == 0) {
    throw Error(ErrorCode::kInvalidInput, "load: batch_size must be at least 1");
  }
  const std::unique_ptr<catalog::LoadWriter> writer = load_writer(options);
  // Reading and preparing the next batch run on a second thread while this
  // one writes the current batch: the two halves of a load take similar
  // time. Only one preparation runs at a time, so the source is never read
  // from two threads at once. `next` is declared after `writer`, so a load
  // that throws waits for the preparation before the writer goes.
  auto prepare_next = [&source, &options, &writer] { return prepare_batch(source, options, *writer); };
  LoadReport report;
  std::size_t processed = 0;
  auto next = std::async(std::launch::async, prepare_next);
  for (;;) {
    std::optional<PreparedBatch> batch = next.get();
    if (!batch) {
      break;
    }
    next = std::async(std::launch::async, prepare_next);
    report.failed.insert(report.failed.end(), batch->failed.begin(), batch->failed.end());
    report.merge(batch->rows->write());
    processed += batch->count;
    if (options.progress) {
      options.progress(processed);
    }
  }
  writer->finish(report);
  return report;
}

namespace catalog {

LoadFailure unknown_collection(std::string_view id, std::string_view collection) {
  return {std::string(id), std::string(collection),
          fmt::format("item '{}': collection '{}' does not exist in the catalog", id, collection)};
}

}  // namespace catalog

}  // namespace tessera
