#pragma once

// The CQL2 temporal relations as comparisons of span ends, shared by the
// backends that translate them (SQLite SQL, pgstac CQL2-JSON). The
// definitions are those of cql2::evaluate.

#include <vector>

#include "tessera/cql2.hpp"

namespace tessera::catalog {

// One comparison: (a.begin or a.end) <symbol> (b.begin or b.end).
struct TemporalClause {
  bool left_begin;
  const char* symbol;
  bool right_begin;
};

struct TemporalRelation {
  std::vector<TemporalClause> clauses;
  bool any = false;  // the clauses are alternatives (t_disjoint), not all required
};

// The relation of a t_* operator, or nullptr for any other operator.
const TemporalRelation* temporal_relation(cql2::Op op);

}  // namespace tessera::catalog
