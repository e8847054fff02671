#include "catalog/sqlite/sqlite_query.hpp"

#include <algorithm>
#include <limits>
#include <span>

#include <fmt/format.h>
#include <ogr_geometry.h>

#include "catalog/cql2_internal.hpp"
#include "catalog/sqlite/sqlite_functions.hpp"
#include "catalog/temporal_relation.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog::sqlite {

using nlohmann::json;

json PageCursor::to_position() const {
  return {{"d", forward ? "n" : "p"}, {"v", values}, {"i", id}, {"c", collection}};
}

PageCursor PageCursor::from_position(const json& position, std::size_t sort_keys) {
  if (!position.is_object() || !position.contains("d") || !position.contains("v") || !position["v"].is_array() ||
      !position.contains("i") || !position["i"].is_string() || !position.contains("c") || !position["c"].is_string()) {
    throw Error(ErrorCode::kInvalidInput, "search: token: is not a token this catalog issued");
  }
  if (position["v"].size() != sort_keys) {
    throw Error(ErrorCode::kInvalidInput, "search: token: does not belong to this query's sort order");
  }
  return {position["d"] == "n", position["v"], position["i"].get<std::string>(), position["c"].get<std::string>()};
}

void Sql::bind_to(Statement& statement, int first_index) const {
  int index = first_index;
  for (const auto& value : params) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            statement.bind_null(index);
          } else if constexpr (std::is_same_v<T, Blob>) {
            statement.bind_blob(index, v.bytes);
          } else if constexpr (std::is_same_v<T, const cql2::Expr*>) {
            sqlite3_bind_pointer(statement.get(), index, const_cast<cql2::Expr*>(v), kExpressionPointerType, nullptr);
          } else {
            statement.bind(index, v);
          }
        },
        value);
    ++index;
  }
}

namespace {

constexpr std::int64_t kMinInstant = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxInstant = std::numeric_limits<std::int64_t>::max();

enum class Column { kNone, kId, kCollection, kDatetime, kEndDatetime, kGeometry };

Column column_of(const std::string& name) {
  if (name == "id") {
    return Column::kId;
  }
  if (name == "collection") {
    return Column::kCollection;
  }
  if (name == "datetime" || name == "start_datetime") {
    return Column::kDatetime;
  }
  if (name == "end_datetime") {
    return Column::kEndDatetime;
  }
  if (name == "geometry") {
    return Column::kGeometry;
  }
  return Column::kNone;
}

std::string wkb_of(const Geometry& geometry) {
  std::string wkb(geometry.ogr()->WkbSize(), '\0');
  geometry.ogr()->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(wkb.data()), wkbVariantIso);
  return wkb;
}

Sql bbox_params(const Bbox& box) {
  Sql sql;
  sql.param(box.minx).append(", ").param(box.miny).append(", ").param(box.maxx).append(", ").param(box.maxy);
  return sql;
}

// An operand compiled to SQL, with what it is so operators can pick the form.
struct Operand {
  enum Kind { kValue, kInstant, kSpan, kGeometry, kArray, kUnsupported } kind = kValue;
  Sql value;  // kValue, kInstant (microseconds), kGeometry (WKB), kArray (JSON text)
  Sql begin;  // kSpan
  Sql end;    // kSpan
  bool item_geometry = false;
  std::shared_ptr<const Geometry> literal_geometry;
};

class Translator {
 public:
  explicit Translator(const SearchTypes& types) : types_(types) {}
  Sql boolean(const cql2::Expr& expr);

 private:
  Operand operand(const cql2::Expr& expr);
  std::optional<std::string> number_property(std::span<const cql2::Expr> operands) const;
  std::optional<Sql> number_operand(const cql2::Expr& expr, const std::string& property);
  std::optional<Sql> number_comparison(const cql2::Operation& operation);
  Operand property(const std::string& name);
  Sql comparison(const cql2::Expr& expr, const cql2::Operation& operation);
  Sql spatial(const cql2::Expr& expr, const cql2::Operation& operation);
  Sql temporal(const cql2::Expr& expr, const cql2::Operation& operation);
  Sql array(const cql2::Expr& expr, const cql2::Operation& operation);
  // Expressions SQL cannot state run through the in-memory evaluator.
  static Sql fallback(const cql2::Expr& expr) {
    Sql sql;
    return sql.append("tsr_cql2(i.content, ").param(&expr).append(")");
  }
  static bool span_of(Operand& operand);

  const SearchTypes& types_;
};

// The property that makes a comparison numeric: the first operand that is a
// property the search reads as a number (pgstac takes the wrapper of the first
// property with one), unless an item column or a temporal literal takes part,
// which compare by their own types.
std::optional<std::string> Translator::number_property(std::span<const cql2::Expr> operands) const {
  std::optional<std::string> found;
  for (const auto& expr : operands) {
    if (const auto* ref = expr.get_if<cql2::PropertyRef>()) {
      std::string name = normalize_field(ref->name);
      if (column_of(name) != Column::kNone) {
        return std::nullopt;
      }
      if (!found && types_.read(name) != PropertyRead::kAsStored) {
        found = std::move(name);
      }
    } else if (expr.get_if<cql2::TimestampLiteral>() != nullptr || expr.get_if<cql2::DateLiteral>() != nullptr ||
               expr.get_if<cql2::IntervalLiteral>() != nullptr) {
      return std::nullopt;
    }
  }
  return found;
}

// An operand of a numeric comparison, as pgstac wraps each one in to_float:
// properties read as numbers, literals made numbers (InvalidInput naming
// `property` for one that is not a number), other values as they are;
// nullopt for an operand with no value form.
std::optional<Sql> Translator::number_operand(const cql2::Expr& expr, const std::string& property) {
  Sql sql;
  if (const auto* ref = expr.get_if<cql2::PropertyRef>()) {
    const std::string name = normalize_field(ref->name);
    if (types_.read(name) == PropertyRead::kNumber) {
      return field_expression(name);
    }
    return sql.append("tsr_number(").append(field_expression(name)).append(")");
  }
  if (const auto* literal = expr.get_if<cql2::Literal>()) {
    const json& value = literal->value;
    if (value.is_null()) {
      return sql.param(nullptr);
    }
    if (value.is_number_integer()) {
      return sql.param(value.get<std::int64_t>());
    }
    if (value.is_number()) {
      return sql.param(value.get<double>());
    }
    if (value.is_string()) {
      if (const auto number = cql2::detail::number_from_text(value.get_ref<const std::string&>())) {
        return sql.param(*number);
      }
    }
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("search: '{}' compares as a number (its queryable type), and {} is not a number", property,
                            cql2::detail::describe_literal(value)));
  }
  Operand other = operand(expr);
  if (other.kind != Operand::kValue) {
    return std::nullopt;
  }
  return other.value;
}

// =, <>, <, <=, >, >=, BETWEEN and IN on a property the search reads as a
// number, or nullopt when the comparison is not one.
std::optional<Sql> Translator::number_comparison(const cql2::Operation& operation) {
  using cql2::Op;
  std::vector<cql2::Expr> operands;
  if (operation.op == Op::kIn) {
    const auto* list = operation.args[1].get_if<cql2::ArrayLiteral>();
    if (list == nullptr) {
      return std::nullopt;
    }
    operands.push_back(operation.args[0]);
    operands.insert(operands.end(), list->items.begin(), list->items.end());
  } else {
    operands = operation.args;
  }
  const std::optional<std::string> property = number_property(operands);
  if (!property) {
    return std::nullopt;
  }
  std::vector<Sql> values;
  for (const auto& expr : operands) {
    std::optional<Sql> value = number_operand(expr, *property);
    if (!value) {
      return std::nullopt;
    }
    values.push_back(std::move(*value));
  }
  Sql sql;
  sql.append("(").append(values[0]);
  switch (operation.op) {
    case Op::kBetween:
      return sql.append(" BETWEEN ").append(values[1]).append(" AND ").append(values[2]).append(")");
    case Op::kIn:
      sql.append(" IN (");
      for (std::size_t n = 1; n < values.size(); ++n) {
        sql.append(n > 1 ? ", " : "").append(values[n]);
      }
      return sql.append("))");
    default:
      break;
  }
  static const std::pair<Op, const char*> kSymbols[] = {{Op::kEqual, " = "},   {Op::kNotEqual, " <> "},
                                                        {Op::kLess, " < "},    {Op::kLessEqual, " <= "},
                                                        {Op::kGreater, " > "}, {Op::kGreaterEqual, " >= "}};
  for (const auto& [candidate, symbol] : kSymbols) {
    if (candidate == operation.op) {
      return sql.append(symbol).append(values[1]).append(")");
    }
  }
  return std::nullopt;
}

Operand Translator::property(const std::string& raw_name) {
  const std::string name = normalize_field(raw_name);
  Operand out;
  switch (column_of(name)) {
    case Column::kId:
      out.value.append("i.id");
      return out;
    case Column::kCollection:
      out.value.append("i.collection");
      return out;
    case Column::kDatetime:
      out.kind = Operand::kInstant;
      out.value.append("i.datetime");
      if (name == "datetime") {
        // As a temporal operand, "datetime" is the item's whole extent.
        out.kind = Operand::kSpan;
        out.begin.append("i.datetime");
        out.end.append("i.end_datetime");
      }
      return out;
    case Column::kEndDatetime:
      out.kind = Operand::kInstant;
      out.value.append("i.end_datetime");
      return out;
    case Column::kGeometry:
      out.kind = Operand::kGeometry;
      out.item_geometry = true;
      out.value.append("i.geometry");
      return out;
    case Column::kNone:
      break;
  }
  out.value = field_expression(name);
  return out;
}

Operand Translator::operand(const cql2::Expr& expr) {
  Operand out;
  if (const auto* ref = expr.get_if<cql2::PropertyRef>()) {
    return property(ref->name);
  }
  if (const auto* literal = expr.get_if<cql2::Literal>()) {
    const auto& v = literal->value;
    if (v.is_null()) {
      out.value.param(nullptr);
    } else if (v.is_boolean()) {
      out.value.param(std::int64_t{v.get<bool>() ? 1 : 0});
    } else if (v.is_number_integer()) {
      out.value.param(v.get<std::int64_t>());
    } else if (v.is_number()) {
      out.value.param(v.get<double>());
    } else if (v.is_string()) {
      out.value.param(v.get<std::string>());
    } else {
      out.kind = Operand::kUnsupported;
    }
    return out;
  }
  if (const auto* timestamp = expr.get_if<cql2::TimestampLiteral>()) {
    out.kind = Operand::kInstant;
    out.value.param(timestamp->micros);
    return out;
  }
  if (const auto* date = expr.get_if<cql2::DateLiteral>()) {
    out.kind = Operand::kInstant;
    out.value.param(date->micros);
    return out;
  }
  if (const auto* interval = expr.get_if<cql2::IntervalLiteral>()) {
    out.kind = Operand::kSpan;
    auto end_sql = [&](const std::optional<cql2::Expr>& end, std::int64_t open, bool is_start) {
      if (!end) {
        Sql sql;
        sql.param(open);
        return sql;
      }
      Operand inner = operand(*end);
      if (!span_of(inner)) {
        out.kind = Operand::kUnsupported;
      }
      return is_start ? inner.begin : inner.end;
    };
    out.begin = end_sql(interval->start, kMinInstant, true);
    out.end = end_sql(interval->end, kMaxInstant, false);
    return out;
  }
  if (const auto* geometry = expr.get_if<cql2::GeometryLiteral>()) {
    out.kind = Operand::kGeometry;
    out.literal_geometry = geometry->geometry;
    out.value.param(Blob{wkb_of(*geometry->geometry)});
    return out;
  }
  if (const auto* box = expr.get_if<cql2::BboxLiteral>()) {
    out.kind = Operand::kGeometry;
    out.literal_geometry = box->geometry;
    out.value.param(Blob{wkb_of(*box->geometry)});
    return out;
  }
  if (const auto* array_literal = expr.get_if<cql2::ArrayLiteral>()) {
    json values = json::array();
    for (const auto& item : array_literal->items) {
      const auto* literal = item.get_if<cql2::Literal>();
      if (literal == nullptr) {
        out.kind = Operand::kUnsupported;
        return out;
      }
      values.push_back(literal->value);
    }
    out.kind = Operand::kArray;
    out.value.param(values.dump());
    return out;
  }
  if (const auto* operation = expr.get_if<cql2::Operation>()) {
    using cql2::Op;
    const Op op = operation->op;
    if (op == Op::kCasei || op == Op::kAccenti) {
      Operand inner = operand(operation->args[0]);
      if (inner.kind != Operand::kValue) {
        out.kind = Operand::kUnsupported;
        return out;
      }
      out.value.append(op == Op::kCasei ? "tsr_casei(" : "tsr_accenti(").append(inner.value).append(")");
      return out;
    }
    static const std::pair<Op, const char*> kArithmetic[] = {
        {Op::kAdd, " + "}, {Op::kSubtract, " - "}, {Op::kMultiply, " * "}, {Op::kDivide, " * 1.0 / "}};
    for (const auto& [arithmetic_op, symbol] : kArithmetic) {
      if (op == arithmetic_op) {
        Operand left = operand(operation->args[0]);
        Operand right = operand(operation->args[1]);
        if (left.kind != Operand::kValue || right.kind != Operand::kValue) {
          break;
        }
        out.value.append("(").append(left.value).append(symbol).append(right.value).append(")");
        return out;
      }
    }
  }
  out.kind = Operand::kUnsupported;
  return out;
}

// Gives `operand` a [begin, end] form; false when it has no temporal meaning.
bool Translator::span_of(Operand& operand) {
  switch (operand.kind) {
    case Operand::kSpan:
      return true;
    case Operand::kInstant:
      operand.begin = operand.value;
      operand.end = operand.value;
      operand.kind = Operand::kSpan;
      return true;
    case Operand::kValue: {
      // A property holding a timestamp string, or a string literal.
      Sql micros;
      micros.append("tsr_micros(").append(operand.value).append(")");
      operand.begin = micros;
      operand.end = micros;
      operand.kind = Operand::kSpan;
      return true;
    }
    default:
      return false;
  }
}

Sql Translator::comparison(const cql2::Expr& expr, const cql2::Operation& operation) {
  if (auto numeric = number_comparison(operation)) {
    return std::move(*numeric);
  }
  const cql2::Op op = operation.op;
  static const std::pair<cql2::Op, const char*> kSymbols[] = {
      {cql2::Op::kEqual, " = "},      {cql2::Op::kNotEqual, " <> "}, {cql2::Op::kLess, " < "},
      {cql2::Op::kLessEqual, " <= "}, {cql2::Op::kGreater, " > "},   {cql2::Op::kGreaterEqual, " >= "}};
  const char* symbol = " = ";
  for (const auto& [candidate, text] : kSymbols) {
    if (candidate == op) {
      symbol = text;
    }
  }
  Operand left = operand(operation.args[0]);
  Operand right = operand(operation.args[1]);
  for (Operand* side : {&left, &right}) {
    if (side->kind == Operand::kSpan && side->begin.text == "i.datetime") {
      side->kind = Operand::kInstant;  // "datetime" compared as a value is its start
    }
  }
  // An instant against anything else compares as instants (a string is parsed;
  // also against "datetime", which the loop above made an instant).
  const bool temporal = left.kind == Operand::kInstant || right.kind == Operand::kInstant;
  for (Operand* side : {&left, &right}) {
    if (temporal && side->kind == Operand::kValue) {
      Sql micros;
      micros.append("tsr_micros(").append(side->value).append(")");
      side->value = micros;
      side->kind = Operand::kInstant;
    }
    if (side->kind != Operand::kValue && side->kind != Operand::kInstant) {
      return fallback(expr);
    }
  }
  Sql sql;
  return sql.append("(").append(left.value).append(symbol).append(right.value).append(")");
}

Sql Translator::spatial(const cql2::Expr& expr, const cql2::Operation& operation) {
  using cql2::Op;
  static const std::pair<Op, SpatialCode> kCodes[] = {{Op::kSIntersects, kIntersects}, {Op::kSEquals, kEquals},
                                                      {Op::kSDisjoint, kDisjoint},     {Op::kSTouches, kTouches},
                                                      {Op::kSWithin, kWithin},         {Op::kSOverlaps, kOverlaps},
                                                      {Op::kSCrosses, kCrosses},       {Op::kSContains, kContains}};
  SpatialCode code = kIntersects;
  for (const auto& [op, candidate] : kCodes) {
    if (op == operation.op) {
      code = candidate;
    }
  }
  Operand a = operand(operation.args[0]);
  Operand b = operand(operation.args[1]);
  if (a.kind != Operand::kGeometry || b.kind != Operand::kGeometry) {
    return fallback(expr);
  }
  Sql sql;
  if (a.item_geometry && b.literal_geometry) {
    // The bbox columns rule out most rows before any geometry is read; a
    // disjoint test cannot use them.
    if (code != kDisjoint) {
      sql.append("(tsr_bbox_intersects(i.minx, i.miny, i.maxx, i.maxy, ")
          .append(bbox_params(b.literal_geometry->bbox()))
          .append(") AND ");
    } else {
      sql.append("(");
    }
    return sql.append("tsr_spatial(").param(std::int64_t{code}).append(", i.geometry, ").append(b.value).append("))");
  }
  if (b.item_geometry && a.literal_geometry) {
    // Keep the constant second: within and contains swap, the rest are symmetric.
    const SpatialCode swapped = code == kWithin ? kContains : code == kContains ? kWithin : code;
    return sql.append("tsr_spatial(").param(std::int64_t{swapped}).append(", i.geometry, ").append(a.value).append(")");
  }
  return sql.append("tsr_spatial2(")
      .param(std::int64_t{code})
      .append(", ")
      .append(a.value)
      .append(", ")
      .append(b.value)
      .append(")");
}

Sql Translator::temporal(const cql2::Expr& expr, const cql2::Operation& operation) {
  Operand a = operand(operation.args[0]);
  Operand b = operand(operation.args[1]);
  const TemporalRelation* relation = temporal_relation(operation.op);
  if (relation == nullptr || !span_of(a) || !span_of(b)) {
    return fallback(expr);
  }
  Sql sql;
  sql.append("(");
  for (std::size_t i = 0; i < relation->clauses.size(); ++i) {
    const TemporalClause& clause = relation->clauses[i];
    sql.append(i > 0 ? (relation->any ? " OR " : " AND ") : "")
        .append(clause.left_begin ? a.begin : a.end)
        .append(" ")
        .append(clause.symbol)
        .append(" ")
        .append(clause.right_begin ? b.begin : b.end);
  }
  return sql.append(")");
}

Sql Translator::array(const cql2::Expr& expr, const cql2::Operation& operation) {
  using cql2::Op;
  ArrayCode code = kArrayEquals;
  switch (operation.op) {
    case Op::kAContains:
      code = kArrayContains;
      break;
    case Op::kAContainedBy:
      code = kArrayContainedBy;
      break;
    case Op::kAOverlaps:
      code = kArrayOverlaps;
      break;
    default:
      break;
  }
  Operand a = operand(operation.args[0]);
  Operand b = operand(operation.args[1]);
  const auto usable = [](const Operand& o) { return o.kind == Operand::kArray || o.kind == Operand::kValue; };
  if (!usable(a) || !usable(b)) {
    return fallback(expr);
  }
  Sql sql;
  return sql.append("tsr_array(")
      .param(std::int64_t{code})
      .append(", ")
      .append(a.value)
      .append(", ")
      .append(b.value)
      .append(")");
}

Sql Translator::boolean(const cql2::Expr& expr) {
  using cql2::Op;
  const auto* operation = expr.get_if<cql2::Operation>();
  if (operation == nullptr) {
    if (const auto* literal = expr.get_if<cql2::Literal>(); literal != nullptr && literal->value.is_boolean()) {
      Sql sql;
      return sql.append(literal->value.get<bool>() ? "1" : "0");
    }
    return fallback(expr);
  }
  const auto& args = operation->args;
  Sql sql;
  switch (operation->op) {
    case Op::kAnd:
    case Op::kOr: {
      sql.append("(");
      for (std::size_t i = 0; i < args.size(); ++i) {
        if (i > 0) {
          sql.append(operation->op == Op::kAnd ? " AND " : " OR ");
        }
        sql.append(boolean(args[i]));
      }
      return sql.append(")");
    }
    case Op::kNot:
      return sql.append("(NOT ").append(boolean(args[0])).append(")");
    case Op::kEqual:
    case Op::kNotEqual:
    case Op::kLess:
    case Op::kLessEqual:
    case Op::kGreater:
    case Op::kGreaterEqual:
      return comparison(expr, *operation);
    case Op::kLike: {
      Operand value = operand(args[0]);
      Operand pattern = operand(args[1]);
      if (value.kind != Operand::kValue || pattern.kind != Operand::kValue) {
        return fallback(expr);
      }
      return sql.append("tsr_like(").append(value.value).append(", ").append(pattern.value).append(")");
    }
    case Op::kBetween: {
      if (auto numeric = number_comparison(*operation)) {
        return std::move(*numeric);
      }
      Operand value = operand(args[0]);
      Operand low = operand(args[1]);
      Operand high = operand(args[2]);
      if (value.kind != Operand::kValue || low.kind != Operand::kValue || high.kind != Operand::kValue) {
        return fallback(expr);
      }
      return sql.append("(")
          .append(value.value)
          .append(" BETWEEN ")
          .append(low.value)
          .append(" AND ")
          .append(high.value)
          .append(")");
    }
    case Op::kIn: {
      if (auto numeric = number_comparison(*operation)) {
        return std::move(*numeric);
      }
      Operand value = operand(args[0]);
      const auto* list = args[1].get_if<cql2::ArrayLiteral>();
      if (value.kind != Operand::kValue || list == nullptr) {
        return fallback(expr);
      }
      sql.append("(").append(value.value).append(" IN (");
      for (std::size_t i = 0; i < list->items.size(); ++i) {
        Operand element = operand(list->items[i]);
        if (element.kind != Operand::kValue) {
          return fallback(expr);
        }
        sql.append(i > 0 ? ", " : "").append(element.value);
      }
      return sql.append("))");
    }
    case Op::kIsNull: {
      Operand value = operand(args[0]);
      if (value.kind == Operand::kUnsupported || value.kind == Operand::kSpan) {
        return fallback(expr);
      }
      return sql.append("(").append(value.value).append(" IS NULL)");
    }
    case Op::kSIntersects:
    case Op::kSEquals:
    case Op::kSDisjoint:
    case Op::kSTouches:
    case Op::kSWithin:
    case Op::kSOverlaps:
    case Op::kSCrosses:
    case Op::kSContains:
      return spatial(expr, *operation);
    case Op::kAEquals:
    case Op::kAContains:
    case Op::kAContainedBy:
    case Op::kAOverlaps:
      return array(expr, *operation);
    default:
      break;
  }
  if (cql2::op_name(operation->op).starts_with("t_")) {
    return temporal(expr, *operation);
  }
  return fallback(expr);
}

}  // namespace

Sql field_expression(const std::string& raw_name) {
  const std::string name = normalize_field(raw_name);
  Sql sql;
  switch (column_of(name)) {
    case Column::kId:
      return sql.append("i.id");
    case Column::kCollection:
      return sql.append("i.collection");
    case Column::kDatetime:
      return sql.append("i.datetime");
    case Column::kEndDatetime:
      return sql.append("i.end_datetime");
    case Column::kGeometry:
      return sql.append("i.geometry");
    case Column::kNone:
      break;
  }
  // Plain names are written into the SQL so expression indexes match them;
  // any other name is a bound parameter.
  if (is_plain_property_name(name)) {
    return sql.append("tsr_property(i.content, '").append(name).append("')");
  }
  return sql.append("tsr_property(i.content, ").param(name).append(")");
}

Sql typed_field_expression(const std::string& raw_name, const SearchTypes& types) {
  const std::string name = normalize_field(raw_name);
  Sql field = field_expression(name);
  if (column_of(name) != Column::kNone || types.read(name) != PropertyRead::kNumberFromText) {
    return field;
  }
  Sql sql;
  return sql.append("tsr_number(").append(field).append(")");
}

bool is_nullable_field(const std::string& name) { return column_of(normalize_field(name)) == Column::kNone; }

Sql translate_filter(const cql2::Expr& filter, const SearchTypes& types) { return Translator(types).boolean(filter); }

QueryableTypes QueryableTypes::read(Connection& connection) {
  QueryableTypes types;
  auto& select = connection.cached("SELECT name, collection, type FROM queryables ORDER BY name, collection");
  while (select.step()) {
    const std::string_view type = select.text(2);
    const std::uint8_t kind = type == "number" || type == "integer" ? kNumber : type == "null" ? 0 : kOther;
    if (kind == 0) {
      continue;
    }
    auto& collections = types.properties[std::string(select.text(0))];
    const std::string_view collection = select.text(1);
    if (!collections.empty() && collections.back().first == collection) {
      collections.back().second |= kind;
    } else {
      collections.emplace_back(std::string(collection), kind);
    }
  }
  select.reset();
  return types;
}

std::shared_ptr<const QueryableTypes> QueryableTypes::of(Connection& connection) {
  const auto version = connection.data_version();
  if (connection.queryable_types == nullptr || connection.queryable_types_version != version) {
    connection.queryable_types = std::make_shared<const QueryableTypes>(read(connection));
    connection.queryable_types_version = version;
  }
  return connection.queryable_types;
}

PropertyRead SearchTypes::read(const std::string& name) const {
  if (types_ == nullptr || column_of(name) != Column::kNone) {
    return PropertyRead::kAsStored;
  }
  const auto found = types_->properties.find(name);
  if (found == types_->properties.end()) {
    return PropertyRead::kAsStored;
  }
  std::uint8_t all = QueryableTypes::kNumber;
  std::uint8_t any = 0;
  for (const auto& [collection, kinds] : found->second) {
    if (collections_.empty() || std::find(collections_.begin(), collections_.end(), collection) != collections_.end()) {
      all &= kinds;
      any |= kinds;
    }
  }
  if (any == 0 || (all & QueryableTypes::kNumber) == 0) {
    return PropertyRead::kAsStored;  // no values here, or a collection without numbers
  }
  return (any & QueryableTypes::kOther) != 0 ? PropertyRead::kNumberFromText : PropertyRead::kNumber;
}

namespace {

// The bbox of the geometry literal a filter's spatial predicate holds the
// item's geometry to, when the filter is that predicate or an AND with it:
// every item it matches intersects the literal (all predicates but
// s_disjoint), so the R*Tree may narrow to the literal's box.
std::optional<Bbox> filter_geometry_box(const cql2::Expr& expr) {
  const auto* operation = expr.get_if<cql2::Operation>();
  if (operation == nullptr) {
    return std::nullopt;
  }
  if (operation->op == cql2::Op::kAnd) {
    for (const auto& conjunct : operation->args) {
      if (auto box = filter_geometry_box(conjunct)) {
        return box;
      }
    }
    return std::nullopt;
  }
  constexpr cql2::Op kIntersecting[] = {cql2::Op::kSIntersects, cql2::Op::kSEquals,   cql2::Op::kSTouches,
                                        cql2::Op::kSWithin,     cql2::Op::kSOverlaps, cql2::Op::kSCrosses,
                                        cql2::Op::kSContains};
  if (std::find(std::begin(kIntersecting), std::end(kIntersecting), operation->op) == std::end(kIntersecting) ||
      operation->args.size() != 2) {
    return std::nullopt;
  }
  for (std::size_t side = 0; side < 2; ++side) {
    const auto* property = operation->args[side].get_if<cql2::PropertyRef>();
    if (property == nullptr || property->name != "geometry") {
      continue;
    }
    const cql2::Expr& other = operation->args[1 - side];
    if (const auto* geometry = other.get_if<cql2::GeometryLiteral>(); geometry != nullptr && geometry->geometry) {
      return geometry->geometry->bbox();
    }
    if (const auto* box = other.get_if<cql2::BboxLiteral>(); box != nullptr && box->geometry) {
      return box->geometry->bbox();
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Bbox> spatial_filter_box(const SearchRequest& request) {
  if (request.bbox) {
    return request.bbox;
  }
  if (request.intersects) {
    return request.intersects->bbox();
  }
  if (request.filter) {
    return filter_geometry_box(*request.filter);
  }
  return std::nullopt;
}

Sql rtree_rowids(const Bbox& box) {
  auto range = [](double minx, double miny, double maxx, double maxy) {
    Sql sql;
    return sql.append("SELECT id FROM items_rtree WHERE minx <= ")
        .param(maxx)
        .append(" AND maxx >= ")
        .param(minx)
        .append(" AND miny <= ")
        .param(maxy)
        .append(" AND maxy >= ")
        .param(miny);
  };
  if (!box.crosses_antimeridian()) {
    return range(box.minx, box.miny, box.maxx, box.maxy);
  }
  return range(box.minx, box.miny, 180.0, box.maxy)
      .append(" UNION ")
      .append(range(-180.0, box.miny, box.maxx, box.maxy));
}

Sql free_text_keys(const FreeText& q, std::string_view fts_table, std::string_view key) {
  Sql sql;
  const std::string all = fmt::format("SELECT {} FROM {}", key, fts_table);
  if (!q.root) {
    return sql.append(all).append(" WHERE 0");
  }
  const Fts5Match match = to_fts5_match(*q.root);
  if (match.negated) {
    sql.append(all).append(" EXCEPT ");
  }
  return sql.append(all).append(fmt::format(" WHERE {} MATCH ", fts_table)).param(match.expression);
}

std::optional<Sql> bbox_only_count(const SearchRequest& request) {
  const bool bbox_only = request.bbox && !request.bbox->crosses_antimeridian() && request.ids.empty() &&
                         request.collections.empty() && !request.datetime && !request.filter && !request.q;
  if (!bbox_only) {
    return std::nullopt;
  }
  const Bbox& box = *request.bbox;
  // R*Tree boxes are rounded outwards, so an entry inside the search box is
  // an item inside it: those are counted from the index alone, and only the
  // items on the box's edge are read and tested exactly.
  auto inside = [&box](Sql& sql) {
    sql.append("minx >= ")
        .param(box.minx)
        .append(" AND maxx <= ")
        .param(box.maxx)
        .append(" AND miny >= ")
        .param(box.miny)
        .append(" AND maxy <= ")
        .param(box.maxy);
  };
  Sql sql;
  sql.append("SELECT (SELECT count(*) FROM items_rtree WHERE ");
  inside(sql);
  sql.append(") + (SELECT count(*) FROM items i WHERE i.rowid IN (").append(rtree_rowids(box)).append(" AND NOT (");
  inside(sql);
  sql.append(")) AND tsr_in_bbox(i.geometry, i.minx, i.miny, i.maxx, i.maxy, ")
      .append(bbox_params(box))
      .append(", ")
      .param(Blob{wkb_of(Geometry::from_bbox(box))})
      .append("))");
  return sql;
}

namespace {

void bind_json_value(Sql& sql, const json& value) {
  if (value.is_number_integer()) {
    sql.param(value.get<std::int64_t>());
  } else if (value.is_number()) {
    sql.param(value.get<double>());
  } else if (value.is_string()) {
    sql.param(value.get<std::string>());
  } else {
    sql.param(nullptr);
  }
}

// The keyset condition "row comes after the cursor" in the given order.
// NULL sorts as the largest value (PostgreSQL's order, which pgstac has).
Sql after_cursor(const std::vector<SortKey>& keys, const std::vector<json>& values, std::size_t index,
                 const SearchTypes& types) {
  const SortKey& key = keys[index];
  const Sql field = typed_field_expression(key.field, types);
  const json& value = values[index];
  const bool last = index + 1 == keys.size();
  Sql rest;
  if (!last) {
    rest = after_cursor(keys, values, index + 1, types);
  }
  Sql sql;
  sql.append("(");
  if (value.is_null()) {
    // Ascending: only other NULLs can follow; descending: every non-NULL follows.
    if (key.descending) {
      sql.append(field).append(" IS NOT NULL");
      if (!last) {
        sql.append(" OR (").append(field).append(" IS NULL AND ").append(rest).append(")");
      }
    } else if (!last) {
      sql.append(field).append(" IS NULL AND ").append(rest);
    } else {
      sql.append("0");
    }
    return sql.append(")");
  }
  sql.append(field).append(key.descending ? " < " : " > ");
  bind_json_value(sql, value);
  if (!key.descending) {
    sql.append(" OR ").append(field).append(" IS NULL");
  }
  if (!last) {
    sql.append(" OR (").append(field).append(" = ");
    bind_json_value(sql, value);
    sql.append(" AND ").append(rest).append(")");
  }
  return sql.append(")");
}

}  // namespace

SearchSql build_search_sql(const SearchRequest& request, SpatialPlan plan, const SearchTypes& types) {
  SearchSql out;
  std::vector<Sql> conditions;
  if (!request.ids.empty()) {
    Sql sql;
    sql.append("i.id IN (");
    for (std::size_t n = 0; n < request.ids.size(); ++n) {
      sql.append(n > 0 ? ", " : "").param(request.ids[n]);
    }
    conditions.push_back(sql.append(")"));
  }
  if (!request.collections.empty()) {
    Sql sql;
    sql.append("i.collection IN (");
    for (std::size_t n = 0; n < request.collections.size(); ++n) {
      sql.append(n > 0 ? ", " : "").param(request.collections[n]);
    }
    conditions.push_back(sql.append(")"));
  }
  if (request.datetime) {
    Sql sql;
    sql.append("i.datetime <= ")
        .param(request.datetime->end.value_or(kMaxInstant))
        .append(" AND i.end_datetime >= ")
        .param(request.datetime->start.value_or(kMinInstant));
    conditions.push_back(sql);
  }
  if (const auto box = spatial_filter_box(request)) {
    if (plan == SpatialPlan::kRtree) {
      Sql sql;
      conditions.push_back(sql.append("i.rowid IN (").append(rtree_rowids(*box)).append(")"));
    }
    // A box from the filter only narrows: the filter itself is the exact test.
    if (request.bbox) {
      Sql exact;
      exact.append("tsr_in_bbox(i.geometry, i.minx, i.miny, i.maxx, i.maxy, ")
          .append(bbox_params(*box))
          .append(", ")
          .param(Blob{wkb_of(Geometry::from_bbox(*box))})
          .append(")");
      conditions.push_back(exact);
    } else if (request.intersects) {
      Sql exact;
      exact.append("tsr_bbox_intersects(i.minx, i.miny, i.maxx, i.maxy, ")
          .append(bbox_params(*box))
          .append(") AND tsr_spatial(")
          .param(std::int64_t{kIntersects})
          .append(", i.geometry, ")
          .param(Blob{wkb_of(*request.intersects)})
          .append(")");
      conditions.push_back(exact);
    }
  }
  if (request.filter) {
    conditions.push_back(translate_filter(*request.filter, types));
  }
  if (request.q) {
    Sql sql;
    conditions.push_back(
        sql.append("i.rowid IN (").append(free_text_keys(*request.q, "items_fts", "rowid")).append(")"));
  }
  out.where.append("1");
  for (const auto& condition : conditions) {
    out.where.append(" AND (").append(condition).append(")");
  }

  std::vector<SortKey> keys = effective_sort(request);
  for (std::size_t n = 0; n + 2 < keys.size(); ++n) {
    out.sort_fields.push_back(keys[n].field);
    out.sort_expressions.push_back(typed_field_expression(keys[n].field, types));
  }
  std::optional<PageCursor> cursor;
  if (request.position) {
    cursor = PageCursor::from_position(*request.position, keys.size() - 2);
  }
  out.reversed = cursor && !cursor->forward;
  if (out.reversed) {
    for (auto& key : keys) {
      key.descending = !key.descending;
    }
  }
  // NULL sorts as the largest value (PostgreSQL's order, which pgstac has):
  // a nullable key sorts by "is null" first, the form property indexes take.
  out.order_by.append("ORDER BY ");
  for (std::size_t n = 0; n < keys.size(); ++n) {
    const char* direction = keys[n].descending ? " DESC" : " ASC";
    const Sql field = typed_field_expression(keys[n].field, types);
    out.order_by.append(n > 0 ? ", " : "");
    if (is_nullable_field(keys[n].field)) {
      out.order_by.append("(").append(field).append(" IS NULL)").append(direction).append(", ");
    }
    out.order_by.append(field).append(direction);
  }
  if (cursor) {
    std::vector<json> values(cursor->values.begin(), cursor->values.end());
    values.emplace_back(cursor->collection);
    values.emplace_back(cursor->id);
    const bool one_direction =
        std::all_of(keys.begin(), keys.end(), [&](const SortKey& key) { return key.descending == keys[0].descending; });
    const bool no_nulls =
        std::none_of(keys.begin(), keys.end(), [](const SortKey& key) { return is_nullable_field(key.field); });
    if (one_direction && no_nulls) {
      // A row-value comparison lets SQLite seek straight to the page in the index.
      out.keyset.append("(");
      for (std::size_t n = 0; n < keys.size(); ++n) {
        out.keyset.append(n > 0 ? ", " : "").append(typed_field_expression(keys[n].field, types));
      }
      out.keyset.append(keys[0].descending ? ") < (" : ") > (");
      for (std::size_t n = 0; n < values.size(); ++n) {
        out.keyset.append(n > 0 ? ", " : "");
        bind_json_value(out.keyset, values[n]);
      }
      out.keyset.append(")");
    } else {
      out.keyset = after_cursor(keys, values, 0, types);
    }
  }
  return out;
}

}  // namespace tessera::catalog::sqlite
