// The queue loader: receive a batch (long polls), hold it invisible while it
// loads, then delete, leave or dead-letter each message by its outcome.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "ingest/dead_letter.hpp"
#include "ingest/ingest_internal.hpp"
#include "ingest/source_records.hpp"
#include "storage/aws_messaging.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"
#include "tessera/log.hpp"

namespace tessera {

using nlohmann::json;
using storage::aws::BatchEntry;
using storage::aws::QueueMessage;
using storage::aws::SqsClient;

json LoaderReport::to_json() const {
  return {{"batches", batches},
          {"received", received},
          {"deleted", deleted},
          {"retried", retried},
          {"dead_lettered", dead_lettered},
          {"loaded", loaded},
          {"skipped", skipped},
          {"removed", removed},
          {"failed", failed}};
}

void LoaderReport::merge(const LoaderReport& other) {
  batches += other.batches;
  received += other.received;
  deleted += other.deleted;
  retried += other.retried;
  dead_lettered += other.dead_lettered;
  loaded += other.loaded;
  skipped += other.skipped;
  removed += other.removed;
  failed += other.failed;
}

namespace {

std::map<std::string, std::string> string_object(const json& value, const std::string& where) {
  if (!value.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("loader options: '{}' must be an object of strings", where));
  }
  std::map<std::string, std::string> parsed;
  for (const auto& member : value.items()) {
    if (!member.value().is_string()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("loader options: '{}.{}' must be a string", where, member.key()));
    }
    parsed[member.key()] = member.value().get<std::string>();
  }
  return parsed;
}

}  // namespace

LoaderOptions LoaderOptions::from_json(const json& options) {
  if (!options.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "loader options must be a JSON object");
  }
  LoaderOptions parsed;
  const auto typed = [](const json& value, const std::string& name, auto& target, const char* kind, bool ok) {
    if (!ok) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("loader options: '{}' must be {}", name, kind));
    }
    target = value.get<std::remove_reference_t<decltype(target)>>();
  };
  for (const auto& member : options.items()) {
    const std::string& name = member.key();
    const json& value = member.value();
    // A non-negative integer, however it was stored (JSON text parses it as
    // unsigned, a Python int converts to a signed one).
    const bool count = value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
    if (name == "queue_url") {
      typed(value, name, parsed.queue_url, "a string", value.is_string());
    } else if (name == "dead_letter_queue_url") {
      typed(value, name, parsed.dead_letter_queue_url, "a string", value.is_string());
    } else if (name == "batch_size") {
      typed(value, name, parsed.batch_size, "a positive integer", count);
      parsed.ingest.batch_size = parsed.batch_size;
    } else if (name == "batch_window_seconds") {
      typed(value, name, parsed.batch_window_seconds, "a number", value.is_number());
    } else if (name == "max_receive_count") {
      typed(value, name, parsed.max_receive_count, "a non-negative integer", count);
    } else if (name == "concurrency") {
      typed(value, name, parsed.concurrency, "a positive integer", count);
    } else if (name == "until_empty") {
      typed(value, name, parsed.until_empty, "true or false", value.is_boolean());
    } else if (name == "wait_seconds") {
      typed(value, name, parsed.wait_seconds, "an integer", value.is_number_integer());
    } else if (name == "visibility_timeout_seconds") {
      typed(value, name, parsed.visibility_timeout_seconds, "an integer", value.is_number_integer());
    } else if (name == "queue_options") {
      parsed.queue_options = string_object(value, name);
    } else if (name == "mode") {
      if (!value.is_string()) {
        throw Error(ErrorCode::kInvalidInput, "loader options: 'mode' must be a string");
      }
      parsed.ingest.mode = load_mode_from_name(value.get<std::string>());
    } else if (name == "dead_letter") {
      typed(value, name, parsed.ingest.dead_letter, "a string", value.is_string());
    } else if (name == "storage_options") {
      parsed.ingest.storage_options = string_object(value, name);
    } else if (name == "max_message_bytes") {
      typed(value, name, parsed.ingest.max_message_bytes, "a positive integer", count);
    } else if (name == "max_object_bytes") {
      typed(value, name, parsed.ingest.max_object_bytes, "a positive integer", count);
    } else if (name == "parallel_fetches") {
      typed(value, name, parsed.ingest.parallel_fetches, "a positive integer", count);
    } else if (name == "tombstone_removed") {
      typed(value, name, parsed.ingest.tombstone_removed, "true or false", value.is_boolean());
    } else if (name == "item_generator") {
      parsed.ingest.item_generator = ItemGeneratorOptions::from_json(value);
    } else {
      throw Error(ErrorCode::kInvalidInput, fmt::format("loader options: unknown member '{}'", name));
    }
  }
  return parsed;
}

namespace {

// SQS caps a message (body and attributes) at 256 KiB by default: the reason
// attached to a dead letter is kept well under it.
constexpr std::size_t kMaxReasonBytes = 8192;

void check_options(const LoaderOptions& options) {
  const auto fail = [](const std::string& what) { throw Error(ErrorCode::kInvalidInput, "loader: " + what); };
  if (options.queue_url.empty()) {
    fail("a queue URL is required");
  }
  if (options.batch_size < 1 || options.batch_size > 100000) {
    fail(fmt::format("batch size {} is outside 1..100000", options.batch_size));
  }
  if (!(options.batch_window_seconds >= 0 && options.batch_window_seconds <= 3600)) {
    fail(fmt::format("batch window {} s is outside 0..3600", options.batch_window_seconds));
  }
  if (options.concurrency < 1 || options.concurrency > 64) {
    fail(fmt::format("concurrency {} is outside 1..64", options.concurrency));
  }
  if (options.wait_seconds < 1 || options.wait_seconds > 20) {
    fail(fmt::format("long-poll wait {} s is outside 1..20", options.wait_seconds));
  }
  if (options.visibility_timeout_seconds < 10 || options.visibility_timeout_seconds > 43200) {
    fail(fmt::format("visibility timeout {} s is outside 10..43200", options.visibility_timeout_seconds));
  }
  if (options.ingest.batch_size == 0) {
    fail("ingest batch size must be at least 1");
  }
}

std::string truncated(std::string text, std::size_t limit) {
  if (text.size() > limit) {
    text.resize(limit);
    text += "...";
  }
  return text;
}

// Keeps a batch's messages invisible while it loads: every third of the
// visibility timeout, their timeout starts again.
class VisibilityKeeper {
 public:
  VisibilityKeeper(SqsClient& sqs, const std::string& queue_url, const std::vector<QueueMessage>& messages, int seconds)
      : sqs_(sqs), queue_url_(queue_url), messages_(messages), seconds_(seconds) {
    thread_ = std::thread([this] { run(); });
  }
  ~VisibilityKeeper() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  VisibilityKeeper(const VisibilityKeeper&) = delete;
  VisibilityKeeper& operator=(const VisibilityKeeper&) = delete;

 private:
  void run() {
    const auto period = std::chrono::milliseconds(seconds_ * 1000 / 3);
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return done_; })) {
      lock.unlock();
      extend();
      lock.lock();
    }
  }
  void extend() {
    for (std::size_t start = 0; start < messages_.size(); start += storage::aws::kMaxBatchEntries) {
      std::vector<BatchEntry> entries;
      for (std::size_t n = start; n < std::min(messages_.size(), start + storage::aws::kMaxBatchEntries); ++n) {
        entries.push_back({std::to_string(n), messages_[n].receipt_handle});
      }
      try {
        const auto refused = sqs_.change_visibility_batch(queue_url_, entries, seconds_);
        if (!refused.empty()) {
          log(LogLevel::kWarning, fmt::format("loader: {} messages' visibility could not be extended ({}: {})",
                                              refused.size(), refused.front().code, refused.front().message));
        }
      } catch (const Error& error) {
        // A message that becomes visible again is loaded twice, which is harmless (idempotent).
        log(LogLevel::kWarning, fmt::format("loader: extending visibility failed: {}", error.what()));
      }
    }
  }

  SqsClient& sqs_;
  const std::string& queue_url_;
  const std::vector<QueueMessage>& messages_;
  int seconds_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

class Loader {
 public:
  Loader(Catalog& catalog, const LoaderOptions& options)
      : catalog_(catalog),
        options_(options),
        sqs_(storage::aws::messaging_settings("sqs", options.queue_options, options.queue_url)),
        records_(ingestion::SourceRecords::open(catalog)) {}

  LoaderReport run() {
    std::vector<std::future<LoaderReport>> workers;
    for (std::size_t n = 0; n < options_.concurrency; ++n) {
      workers.push_back(std::async(std::launch::async, [this] { return work(); }));
    }
    LoaderReport total;
    std::exception_ptr first_error;
    for (auto& worker : workers) {
      try {
        total.merge(worker.get());
      } catch (...) {
        stopping_ = true;  // the other workers finish their batch and return
        first_error = first_error ? first_error : std::current_exception();
      }
    }
    if (first_error) {
      std::rethrow_exception(first_error);
    }
    return total;
  }

 private:
  bool stop_requested() {
    if (!stopping_ && options_.stop && options_.stop()) {
      stopping_ = true;
    }
    return stopping_;
  }

  LoaderReport work() {
    LoaderReport total;
    while (!stop_requested()) {
      std::vector<QueueMessage> batch = collect();
      if (batch.empty()) {
        if (options_.until_empty) {
          break;
        }
        continue;
      }
      const LoaderReport report = process(batch);
      if (options_.on_batch) {
        std::lock_guard lock(callback_mutex_);
        options_.on_batch(report.to_json());
      }
      total.merge(report);
    }
    return total;
  }

  // Up to batch_size messages: a long poll for the first, then more for at
  // most batch_window_seconds, until the queue has none at hand.
  std::vector<QueueMessage> collect() {
    std::vector<QueueMessage> batch;
    const auto receive = [&](int wait) {
      const int want = static_cast<int>(std::min<std::size_t>(10, options_.batch_size - batch.size()));
      auto messages = sqs_.receive(options_.queue_url, want, wait, options_.visibility_timeout_seconds);
      for (auto& message : messages) {
        batch.push_back(std::move(message));
      }
      return !messages.empty();
    };
    if (!receive(options_.wait_seconds)) {
      return batch;
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<std::int64_t>(options_.batch_window_seconds * 1000));
    while (batch.size() < options_.batch_size && std::chrono::steady_clock::now() < deadline) {
      if (!receive(0)) {
        break;
      }
    }
    return batch;
  }

  LoaderReport process(const std::vector<QueueMessage>& batch) {
    LoaderReport report;
    report.batches = 1;
    report.received = batch.size();
    VisibilityKeeper keeper(sqs_, options_.queue_url, batch, options_.visibility_timeout_seconds);
    std::vector<std::size_t> done;                          // messages to delete
    std::vector<std::pair<std::size_t, std::string>> dead;  // messages to dead-letter, with the reason
    std::vector<ingestion::Unit> units;
    std::vector<std::size_t> unit_message;  // the message of each unit
    for (std::size_t n = 0; n < batch.size(); ++n) {
      const QueueMessage& message = batch[n];
      const std::string label = fmt::format("message {}", message.message_id);
      if (options_.max_receive_count > 0 && message.receive_count > options_.max_receive_count) {
        dead.emplace_back(n, fmt::format("received {} times, more than the max receive count ({})",
                                         message.receive_count, options_.max_receive_count));
        continue;
      }
      if (message.body.size() > options_.ingest.max_message_bytes) {
        dead.emplace_back(n, fmt::format("message of {} bytes is larger than max_message_bytes ({})",
                                         message.body.size(), options_.ingest.max_message_bytes));
        continue;
      }
      units.push_back(ingestion::unit_of_message(message.body, label));
      unit_message.push_back(n);
    }
    IngestReport loaded;
    try {
      ingestion::Fetcher fetcher(options_.ingest.storage_options, options_.ingest.max_object_bytes);
      ingestion::fetch_all(units, fetcher, options_.ingest);
      loaded = ingestion::load_units(catalog_, units, options_.ingest, records_.get());
    } catch (const Error& error) {
      // The whole load failed (database down, say): every message comes back
      // after its visibility timeout. Those already judged dead still go.
      log(LogLevel::kError, fmt::format("loader: a batch of {} messages failed and will be delivered again: {}",
                                        units.size(), error.what()));
      report.retried += units.size();
      report.failed += units.size();
      units.clear();
    }
    std::vector<ingestion::Unit> sink_units;
    std::vector<IngestResult> sink_results;
    for (std::size_t k = 0; k < units.size(); ++k) {
      const IngestResult& result = loaded.results[k];
      report.loaded += result.loaded;
      report.skipped += result.skipped;
      report.removed += result.removed;
      if (result.status != "failed") {
        done.push_back(unit_message[k]);
        continue;
      }
      report.failed += result.failed.size() + (result.error.empty() ? 0 : 1);
      if (result.retryable) {
        ++report.retried;
        continue;
      }
      std::string reason = result.error;
      for (const auto& failure : result.failed) {
        reason +=
            (reason.empty() ? "" : "; ") + fmt::format("{}/{}: {}", failure.collection, failure.id, failure.error);
      }
      dead.emplace_back(unit_message[k], reason);
      sink_units.push_back(units[k]);
      sink_results.push_back(result);
    }
    dead_letter(batch, dead, sink_units, sink_results, done, report);
    delete_messages(batch, done, report);
    return report;
  }

  // Sends the dead messages to the dead-letter queue (or the ingest sink);
  // each sent one joins `done`. Without either they stay for redelivery.
  void dead_letter(const std::vector<QueueMessage>& batch, const std::vector<std::pair<std::size_t, std::string>>& dead,
                   const std::vector<ingestion::Unit>& sink_units, const std::vector<IngestResult>& sink_results,
                   std::vector<std::size_t>& done, LoaderReport& report) {
    if (dead.empty()) {
      return;
    }
    if (options_.dead_letter_queue_url.empty()) {
      if (options_.ingest.dead_letter.empty()) {
        report.retried += dead.size();
        return;
      }
      // Messages refused before loading are recorded as whole-message failures.
      std::vector<ingestion::Unit> units = sink_units;
      std::vector<IngestResult> results = sink_results;
      for (const auto& entry : dead) {
        const std::string label = fmt::format("message {}", batch[entry.first].message_id);
        if (std::none_of(units.begin(), units.end(),
                         [&label](const ingestion::Unit& unit) { return unit.source == label; })) {
          ingestion::Unit unit;
          unit.source = label;
          unit.message = batch[entry.first].body;
          IngestResult result;
          result.source = label;
          result.status = "failed";
          result.error = entry.second;
          units.push_back(std::move(unit));
          results.push_back(std::move(result));
        }
      }
      ingestion::write_dead_letters(options_.ingest.dead_letter, options_.ingest.storage_options, units, results);
      for (const auto& entry : dead) {
        done.push_back(entry.first);
      }
      report.dead_lettered += dead.size();
      return;
    }
    for (const auto& [index, reason] : dead) {
      const QueueMessage& message = batch[index];
      try {
        sqs_.send(options_.dead_letter_queue_url, message.body,
                  {{"tessera_error", truncated(reason.empty() ? "failed" : reason, kMaxReasonBytes)},
                   {"tessera_source", options_.queue_url},
                   {"tessera_message_id", message.message_id},
                   {"tessera_receive_count", std::to_string(message.receive_count)}});
        done.push_back(index);
        ++report.dead_lettered;
      } catch (const Error& error) {
        log(LogLevel::kError, fmt::format("loader: cannot send message {} to the dead-letter queue: {}",
                                          message.message_id, error.what()));
        ++report.retried;
      }
    }
  }

  void delete_messages(const std::vector<QueueMessage>& batch, const std::vector<std::size_t>& done,
                       LoaderReport& report) {
    for (std::size_t start = 0; start < done.size(); start += storage::aws::kMaxBatchEntries) {
      std::vector<BatchEntry> entries;
      for (std::size_t n = start; n < std::min(done.size(), start + storage::aws::kMaxBatchEntries); ++n) {
        entries.push_back({std::to_string(n), batch[done[n]].receipt_handle});
      }
      try {
        const auto refused = sqs_.delete_batch(options_.queue_url, entries);
        report.deleted += entries.size() - refused.size();
        if (!refused.empty()) {
          log(LogLevel::kWarning, fmt::format("loader: {} messages could not be deleted ({}: {}); they will be "
                                              "delivered again and loaded again, unchanged",
                                              refused.size(), refused.front().code, refused.front().message));
        }
      } catch (const Error& error) {
        log(LogLevel::kWarning, fmt::format("loader: deleting {} messages failed ({}); they will be delivered again",
                                            entries.size(), error.what()));
      }
    }
  }

  Catalog& catalog_;
  const LoaderOptions& options_;
  SqsClient sqs_;
  std::unique_ptr<ingestion::SourceRecords> records_;
  std::atomic<bool> stopping_{false};
  std::mutex callback_mutex_;
};

}  // namespace

LoaderReport run_loader(Catalog& catalog, const LoaderOptions& options) {
  check_options(options);
  Loader loader(catalog, options);
  return loader.run();
}

}  // namespace tessera
