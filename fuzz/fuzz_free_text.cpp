// Free-text `q`: the parser (as text, and as JSON when the input is JSON: a
// string or an array of strings), then both of its outputs. The FTS5
// expression must be valid FTS5 syntax (it is run against an FTS5 table like
// items_fts), and the pgstac text must keep every word single-quoted with
// nothing but operators outside the quotes, so none of q_to_tsquery's
// regular expressions can rewrite it.

#include <sqlite3.h>

#include <memory>
#include <string>

#include "catalog/free_text.hpp"
#include "fuzz_support.hpp"

namespace {

sqlite3* fts5_table() {
  static sqlite3* const db = [] {
    sqlite3* opened = nullptr;
    sqlite3_open(":memory:", &opened);
    sqlite3_exec(opened,
                 "CREATE VIRTUAL TABLE t USING fts5 (text, tokenize = 'porter unicode61');"
                 "INSERT INTO t VALUES ('cloud free land cover Sentinel-2 L2A [\"optical\", \"esa\"]')",
                 nullptr, nullptr, nullptr);
    return opened;
  }();
  return db;
}

void check_fts5(const std::string& expression) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(fts5_table(), "SELECT rowid FROM t WHERE t MATCH ?", -1, &statement, nullptr) != SQLITE_OK) {
    tessera::fuzz::finding("prepare", sqlite3_errmsg(fts5_table()));
  }
  sqlite3_bind_text(statement, 1, expression.data(), static_cast<int>(expression.size()), SQLITE_TRANSIENT);
  int status = SQLITE_ROW;
  while (status == SQLITE_ROW) {
    status = sqlite3_step(statement);
  }
  if (status != SQLITE_DONE) {
    const std::string message = std::string(sqlite3_errmsg(fts5_table())) + " in " + expression;
    tessera::fuzz::finding("FTS5 refused the expression", message.c_str());
  }
  sqlite3_finalize(statement);
}

void check_pgstac(const std::string& q) {
  bool quoted = false;
  for (const char c : q) {
    if (c == '\'') {
      quoted = !quoted;
    } else if (quoted ? (c == '\\' || c == ' ') : std::string_view("()&|!<-> ").find(c) == std::string_view::npos) {
      tessera::fuzz::finding("pgstac q outside its form", q.c_str());
    }
  }
  if (quoted) {
    tessera::fuzz::finding("pgstac q with an open quote", q.c_str());
  }
}

void check(const nlohmann::json& q) {
  tessera::fuzz::accepted([&] {
    const auto parsed = tessera::catalog::parse_free_text(q);
    if (parsed.root) {
      check_fts5(tessera::catalog::to_fts5_match(*parsed.root).expression);
      check_pgstac(tessera::catalog::to_pgstac_q(*parsed.root));
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = tessera::fuzz::as_text(data, size);
  // Search requests refuse strings that are not UTF-8 before `q` is parsed.
  const nlohmann::json as_string = std::string(text);
  bool is_utf8 = true;
  try {
    static_cast<void>(as_string.dump());
  } catch (const nlohmann::json::type_error&) {
    is_utf8 = false;
  }
  if (is_utf8) {
    check(as_string);
  }
  if (const auto value = tessera::fuzz::as_json(data, size)) {
    check(*value);
  }
  return 0;
}
