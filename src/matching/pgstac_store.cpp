#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "catalog/database.hpp"
#include "catalog/outbox_schema.hpp"
#include "matching/match_store.hpp"
#include "tessera/error.hpp"

namespace tessera::matching {

using catalog::outbox_now_micros;
using catalog::pgstac::PgConnection;
using catalog::pgstac::PgPool;
using catalog::pgstac::Result;
using catalog::pgstac::with_transaction;
using nlohmann::json;

namespace {

// tessera's own schema in the pgstac database; pgstac's schema is untouched.
constexpr std::array<const char*, 11> kSchema = {
    "CREATE TABLE IF NOT EXISTS tessera.models (id text PRIMARY KEY, doc jsonb NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tessera.aois (id text PRIMARY KEY, model text NOT NULL, doc jsonb NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tessera.predictions (id text PRIMARY KEY, model text NOT NULL, aoi text NOT NULL, "
    "created_us bigint NOT NULL, doc jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS predictions_model ON tessera.predictions (model, created_us)",
    "CREATE TABLE IF NOT EXISTS tessera.runs (id text PRIMARY KEY, model text NOT NULL, aoi text NOT NULL, "
    "state text NOT NULL, created_us bigint NOT NULL, updated_us bigint NOT NULL, doc jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS runs_created ON tessera.runs (created_us, id)",
    "CREATE TABLE IF NOT EXISTS tessera.run_logs (run text NOT NULL, seq bigint NOT NULL, created_us bigint NOT NULL, "
    "text text NOT NULL, PRIMARY KEY (run, seq))",
    "CREATE INDEX IF NOT EXISTS runs_model_state ON tessera.runs (model, state)",
    "CREATE TABLE IF NOT EXISTS tessera.subscriptions (id text PRIMARY KEY, model text NOT NULL, cursor bigint NOT "
    "NULL, doc jsonb NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tessera.deliveries (subscription text NOT NULL, event bigint NOT NULL, visible_us "
    "bigint NOT NULL, deliveries integer NOT NULL, acked_us bigint, PRIMARY KEY (subscription, event))",
    "CREATE TABLE IF NOT EXISTS tessera.dead_letters (subscription text NOT NULL, event bigint NOT NULL, attempts "
    "integer NOT NULL, error text NOT NULL, failed_us bigint NOT NULL, PRIMARY KEY (subscription, event))"};

constexpr const char* kOutboxColumns = "id, kind, subject, payload::text, created_us, deliveries, acked_us";

class PgStore final : public MatchStore {
 public:
  explicit PgStore(PgPool& pool) : pool_(pool) {
    with_transaction(pool_, [](PgConnection& connection) {
      connection.exec(catalog::kPgSchemaLock);
      for (const char* statement : catalog::kPgOutboxDdl) {
        connection.exec(statement);
      }
      for (const char* statement : kSchema) {
        connection.exec(statement);
      }
    });
  }

  void insert_model(const json& model) override {
    insert_document("INSERT INTO tessera.models (id, doc) VALUES ($1, $2::jsonb)", model, "model",
                    {model.at("id").get<std::string>(), model.dump()});
  }

  bool update_model(const json& model, const OutboxEvent& event) override {
    bool found = false;
    with_transaction(pool_, [&](PgConnection& connection) {
      const Result updated = connection.exec("UPDATE tessera.models SET doc = $2::jsonb WHERE id = $1 RETURNING id",
                                             {model.at("id").get<std::string>(), model.dump()});
      found = PQntuples(updated.get()) > 0;
      if (found) {
        write_event(connection, event);
      }
    });
    return found;
  }

  std::optional<json> get_model(std::string_view id) override {
    return document("SELECT doc::text FROM tessera.models WHERE id = $1", id);
  }

  std::optional<json> get_aoi(std::string_view id) override {
    return document("SELECT doc::text FROM tessera.aois WHERE id = $1", id);
  }

  std::vector<json> models() override { return documents("SELECT doc::text FROM tessera.models ORDER BY id", {}); }

  bool delete_model(std::string_view id) override {
    bool found = false;
    with_transaction(pool_, [&](PgConnection& connection) {
      connection.exec("DELETE FROM tessera.aois WHERE model = $1", {std::string(id)});
      const Result deleted =
          connection.exec("DELETE FROM tessera.models WHERE id = $1 RETURNING id", {std::string(id)});
      found = PQntuples(deleted.get()) > 0;
    });
    return found;
  }

  void insert_aoi(const json& aoi) override {
    insert_document("INSERT INTO tessera.aois (id, model, doc) VALUES ($1, $2, $3::jsonb)", aoi, "aoi",
                    {aoi.at("id").get<std::string>(), aoi.at("model").get<std::string>(), aoi.dump()});
  }

  bool delete_aoi(std::string_view id) override {
    auto connection = pool_.acquire();
    const Result deleted = connection->exec("DELETE FROM tessera.aois WHERE id = $1 RETURNING id", {std::string(id)});
    return PQntuples(deleted.get()) > 0;
  }

  std::vector<json> aois() override { return documents("SELECT doc::text FROM tessera.aois ORDER BY id", {}); }

  std::int64_t append_event(const OutboxEvent& event) override {
    std::int64_t id = 0;
    with_transaction(pool_, [&](PgConnection& connection) { id = write_event(connection, event); });
    return id;
  }

  std::vector<MatchEvent> events(const EventQuery& query) override {
    const std::int64_t now = outbox_now_micros();
    std::vector<MatchEvent> events;
    const std::string filters = "acked_us IS NULL AND ($1 = '' OR kind = $1) AND ($2 = '' OR subject = $2)";
    with_transaction(pool_, [&](PgConnection& connection) {
      events.clear();
      Result rows;
      std::size_t limit = query.limit;
      if (query.claim && query.max_leased > 0) {
        // Claimers of one (kind, model) take turns, so the count and the claim agree.
        connection.exec("SELECT pg_advisory_xact_lock(hashtext('tessera.outbox/' || $1 || '/' || $2))",
                        {query.kind, query.model});
        const Result leased = connection.exec(
            fmt::format("SELECT count(*) FROM tessera.outbox WHERE {} AND deliveries > 0 AND visible_us > $3", filters),
            {query.kind, query.model, std::to_string(now)});
        const auto held = static_cast<std::size_t>(std::stoll(PQgetvalue(leased.get(), 0, 0)));
        limit = std::min(limit, query.max_leased > held ? query.max_leased - held : 0);
        if (limit == 0) {
          return;
        }
      }
      if (query.claim) {
        // SKIP LOCKED: concurrent consumers each get different events.
        rows = connection.exec(
            fmt::format("UPDATE tessera.outbox SET visible_us = $5, deliveries = deliveries + 1 WHERE id IN "
                        "(SELECT id FROM tessera.outbox WHERE {} AND visible_us <= $4 ORDER BY id LIMIT $3 "
                        "FOR UPDATE SKIP LOCKED) RETURNING {}",
                        filters, kOutboxColumns),
            {query.kind, query.model, std::to_string(limit), std::to_string(now),
             std::to_string(now + static_cast<std::int64_t>(query.lease_seconds * 1e6))});
      } else {
        rows = connection.exec(
            fmt::format("SELECT {} FROM tessera.outbox WHERE {} ORDER BY id LIMIT $3", kOutboxColumns, filters),
            {query.kind, query.model, std::to_string(query.limit)});
      }
      for (int row = 0; row < PQntuples(rows.get()); ++row) {
        events.push_back(make_event(std::stoll(PQgetvalue(rows.get(), row, 0)), PQgetvalue(rows.get(), row, 1),
                                    PQgetvalue(rows.get(), row, 2), PQgetvalue(rows.get(), row, 3),
                                    std::stoll(PQgetvalue(rows.get(), row, 4)),
                                    std::stoi(PQgetvalue(rows.get(), row, 5)), !PQgetisnull(rows.get(), row, 6)));
      }
    });
    std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return events;
  }

  bool ack(std::int64_t id) override {
    auto connection = pool_.acquire();
    const Result updated =
        connection->exec("UPDATE tessera.outbox SET acked_us = coalesce(acked_us, $2) WHERE id = $1 RETURNING id",
                         {std::to_string(id), std::to_string(outbox_now_micros())});
    return PQntuples(updated.get()) > 0;
  }

  void insert_prediction(const json& prediction, std::int64_t created_us, const OutboxEvent& event) override {
    with_transaction(pool_, [&](PgConnection& connection) {
      connection.exec(
          "INSERT INTO tessera.predictions (id, model, aoi, created_us, doc) VALUES ($1, $2, $3, $4, $5::jsonb)",
          {prediction.at("id").get<std::string>(), prediction.at("model").get<std::string>(),
           prediction.at("aoi").get<std::string>(), std::to_string(created_us), prediction.dump()});
      write_event(connection, event);
    });
  }

  bool insert_run(const json& run, std::int64_t created_us) override {
    auto connection = pool_.acquire();
    const Result inserted = connection->exec(
        "INSERT INTO tessera.runs (id, model, aoi, state, created_us, updated_us, doc) "
        "VALUES ($1, $2, $3, $4, $5, $5, $6::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id",
        {run.at("id").get<std::string>(), run.at("model").get<std::string>(), run.at("aoi").get<std::string>(),
         run.at("state").get<std::string>(), std::to_string(created_us), run.dump()});
    return PQntuples(inserted.get()) > 0;
  }

  std::optional<json> update_run(std::string_view id, const std::function<bool(json&)>& change,
                                 const std::function<OutboxEvent(const json&)>& event_of) override {
    std::optional<json> result;
    with_transaction(pool_, [&](PgConnection& connection) {
      result.reset();
      const auto stored =
          connection.scalar("SELECT doc::text FROM tessera.runs WHERE id = $1 FOR UPDATE", {std::string(id)});
      if (!stored) {
        return;
      }
      json run = json::parse(*stored);
      if (change(run)) {
        connection.exec(
            "UPDATE tessera.runs SET state = $2, doc = $3::jsonb, updated_us = $4 WHERE id = $1",
            {std::string(id), run.at("state").get<std::string>(), run.dump(), std::to_string(outbox_now_micros())});
        write_event(connection, event_of(run));
      }
      result = std::move(run);
    });
    return result;
  }

  std::optional<json> get_run(std::string_view id) override {
    return document("SELECT doc::text FROM tessera.runs WHERE id = $1", id);
  }

  std::vector<json> runs(std::string_view model, std::string_view aoi, std::string_view state, std::size_t limit,
                         std::string_view after) override {
    return documents(
        "SELECT doc::text FROM tessera.runs WHERE ($1 = '' OR model = $1) AND ($2 = '' OR aoi = $2) AND "
        "($3 = '' OR state = $3) AND ($4 = '' OR (created_us, id) < (SELECT created_us, id FROM tessera.runs "
        "WHERE id = $4)) ORDER BY created_us DESC, id DESC LIMIT $5",
        {std::string(model), std::string(aoi), std::string(state), std::string(after), std::to_string(limit)});
  }

  void append_run_log(std::string_view run, std::string_view text, std::int64_t created_us) override {
    with_transaction(pool_, [&](PgConnection& connection) {
      // One appender per run at a time, so the sequence has no gaps or clashes.
      connection.exec("SELECT pg_advisory_xact_lock(hashtext('tessera.run_logs/' || $1))", {std::string(run)});
      connection.exec(
          "INSERT INTO tessera.run_logs (run, seq, created_us, text) SELECT $1, coalesce(max(seq), 0) + 1, $2, $3 "
          "FROM tessera.run_logs WHERE run = $1",
          {std::string(run), std::to_string(created_us), std::string(text)});
    });
  }

  std::vector<json> run_logs(std::string_view run, std::int64_t after_seq, std::size_t limit) override {
    auto connection = pool_.acquire();
    const Result rows = connection->exec(
        "SELECT seq, created_us, text FROM tessera.run_logs WHERE run = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        {std::string(run), std::to_string(after_seq), std::to_string(limit)});
    std::vector<json> entries;
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      entries.push_back({{"seq", std::stoll(PQgetvalue(rows.get(), row, 0))},
                         {"created_us", std::stoll(PQgetvalue(rows.get(), row, 1))},
                         {"text", PQgetvalue(rows.get(), row, 2)}});
    }
    return entries;
  }

  void insert_subscription(const json& subscription, std::int64_t cursor) override {
    insert_document("INSERT INTO tessera.subscriptions (id, model, cursor, doc) VALUES ($1, $2, $3, $4::jsonb)",
                    subscription, "subscription",
                    {subscription.at("id").get<std::string>(), subscription.at("model").get<std::string>(),
                     std::to_string(cursor), subscription.dump()});
  }

  std::optional<json> get_subscription(std::string_view id) override {
    return document("SELECT doc::text FROM tessera.subscriptions WHERE id = $1", id);
  }

  std::vector<json> subscriptions() override {
    return documents("SELECT doc::text FROM tessera.subscriptions ORDER BY id", {});
  }

  bool delete_subscription(std::string_view id) override {
    bool found = false;
    with_transaction(pool_, [&](PgConnection& connection) {
      connection.exec("DELETE FROM tessera.deliveries WHERE subscription = $1", {std::string(id)});
      connection.exec("DELETE FROM tessera.dead_letters WHERE subscription = $1", {std::string(id)});
      found =
          PQntuples(connection.exec("DELETE FROM tessera.subscriptions WHERE id = $1 RETURNING id", {std::string(id)})
                        .get()) > 0;
    });
    return found;
  }

  std::vector<MatchEvent> receive(std::string_view subscription, std::size_t limit, std::int64_t now_us,
                                  std::int64_t visible_us) override {
    std::vector<MatchEvent> events;
    with_transaction(pool_, [&](PgConnection& connection) {
      events.clear();
      const std::string id(subscription);
      // The row lock serialises receivers of one subscription.
      const Result found =
          connection.exec("SELECT model, cursor FROM tessera.subscriptions WHERE id = $1 FOR UPDATE", {id});
      if (PQntuples(found.get()) == 0) {
        return;
      }
      const std::string model = PQgetvalue(found.get(), 0, 0);
      const std::string cursor = PQgetvalue(found.get(), 0, 1);
      const std::string lease = std::to_string(visible_us);
      const auto redelivered = static_cast<std::size_t>(PQntuples(
          connection
              .exec(
                  "UPDATE tessera.deliveries SET visible_us = $1, deliveries = deliveries + 1 WHERE subscription = $2 "
                  "AND event IN (SELECT event FROM tessera.deliveries WHERE subscription = $2 AND acked_us IS NULL "
                  "AND visible_us <= $3 ORDER BY event LIMIT $4) RETURNING event",
                  {lease, id, std::to_string(now_us), std::to_string(limit)})
              .get()));
      if (redelivered < limit) {
        connection.exec(fmt::format("INSERT INTO tessera.deliveries (subscription, event, visible_us, deliveries) "
                                    "SELECT $1, id, $2, 1 FROM tessera.outbox WHERE id > $3 AND ($4 = '' OR subject = "
                                    "$4) AND kind IN {} ORDER BY id LIMIT $5",
                                    kMatchingKindsSql),
                        {id, lease, cursor, model, std::to_string(limit - redelivered)});
        connection.exec(
            "UPDATE tessera.subscriptions SET cursor = GREATEST(cursor, (SELECT coalesce(max(event), 0) FROM "
            "tessera.deliveries WHERE subscription = $1)) WHERE id = $1",
            {id});
      }
      const Result rows = connection.exec(
          "SELECT o.id, o.kind, o.subject, o.payload::text, o.created_us, d.deliveries FROM tessera.deliveries d JOIN "
          "tessera.outbox o ON o.id = d.event WHERE d.subscription = $1 AND d.acked_us IS NULL AND d.visible_us = $2 "
          "ORDER BY o.id",
          {id, lease});
      for (int row = 0; row < PQntuples(rows.get()); ++row) {
        events.push_back(make_event(std::stoll(PQgetvalue(rows.get(), row, 0)), PQgetvalue(rows.get(), row, 1),
                                    PQgetvalue(rows.get(), row, 2), PQgetvalue(rows.get(), row, 3),
                                    std::stoll(PQgetvalue(rows.get(), row, 4)),
                                    std::stoi(PQgetvalue(rows.get(), row, 5)), false));
      }
    });
    return events;
  }

  bool acknowledge(std::string_view subscription, std::int64_t event) override {
    auto connection = pool_.acquire();
    const Result updated = connection->exec(
        "UPDATE tessera.deliveries SET acked_us = coalesce(acked_us, $3) WHERE subscription = $1 AND event = $2 "
        "RETURNING event",
        {std::string(subscription), std::to_string(event), std::to_string(outbox_now_micros())});
    return PQntuples(updated.get()) > 0;
  }

  void replay(std::string_view subscription, std::int64_t from_event) override {
    with_transaction(pool_, [&](PgConnection& connection) {
      const std::string id(subscription);
      for (const char* sql : {"DELETE FROM tessera.deliveries WHERE subscription = $1 AND event >= $2",
                              "DELETE FROM tessera.dead_letters WHERE subscription = $1 AND event >= $2"}) {
        connection.exec(sql, {id, std::to_string(from_event)});
      }
      connection.exec("UPDATE tessera.subscriptions SET cursor = $2 WHERE id = $1 AND cursor >= $3",
                      {id, std::to_string(from_event - 1), std::to_string(from_event)});
    });
  }

  std::int64_t last_event_id() override {
    auto connection = pool_.acquire();
    return std::stoll(connection->scalar("SELECT coalesce(max(id), 0)::text FROM tessera.outbox", {}).value_or("0"));
  }

  void retry_at(std::string_view subscription, std::int64_t event, std::int64_t visible_us) override {
    auto connection = pool_.acquire();
    connection->exec(
        "UPDATE tessera.deliveries SET visible_us = $3 WHERE subscription = $1 AND event = $2 AND acked_us IS NULL",
        {std::string(subscription), std::to_string(event), std::to_string(visible_us)});
  }

  void dead_letter(std::string_view subscription, std::int64_t event, int attempts, const std::string& error,
                   std::int64_t now_us) override {
    with_transaction(pool_, [&](PgConnection& connection) {
      const std::string id(subscription);
      connection.exec("DELETE FROM tessera.deliveries WHERE subscription = $1 AND event = $2",
                      {id, std::to_string(event)});
      connection.exec(
          "INSERT INTO tessera.dead_letters (subscription, event, attempts, error, failed_us) VALUES ($1, $2, $3, $4, "
          "$5) ON CONFLICT (subscription, event) DO UPDATE SET attempts = EXCLUDED.attempts, error = EXCLUDED.error, "
          "failed_us = EXCLUDED.failed_us",
          {id, std::to_string(event), std::to_string(attempts), error, std::to_string(now_us)});
    });
  }

  std::vector<json> dead_letters(std::string_view subscription, std::int64_t after_event, std::size_t limit) override {
    auto connection = pool_.acquire();
    const Result rows = connection->exec(
        "SELECT o.id, o.kind, o.subject, o.payload::text, o.created_us, l.attempts, l.error, l.failed_us FROM "
        "tessera.dead_letters l JOIN tessera.outbox o ON o.id = l.event WHERE l.subscription = $1 AND l.event > $2 "
        "ORDER BY l.event LIMIT $3",
        {std::string(subscription), std::to_string(after_event), std::to_string(limit)});
    std::vector<json> letters;
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      const int attempts = std::stoi(PQgetvalue(rows.get(), row, 5));
      letters.push_back(
          {{"event", make_event(std::stoll(PQgetvalue(rows.get(), row, 0)), PQgetvalue(rows.get(), row, 1),
                                PQgetvalue(rows.get(), row, 2), PQgetvalue(rows.get(), row, 3),
                                std::stoll(PQgetvalue(rows.get(), row, 4)), attempts, false)
                         .to_json()},
           {"attempts", attempts},
           {"error", PQgetvalue(rows.get(), row, 6)},
           {"failed_us", std::stoll(PQgetvalue(rows.get(), row, 7))}});
    }
    return letters;
  }

  json prune(std::int64_t cutoff_us) override {
    json counts;
    with_transaction(pool_, [&](PgConnection& connection) {
      const std::vector<catalog::pgstac::Param> cutoff = {std::to_string(cutoff_us)};
      const auto removed = [&](const char* sql) { return PQntuples(connection.exec(sql, cutoff).get()); };
      // Not before every subscriber has been handed an event and acknowledged it.
      counts["events"] = removed(
          "DELETE FROM tessera.outbox WHERE acked_us IS NOT NULL AND acked_us < $1 "
          "AND id <= coalesce((SELECT min(cursor) FROM tessera.subscriptions), id) "
          "AND id NOT IN (SELECT event FROM tessera.deliveries WHERE acked_us IS NULL) "
          "AND id NOT IN (SELECT event FROM tessera.dead_letters) RETURNING id");
      removed("DELETE FROM tessera.deliveries WHERE acked_us IS NOT NULL AND acked_us < $1 RETURNING event");
      counts["run_logs"] = removed(
          "DELETE FROM tessera.run_logs WHERE run IN (SELECT id FROM tessera.runs WHERE updated_us < $1 AND state IN "
          "('succeeded', 'failed', 'timed_out', 'cancelled')) RETURNING seq");
      counts["runs"] = removed(
          "DELETE FROM tessera.runs WHERE updated_us < $1 AND state IN ('succeeded', 'failed', 'timed_out', "
          "'cancelled') RETURNING id");
    });
    return counts;
  }

  std::vector<json> predictions(std::string_view model, std::int64_t start_us, std::int64_t end_us) override {
    return documents(
        "SELECT doc::text FROM tessera.predictions WHERE model = $1 AND created_us BETWEEN $2 AND $3 "
        "ORDER BY created_us, id",
        {std::string(model), std::to_string(start_us), std::to_string(end_us)});
  }

 private:
  static std::int64_t write_event(PgConnection& connection, const OutboxEvent& event) {
    const std::int64_t now = outbox_now_micros();
    const auto id = connection.scalar(
        "INSERT INTO tessera.outbox (kind, subject, payload, created_us, visible_us) "
        "VALUES ($1, $2, $3::jsonb, $4, $4) RETURNING id",
        {event.kind, event.subject, event.payload, std::to_string(now)});
    return std::stoll(id.value_or("0"));
  }

  void insert_document(const char* sql, const json& document, const char* what,
                       const std::vector<catalog::pgstac::Param>& params) {
    auto connection = pool_.acquire();
    try {
      connection->exec(sql, params);
    } catch (const Error& error) {
      if (error.code() == ErrorCode::kConflict) {
        throw Error(ErrorCode::kConflict,
                    fmt::format("{} '{}' already exists", what, document.at("id").get<std::string>()));
      }
      throw;
    }
  }

  std::optional<json> document(const char* sql, std::string_view id) {
    auto connection = pool_.acquire();
    const auto doc = connection->scalar(sql, {std::string(id)});
    return doc ? std::optional<json>(json::parse(*doc)) : std::nullopt;
  }

  std::vector<json> documents(const char* sql, const std::vector<catalog::pgstac::Param>& params) {
    auto connection = pool_.acquire();
    const Result rows = connection->exec(sql, params);
    std::vector<json> found;
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      found.push_back(json::parse(PQgetvalue(rows.get(), row, 0)));
    }
    return found;
  }

  PgPool& pool_;
};

}  // namespace

std::unique_ptr<MatchStore> open_pgstac_store(PgPool& pool) { return std::make_unique<PgStore>(pool); }

}  // namespace tessera::matching
