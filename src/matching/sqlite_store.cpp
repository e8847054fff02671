#include <algorithm>

#include <fmt/format.h>

#include "catalog/database.hpp"
#include "catalog/outbox_schema.hpp"
#include "matching/match_store.hpp"
#include "tessera/error.hpp"

namespace tessera::matching {

using catalog::outbox_now_micros;
using catalog::sqlite::ConnectionPool;
using catalog::sqlite::Statement;
using catalog::sqlite::WriteTransaction;
using nlohmann::json;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS matching_models (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS matching_aois (id TEXT PRIMARY KEY, model TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS matching_predictions (
  id TEXT PRIMARY KEY, model TEXT NOT NULL, aoi TEXT NOT NULL, created_us INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS matching_predictions_model ON matching_predictions (model, created_us);
CREATE TABLE IF NOT EXISTS matching_runs (
  id TEXT PRIMARY KEY, model TEXT NOT NULL, aoi TEXT NOT NULL, state TEXT NOT NULL, created_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS matching_runs_created ON matching_runs (created_us, id);
CREATE INDEX IF NOT EXISTS matching_runs_model_state ON matching_runs (model, state);
CREATE TABLE IF NOT EXISTS matching_subscriptions (
  id TEXT PRIMARY KEY, model TEXT NOT NULL, cursor INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS matching_deliveries (
  subscription TEXT NOT NULL, event INTEGER NOT NULL, visible_us INTEGER NOT NULL, deliveries INTEGER NOT NULL,
  acked_us INTEGER, PRIMARY KEY (subscription, event));
CREATE TABLE IF NOT EXISTS matching_dead_letters (
  subscription TEXT NOT NULL, event INTEGER NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL,
  failed_us INTEGER NOT NULL, PRIMARY KEY (subscription, event));
CREATE TABLE IF NOT EXISTS matching_run_logs (
  run TEXT NOT NULL, seq INTEGER NOT NULL, created_us INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (run, seq));
)sql";

bool is_unique_violation(const Error& error) { return error.code() == ErrorCode::kConflict; }

class SqliteStore final : public MatchStore {
 public:
  explicit SqliteStore(ConnectionPool& pool) : pool_(pool) {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    connection->exec(kSchema);
    connection->exec(catalog::kSqliteOutboxDdl);
    transaction.commit();
  }

  void insert_model(const json& model) override { insert_document("matching_models", model, "model"); }

  bool update_model(const json& model, const OutboxEvent& event) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    auto& update = connection->cached("UPDATE matching_models SET doc = ? WHERE id = ?");
    update.bind(1, model.dump()).bind(2, model.at("id").get<std::string>()).run();
    if (connection->changes() == 0) {
      return false;
    }
    write_event(*connection, event);
    transaction.commit();
    return true;
  }

  std::optional<json> get_model(std::string_view id) override {
    return document("SELECT doc FROM matching_models WHERE id = ?", id);
  }

  std::vector<json> models() override { return documents("SELECT doc FROM matching_models ORDER BY id"); }

  bool delete_model(std::string_view id) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    auto& aois = connection->cached("DELETE FROM matching_aois WHERE model = ?");
    aois.bind(1, id).run();
    auto& model = connection->cached("DELETE FROM matching_models WHERE id = ?");
    model.bind(1, id).run();
    const bool found = connection->changes() > 0;
    transaction.commit();
    return found;
  }

  void insert_aoi(const json& aoi) override { insert_document("matching_aois", aoi, "aoi"); }

  bool delete_aoi(std::string_view id) override {
    auto connection = pool_.acquire();
    auto& remove = connection->cached("DELETE FROM matching_aois WHERE id = ?");
    remove.bind(1, id).run();
    return connection->changes() > 0;
  }

  std::optional<json> get_aoi(std::string_view id) override {
    return document("SELECT doc FROM matching_aois WHERE id = ?", id);
  }

  std::vector<json> aois() override { return documents("SELECT doc FROM matching_aois ORDER BY id"); }

  std::int64_t append_event(const OutboxEvent& event) override {
    auto connection = pool_.acquire();
    write_event(*connection, event);
    return sqlite3_last_insert_rowid(connection->get());
  }

  std::vector<MatchEvent> events(const EventQuery& query) override {
    auto connection = pool_.acquire();
    const std::int64_t now = outbox_now_micros();
    const std::string where = "acked_us IS NULL AND (?1 = '' OR kind = ?1) AND (?2 = '' OR subject = ?2)" +
                              std::string(query.claim ? " AND visible_us <= ?3" : "");
    constexpr const char* kColumns = "id, kind, subject, payload, created_us, deliveries, acked_us";
    std::string sql;
    if (query.claim) {
      sql = fmt::format(
          "UPDATE outbox SET visible_us = ?4, deliveries = deliveries + 1 WHERE id IN "
          "(SELECT id FROM outbox WHERE {} ORDER BY id LIMIT ?5) RETURNING {}",
          where, kColumns);
    } else {
      sql = fmt::format("SELECT {} FROM outbox WHERE {} ORDER BY id LIMIT ?5", kColumns, where);
    }
    std::optional<WriteTransaction> transaction;
    std::size_t limit = query.limit;
    if (query.claim) {
      // The write transaction serialises claimers, so the count and the claim agree.
      transaction.emplace(*connection);
      if (query.max_leased > 0) {
        Statement leased = connection->prepare(
            "SELECT count(*) FROM outbox WHERE acked_us IS NULL AND deliveries > 0 AND visible_us > ?3 "
            "AND (?1 = '' OR kind = ?1) AND (?2 = '' OR subject = ?2)");
        leased.bind(1, query.kind).bind(2, query.model).bind(3, now).step();
        const auto held = static_cast<std::size_t>(leased.int64(0));
        limit = std::min(limit, query.max_leased > held ? query.max_leased - held : 0);
        if (limit == 0) {
          return {};
        }
      }
    }
    Statement statement = connection->prepare(sql);
    statement.bind(1, query.kind).bind(2, query.model).bind(5, static_cast<std::int64_t>(limit));
    if (query.claim) {
      statement.bind(3, now).bind(4, now + static_cast<std::int64_t>(query.lease_seconds * 1e6));
    }
    std::vector<MatchEvent> events;
    while (statement.step()) {
      events.push_back(make_event(statement.int64(0), std::string(statement.text(1)), std::string(statement.text(2)),
                                  statement.text(3), statement.int64(4), static_cast<int>(statement.int64(5)),
                                  !statement.is_null(6)));
    }
    statement.reset();
    if (transaction) {
      transaction->commit();
    }
    // RETURNING gives rows in no promised order.
    std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return events;
  }

  bool ack(std::int64_t id) override {
    auto connection = pool_.acquire();
    auto& update = connection->cached("UPDATE outbox SET acked_us = coalesce(acked_us, ?) WHERE id = ?");
    update.bind(1, outbox_now_micros()).bind(2, id).run();
    return connection->changes() > 0;
  }

  void insert_prediction(const json& prediction, std::int64_t created_us, const OutboxEvent& event) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    auto& insert =
        connection->cached("INSERT INTO matching_predictions (id, model, aoi, created_us, doc) VALUES (?, ?, ?, ?, ?)");
    insert.bind(1, prediction.at("id").get<std::string>())
        .bind(2, prediction.at("model").get<std::string>())
        .bind(3, prediction.at("aoi").get<std::string>())
        .bind(4, created_us)
        .bind(5, prediction.dump())
        .run();
    write_event(*connection, event);
    transaction.commit();
  }

  bool insert_run(const json& run, std::int64_t created_us) override {
    auto connection = pool_.acquire();
    auto& insert = connection->cached(
        "INSERT INTO matching_runs (id, model, aoi, state, created_us, updated_us, doc) VALUES (?1, ?2, ?3, ?4, ?5, "
        "?5, ?6) ON CONFLICT (id) DO NOTHING");
    insert.bind(1, run.at("id").get<std::string>())
        .bind(2, run.at("model").get<std::string>())
        .bind(3, run.at("aoi").get<std::string>())
        .bind(4, run.at("state").get<std::string>())
        .bind(5, created_us)
        .bind(6, run.dump())
        .run();
    return connection->changes() > 0;
  }

  std::optional<json> update_run(std::string_view id, const std::function<bool(json&)>& change,
                                 const std::function<OutboxEvent(const json&)>& event_of) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    auto& select = connection->cached("SELECT doc FROM matching_runs WHERE id = ?");
    select.bind(1, id);
    std::optional<json> run;
    if (select.step()) {
      run = json::parse(select.text(0));
    }
    select.reset();
    if (!run || !change(*run)) {
      return run;
    }
    auto& update = connection->cached("UPDATE matching_runs SET state = ?, doc = ?, updated_us = ? WHERE id = ?");
    update.bind(1, run->at("state").get<std::string>())
        .bind(2, run->dump())
        .bind(3, outbox_now_micros())
        .bind(4, id)
        .run();
    write_event(*connection, event_of(*run));
    transaction.commit();
    return run;
  }

  std::optional<json> get_run(std::string_view id) override {
    return document("SELECT doc FROM matching_runs WHERE id = ?", id);
  }

  std::vector<json> runs(std::string_view model, std::string_view aoi, std::string_view state, std::size_t limit,
                         std::string_view after) override {
    auto connection = pool_.acquire();
    auto& select = connection->cached(
        "SELECT doc FROM matching_runs WHERE (?1 = '' OR model = ?1) AND (?2 = '' OR aoi = ?2) AND "
        "(?3 = '' OR state = ?3) AND (?4 = '' OR (created_us, id) < (SELECT created_us, id FROM matching_runs "
        "WHERE id = ?4)) ORDER BY created_us DESC, id DESC LIMIT ?5");
    select.bind(1, model).bind(2, aoi).bind(3, state).bind(4, after).bind(5, static_cast<std::int64_t>(limit));
    std::vector<json> found;
    while (select.step()) {
      found.push_back(json::parse(select.text(0)));
    }
    select.reset();
    return found;
  }

  void append_run_log(std::string_view run, std::string_view text, std::int64_t created_us) override {
    auto connection = pool_.acquire();
    auto& insert = connection->cached(
        "INSERT INTO matching_run_logs (run, seq, created_us, text) "
        "SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3 FROM matching_run_logs WHERE run = ?1");
    insert.bind(1, run).bind(2, created_us).bind(3, text).run();
  }

  std::vector<json> run_logs(std::string_view run, std::int64_t after_seq, std::size_t limit) override {
    auto connection = pool_.acquire();
    auto& select = connection->cached(
        "SELECT seq, created_us, text FROM matching_run_logs WHERE run = ? AND seq > ? ORDER BY seq LIMIT ?");
    select.bind(1, run).bind(2, after_seq).bind(3, static_cast<std::int64_t>(limit));
    std::vector<json> entries;
    while (select.step()) {
      entries.push_back(
          {{"seq", select.int64(0)}, {"created_us", select.int64(1)}, {"text", std::string(select.text(2))}});
    }
    select.reset();
    return entries;
  }

  void insert_subscription(const json& subscription, std::int64_t cursor) override {
    auto connection = pool_.acquire();
    Statement insert =
        connection->prepare("INSERT INTO matching_subscriptions (id, model, cursor, doc) VALUES (?, ?, ?, ?)");
    insert.bind(1, subscription.at("id").get<std::string>())
        .bind(2, subscription.at("model").get<std::string>())
        .bind(3, cursor)
        .bind(4, subscription.dump());
    try {
      insert.run();
    } catch (const Error& error) {
      if (is_unique_violation(error)) {
        throw Error(ErrorCode::kConflict,
                    fmt::format("subscription '{}' already exists", subscription.at("id").get<std::string>()));
      }
      throw;
    }
  }

  std::optional<json> get_subscription(std::string_view id) override {
    return document("SELECT doc FROM matching_subscriptions WHERE id = ?", id);
  }

  std::vector<json> subscriptions() override { return documents("SELECT doc FROM matching_subscriptions ORDER BY id"); }

  bool delete_subscription(std::string_view id) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    for (const char* sql : {"DELETE FROM matching_deliveries WHERE subscription = ?",
                            "DELETE FROM matching_dead_letters WHERE subscription = ?"}) {
      Statement forget = connection->prepare(sql);
      forget.bind(1, id).run();
    }
    Statement subscription = connection->prepare("DELETE FROM matching_subscriptions WHERE id = ?");
    subscription.bind(1, id).run();
    const bool found = connection->changes() > 0;
    transaction.commit();
    return found;
  }

  std::vector<MatchEvent> receive(std::string_view subscription, std::size_t limit, std::int64_t now_us,
                                  std::int64_t visible_us) override {
    auto connection = pool_.acquire();
    // The write transaction serialises receivers of one subscription.
    WriteTransaction transaction(*connection);
    Statement model_of = connection->prepare("SELECT model, cursor FROM matching_subscriptions WHERE id = ?");
    model_of.bind(1, subscription);
    if (!model_of.step()) {
      return {};
    }
    const std::string model(model_of.text(0));
    const std::int64_t cursor = model_of.int64(1);
    model_of.reset();
    // Leases that passed, then new events.
    Statement again = connection->prepare(
        "UPDATE matching_deliveries SET visible_us = ?1, deliveries = deliveries + 1 WHERE subscription = ?2 AND "
        "event IN (SELECT event FROM matching_deliveries WHERE subscription = ?2 AND acked_us IS NULL AND "
        "visible_us <= ?3 ORDER BY event LIMIT ?4)");
    again.bind(1, visible_us).bind(2, subscription).bind(3, now_us).bind(4, static_cast<std::int64_t>(limit)).run();
    const auto redelivered = static_cast<std::size_t>(connection->changes());
    if (redelivered < limit) {
      Statement fresh = connection->prepare(fmt::format(
          "INSERT INTO matching_deliveries (subscription, event, visible_us, deliveries) SELECT ?1, id, ?2, 1 FROM "
          "outbox WHERE id > ?3 AND (?4 = '' OR subject = ?4) AND kind IN {} ORDER BY id LIMIT ?5",
          kMatchingKindsSql));
      fresh.bind(1, subscription)
          .bind(2, visible_us)
          .bind(3, cursor)
          .bind(4, model)
          .bind(5, static_cast<std::int64_t>(limit - redelivered))
          .run();
      Statement advance = connection->prepare(
          "UPDATE matching_subscriptions SET cursor = max(cursor, (SELECT coalesce(max(event), 0) FROM "
          "matching_deliveries WHERE subscription = ?1)) WHERE id = ?1");
      advance.bind(1, subscription).run();
    }
    Statement leased = connection->prepare(
        "SELECT o.id, o.kind, o.subject, o.payload, o.created_us, d.deliveries FROM matching_deliveries d JOIN outbox "
        "o "
        "ON o.id = d.event WHERE d.subscription = ?1 AND d.acked_us IS NULL AND d.visible_us = ?2 ORDER BY o.id");
    leased.bind(1, subscription).bind(2, visible_us);
    std::vector<MatchEvent> events;
    while (leased.step()) {
      events.push_back(make_event(leased.int64(0), std::string(leased.text(1)), std::string(leased.text(2)),
                                  leased.text(3), leased.int64(4), static_cast<int>(leased.int64(5)), false));
    }
    leased.reset();
    transaction.commit();
    return events;
  }

  bool acknowledge(std::string_view subscription, std::int64_t event) override {
    auto connection = pool_.acquire();
    Statement update = connection->prepare(
        "UPDATE matching_deliveries SET acked_us = coalesce(acked_us, ?) WHERE subscription = ? AND event = ?");
    update.bind(1, outbox_now_micros()).bind(2, subscription).bind(3, event).run();
    return connection->changes() > 0;
  }

  void replay(std::string_view subscription, std::int64_t from_event) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    for (const char* sql : {"DELETE FROM matching_deliveries WHERE subscription = ? AND event >= ?",
                            "DELETE FROM matching_dead_letters WHERE subscription = ? AND event >= ?"}) {
      Statement forget = connection->prepare(sql);
      forget.bind(1, subscription).bind(2, from_event).run();
    }
    Statement rewind = connection->prepare("UPDATE matching_subscriptions SET cursor = ? WHERE id = ? AND cursor >= ?");
    rewind.bind(1, from_event - 1).bind(2, subscription).bind(3, from_event).run();
    transaction.commit();
  }

  std::int64_t last_event_id() override {
    auto connection = pool_.acquire();
    Statement last = connection->prepare("SELECT coalesce(max(id), 0) FROM outbox");
    last.step();
    return last.int64(0);
  }

  void retry_at(std::string_view subscription, std::int64_t event, std::int64_t visible_us) override {
    auto connection = pool_.acquire();
    Statement update = connection->prepare(
        "UPDATE matching_deliveries SET visible_us = ? WHERE subscription = ? AND event = ? AND acked_us IS NULL");
    update.bind(1, visible_us).bind(2, subscription).bind(3, event).run();
  }

  void dead_letter(std::string_view subscription, std::int64_t event, int attempts, const std::string& error,
                   std::int64_t now_us) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    Statement close = connection->prepare("DELETE FROM matching_deliveries WHERE subscription = ? AND event = ?");
    close.bind(1, subscription).bind(2, event).run();
    Statement record = connection->prepare(
        "INSERT OR REPLACE INTO matching_dead_letters (subscription, event, attempts, error, failed_us) "
        "VALUES (?, ?, ?, ?, ?)");
    record.bind(1, subscription)
        .bind(2, event)
        .bind(3, static_cast<std::int64_t>(attempts))
        .bind(4, error)
        .bind(5, now_us);
    record.run();
    transaction.commit();
  }

  std::vector<json> dead_letters(std::string_view subscription, std::int64_t after_event, std::size_t limit) override {
    auto connection = pool_.acquire();
    Statement select = connection->prepare(
        "SELECT o.id, o.kind, o.subject, o.payload, o.created_us, l.attempts, l.error, l.failed_us FROM "
        "matching_dead_letters l JOIN outbox o ON o.id = l.event WHERE l.subscription = ? AND l.event > ? "
        "ORDER BY l.event LIMIT ?");
    select.bind(1, subscription).bind(2, after_event).bind(3, static_cast<std::int64_t>(limit));
    std::vector<json> letters;
    while (select.step()) {
      const int attempts = static_cast<int>(select.int64(5));
      letters.push_back({{"event", make_event(select.int64(0), std::string(select.text(1)), std::string(select.text(2)),
                                              select.text(3), select.int64(4), attempts, false)
                                       .to_json()},
                         {"attempts", attempts},
                         {"error", std::string(select.text(6))},
                         {"failed_us", select.int64(7)}});
    }
    select.reset();
    return letters;
  }

  json prune(std::int64_t cutoff_us) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    const auto removed = [&](const char* sql) {
      Statement statement = connection->prepare(sql);
      statement.bind(1, cutoff_us).run();
      return connection->changes();
    };
    json counts;
    // Not before every subscriber has been handed an event and acknowledged it.
    counts["events"] = removed(
        "DELETE FROM outbox WHERE acked_us IS NOT NULL AND acked_us < ?1 "
        "AND id <= coalesce((SELECT min(cursor) FROM matching_subscriptions), id) "
        "AND id NOT IN (SELECT event FROM matching_deliveries WHERE acked_us IS NULL) "
        "AND id NOT IN (SELECT event FROM matching_dead_letters)");
    removed("DELETE FROM matching_deliveries WHERE acked_us IS NOT NULL AND acked_us < ?1");
    counts["run_logs"] = removed(
        "DELETE FROM matching_run_logs WHERE run IN (SELECT id FROM matching_runs WHERE updated_us < ?1 AND state IN "
        "('succeeded', 'failed', 'timed_out', 'cancelled'))");
    counts["runs"] = removed(
        "DELETE FROM matching_runs WHERE updated_us < ?1 AND state IN ('succeeded', 'failed', 'timed_out', "
        "'cancelled')");
    transaction.commit();
    return counts;
  }

  std::vector<json> predictions(std::string_view model, std::int64_t start_us, std::int64_t end_us) override {
    auto connection = pool_.acquire();
    auto& select = connection->cached(
        "SELECT doc FROM matching_predictions WHERE model = ? AND created_us BETWEEN ? AND ? ORDER BY created_us, id");
    select.bind(1, model).bind(2, start_us).bind(3, end_us);
    std::vector<json> found;
    while (select.step()) {
      found.push_back(json::parse(select.text(0)));
    }
    select.reset();
    return found;
  }

 private:
  static void write_event(catalog::sqlite::Connection& connection, const OutboxEvent& event) {
    const std::int64_t now = outbox_now_micros();
    auto& insert = connection.cached(catalog::kSqliteOutboxInsert);
    insert.bind(1, event.kind).bind(2, event.subject).bind(3, event.payload).bind(4, now).bind(5, now).run();
  }

  void insert_document(const char* table, const json& document, const char* what) {
    auto connection = pool_.acquire();
    const std::string id = document.at("id").get<std::string>();
    const bool with_model = std::string_view(table) == "matching_aois";
    Statement insert =
        connection->prepare(with_model ? fmt::format("INSERT INTO {} (id, model, doc) VALUES (?1, ?3, ?2)", table)
                                       : fmt::format("INSERT INTO {} (id, doc) VALUES (?1, ?2)", table));
    insert.bind(1, id).bind(2, document.dump());
    if (with_model) {
      insert.bind(3, document.at("model").get<std::string>());
    }
    try {
      insert.run();
    } catch (const Error& error) {
      if (is_unique_violation(error)) {
        throw Error(ErrorCode::kConflict, fmt::format("{} '{}' already exists", what, id));
      }
      throw;
    }
  }

  std::optional<json> document(const char* sql, std::string_view id) {
    auto connection = pool_.acquire();
    auto& select = connection->cached(sql);
    select.bind(1, id);
    std::optional<json> found;
    if (select.step()) {
      found = json::parse(select.text(0));
    }
    select.reset();
    return found;
  }

  std::vector<json> documents(const char* sql) {
    auto connection = pool_.acquire();
    auto& select = connection->cached(sql);
    std::vector<json> found;
    while (select.step()) {
      found.push_back(json::parse(select.text(0)));
    }
    select.reset();
    return found;
  }

  ConnectionPool& pool_;
};

}  // namespace

std::unique_ptr<MatchStore> open_sqlite_store(ConnectionPool& pool) { return std::make_unique<SqliteStore>(pool); }

}  // namespace tessera::matching
