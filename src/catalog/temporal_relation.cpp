#include "catalog/temporal_relation.hpp"

#include <map>

namespace tessera::catalog {

const TemporalRelation* temporal_relation(cql2::Op op) {
  using cql2::Op;
  static const std::map<Op, TemporalRelation> kRelations = {
      {Op::kTAfter, {{{true, ">", false}}}},
      {Op::kTBefore, {{{false, "<", true}}}},
      {Op::kTContains, {{{true, "<", true}, {false, ">", false}}}},
      {Op::kTDisjoint, {{{true, ">", false}, {false, "<", true}}, true}},
      {Op::kTDuring, {{{true, ">", true}, {false, "<", false}}}},
      {Op::kTEquals, {{{true, "=", true}, {false, "=", false}}}},
      {Op::kTFinishedBy, {{{true, "<", true}, {false, "=", false}}}},
      {Op::kTFinishes, {{{true, ">", true}, {false, "=", false}}}},
      {Op::kTIntersects, {{{true, "<=", false}, {false, ">=", true}}}},
      {Op::kTMeets, {{{false, "=", true}}}},
      {Op::kTMetBy, {{{true, "=", false}}}},
      {Op::kTOverlappedBy, {{{true, ">", true}, {true, "<", false}, {false, ">", false}}}},
      {Op::kTOverlaps, {{{true, "<", true}, {false, ">", true}, {false, "<", false}}}},
      {Op::kTStartedBy, {{{true, "=", true}, {false, ">", false}}}},
      {Op::kTStarts, {{{true, "=", true}, {false, "<", false}}}},
  };
  const auto it = kRelations.find(op);
  return it == kRelations.end() ? nullptr : &it->second;
}

}  // namespace tessera::catalog
