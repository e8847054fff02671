#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/cql2.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::cql2 {
namespace {

using nlohmann::json;

// The message of the InvalidInput `action` throws ("" and a test failure otherwise).
std::string invalid_input_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kInvalidInput) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "expected tessera::Error(kInvalidInput)";
  return {};
}

// Expects text_to_json(text) to fail with a message containing every fragment.
void expect_text_error(std::string_view text, const std::vector<std::string_view>& fragments) {
  const std::string message = invalid_input_message([&] { text_to_json(text); });
  for (const std::string_view fragment : fragments) {
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "text: " << text << "\nmessage: " << message << "\nmissing: " << fragment;
  }
}

void expect_json_error(const json& filter, const std::vector<std::string_view>& fragments) {
  const std::string message = invalid_input_message([&] { parse_json(filter); });
  for (const std::string_view fragment : fragments) {
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "filter: " << filter.dump() << "\nmessage: " << message << "\nmissing: " << fragment;
  }
}

void expect_translation(std::string_view text, std::string_view expected_json) {
  EXPECT_EQ(text_to_json(text), json::parse(expected_json)) << text;
}

std::string repeat(std::string_view piece, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out += piece;
  }
  return out;
}

// --- RFC 3339 ----------------------------------------------------------------

TEST(Datetime, ParsesUtcAndOffsets) {
  EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:01.5Z"), 1'500'000);
  EXPECT_EQ(parse_rfc3339_micros("1970-01-01T02:00:00+02:00"), 0);
  EXPECT_EQ(parse_rfc3339_micros("1969-12-31T19:00:00-05:00"), 0);
  EXPECT_EQ(parse_rfc3339_micros("1970-01-01t00:00:00z"), 0);
  EXPECT_EQ(parse_rfc3339_micros("1970-01-01 00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_micros("2020-01-01T00:00:00Z"), 1'577'836'800'000'000);
  EXPECT_EQ(parse_rfc3339_micros("1969-12-31T23:59:59Z"), -1'000'000);
}

TEST(Datetime, FractionsAreTruncatedToMicroseconds) {
  EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00.123456789Z"), 123'456);
  EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00.1Z"), 100'000);
  EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00.000001Z"), 1);
}

TEST(Datetime, LeapDaysAndLeapSeconds) {
  EXPECT_TRUE(parse_rfc3339_micros("2020-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339_micros("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_micros("2021-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_micros("1900-02-29T00:00:00Z"));
  EXPECT_EQ(parse_rfc3339_micros("2016-12-31T23:59:60Z"), parse_rfc3339_micros("2017-01-01T00:00:00Z"));
}

TEST(Datetime, RejectsMalformedTimestamps) {
  for (const char* text :
       {"", "2020-01-01", "2020-01-01T00:00:00", "2020-1-01T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T00:60:00Z",
        "2020-01-01T00:00:61Z", "2020-13-01T00:00:00Z", "2020-00-01T00:00:00Z", "2020-01-32T00:00:00Z",
        "2020-01-01T00:00:00.Z", "2020-01-01T00:00:00+0200", "2020-01-01T00:00:00+24:00", "2020-01-01T00:00:00Zjunk",
        "2020-01-01X00:00:00Z", " 2020-01-01T00:00:00Z", "20200-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339_micros(text)) << text;
  }
}

TEST(Datetime, ParsesDates) {
  EXPECT_EQ(parse_date_micros("1970-01-02"), 86'400'000'000);
  EXPECT_EQ(parse_date_micros("2020-01-01"), parse_rfc3339_micros("2020-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_date_micros("2020-02-30"));
  EXPECT_FALSE(parse_date_micros("2020-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_date_micros("2020/01/01"));
}

TEST(Datetime, SecondsVariant) {
  EXPECT_DOUBLE_EQ(*parse_rfc3339("1970-01-01T00:00:01.25Z"), 1.25);
  EXPECT_FALSE(parse_rfc3339("yesterday"));
}

TEST(Datetime, FormatsCanonicalUtc) {
  EXPECT_EQ(format_rfc3339_micros(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_micros(1'500'000), "1970-01-01T00:00:01.500000Z");
  EXPECT_EQ(format_rfc3339_micros(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_rfc3339(1.25), "1970-01-01T00:00:01.250000Z");
  EXPECT_EQ(format_rfc3339(1577836800.0), "2020-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2020-06-15T12:30:00+02:00")), "2020-06-15T10:30:00Z");
  EXPECT_EQ(format_rfc3339_micros(*parse_rfc3339_micros("0000-01-01T00:00:00Z")), "0000-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_micros(*parse_rfc3339_micros("9999-12-31T23:59:59.999999Z")), "9999-12-31T23:59:59.999999Z");
}

TEST(Datetime, FormatRejectsOutOfRange) {
  invalid_input_message([] { format_rfc3339(std::nan("")); });
  invalid_input_message([] { format_rfc3339(INFINITY); });
  invalid_input_message([] { format_rfc3339(1e12); });
  invalid_input_message([] { format_rfc3339_micros(*parse_rfc3339_micros("0000-01-01T00:00:00Z") - 1); });
}

TEST(Datetime, RoundTripsThroughText) {
  for (const char* text :
       {"2020-02-29T23:59:59.999999Z", "1999-12-31T00:00:00Z", "2038-01-19T03:14:08.000001Z", "1901-12-13T20:45:52Z"}) {
    EXPECT_EQ(format_rfc3339_micros(*parse_rfc3339_micros(text)), text);
  }
}

// --- CQL2-Text to CQL2-JSON --------------------------------------------------

TEST(TextToJson, Comparisons) {
  expect_translation("eo:cloud_cover < 10", R"({"op":"<","args":[{"property":"eo:cloud_cover"},10]})");
  expect_translation("a <= 1.5", R"({"op":"<=","args":[{"property":"a"},1.5]})");
  expect_translation("a > -2", R"({"op":">","args":[{"property":"a"},-2]})");
  expect_translation("a >= 1e3", R"({"op":">=","args":[{"property":"a"},1000.0]})");
  expect_translation("a = 'x'", R"({"op":"=","args":[{"property":"a"},"x"]})");
  expect_translation("a <> 'x'", R"({"op":"<>","args":[{"property":"a"},"x"]})");
  expect_translation("a=b", R"({"op":"=","args":[{"property":"a"},{"property":"b"}]})");
  expect_translation("flag = TRUE", R"({"op":"=","args":[{"property":"flag"},true]})");
  expect_translation("flag = false", R"({"op":"=","args":[{"property":"flag"},false]})");
  expect_translation("10 > a", R"({"op":">","args":[10,{"property":"a"}]})");
}

TEST(TextToJson, OfficialExamples) {
  expect_translation("eo:cloud_cover < 10 AND collection = 'sentinel-2-l2a'",
                     R"({"op":"and","args":[{"op":"<","args":[{"property":"eo:cloud_cover"},10]},
          {"op":"=","args":[{"property":"collection"},"sentinel-2-l2a"]}]})");
  expect_translation("S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 1, 0 0)))",
                     R"({"op":"s_intersects","args":[{"property":"geometry"},
          {"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}]})");
  expect_translation("T_INTERSECTS(datetime, INTERVAL('2020-01-01T00:00:00Z','..'))",
                     R"({"op":"t_intersects","args":[{"property":"datetime"},
          {"interval":["2020-01-01T00:00:00Z",".."]}]})");
  expect_translation("A_CONTAINS(keywords, ('a','b'))",
                     R"({"op":"a_contains","args":[{"property":"keywords"},["a","b"]]})");
  expect_translation(R"("eo:cloud_cover" BETWEEN 0 AND 10)",
                     R"({"op":"between","args":[{"property":"eo:cloud_cover"},0,10]})");
  expect_translation("id IN ('a','b')", R"({"op":"in","args":[{"property":"id"},["a","b"]]})");
  expect_translation("CASEI(platform) = CASEI('SENTINEL-2A')",
                     R"({"op":"=","args":[{"op":"casei","args":[{"property":"platform"}]},
                         {"op":"casei","args":["SENTINEL-2A"]}]})");
}

TEST(TextToJson, BooleanPrecedence) {
  // NOT binds tighter than AND, AND tighter than OR.
  expect_translation("a = 1 OR b = 2 AND c = 3",
                     R"({"op":"or","args":[{"op":"=","args":[{"property":"a"},1]},
                         {"op":"and","args":[{"op":"=","args":[{"property":"b"},2]},
                                             {"op":"=","args":[{"property":"c"},3]}]}]})");
  expect_translation("NOT a = 1 AND b = 2",
                     R"({"op":"and","args":[{"op":"not","args":[{"op":"=","args":[{"property":"a"},1]}]},
                         {"op":"=","args":[{"property":"b"},2]}]})");
  expect_translation("(a = 1 OR b = 2) AND c = 3",
                     R"({"op":"and","args":[{"op":"or","args":[{"op":"=","args":[{"property":"a"},1]},
                         {"op":"=","args":[{"property":"b"},2]}]},{"op":"=","args":[{"property":"c"},3]}]})");
  expect_translation("NOT (a = 1 OR b = 2)",
                     R"({"op":"not","args":[{"op":"or","args":[{"op":"=","args":[{"property":"a"},1]},
                         {"op":"=","args":[{"property":"b"},2]}]}]})");
  expect_translation("NOT NOT a = 1",
                     R"({"op":"not","args":[{"op":"not","args":[{"op":"=","args":[{"property":"a"},1]}]}]})");
}

TEST(TextToJson, ChainsOfOneOperatorAreFlattened) {
  expect_translation("a = 1 AND b = 2 AND c = 3",
                     R"({"op":"and","args":[{"op":"=","args":[{"property":"a"},1]},
                         {"op":"=","args":[{"property":"b"},2]},{"op":"=","args":[{"property":"c"},3]}]})");
  expect_translation("a = 1 or b = 2 or c = 3",
                     R"({"op":"or","args":[{"op":"=","args":[{"property":"a"},1]},
                         {"op":"=","args":[{"property":"b"},2]},{"op":"=","args":[{"property":"c"},3]}]})");
}

TEST(TextToJson, BooleanLiteralsArePredicates) {
  expect_translation("TRUE", "true");
  expect_translation("true AND a = 1", R"({"op":"and","args":[true,{"op":"=","args":[{"property":"a"},1]}]})");
  expect_translation("NOT FALSE", R"({"op":"not","args":[false]})");
}

TEST(TextToJson, KeywordsAreCaseInsensitive) {
  expect_translation("a = 1 and not b is null or c like 'x%'",
                     R"({"op":"or","args":[{"op":"and","args":[{"op":"=","args":[{"property":"a"},1]},
                         {"op":"not","args":[{"op":"isNull","args":[{"property":"b"}]}]}]},
                         {"op":"like","args":[{"property":"c"},"x%"]}]})");
  expect_translation("s_intersects(geometry, point(1 2))",
                     R"({"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[1,2]}]})");
  expect_translation("t_after(datetime, timestamp('2020-01-01T00:00:00Z'))",
                     R"({"op":"t_after","args":[{"property":"datetime"},{"timestamp":"2020-01-01T00:00:00Z"}]})");
}

TEST(TextToJson, LikeAndNotLike) {
  expect_translation("title LIKE 'Sentinel%'", R"({"op":"like","args":[{"property":"title"},"Sentinel%"]})");
  expect_translation("title NOT LIKE '_x\\%'",
                     R"({"op":"not","args":[{"op":"like","args":[{"property":"title"},"_x\\%"]}]})");
  expect_translation("CASEI(title) LIKE CASEI('sent%')",
                     R"({"op":"like","args":[{"op":"casei","args":[{"property":"title"}]},
                         {"op":"casei","args":["sent%"]}]})");
}

TEST(TextToJson, BetweenAndNotBetween) {
  expect_translation("a BETWEEN -1 AND 2.5", R"({"op":"between","args":[{"property":"a"},-1,2.5]})");
  expect_translation("a NOT BETWEEN 1 AND 2 AND b = 1",
                     R"({"op":"and","args":[{"op":"not","args":[{"op":"between","args":[{"property":"a"},1,2]}]},
                         {"op":"=","args":[{"property":"b"},1]}]})");
  expect_translation("a BETWEEN b + 1 AND c * 2",
                     R"({"op":"between","args":[{"property":"a"},{"op":"+","args":[{"property":"b"},1]},
                         {"op":"*","args":[{"property":"c"},2]}]})");
}

TEST(TextToJson, InAndNotIn) {
  expect_translation("a IN (1, 2, 3)", R"({"op":"in","args":[{"property":"a"},[1,2,3]]})");
  expect_translation("a NOT IN ('x')", R"({"op":"not","args":[{"op":"in","args":[{"property":"a"},["x"]]}]})");
  expect_translation("datetime IN (TIMESTAMP('2020-01-01T00:00:00Z'), DATE('2020-01-02'))",
                     R"({"op":"in","args":[{"property":"datetime"},
                         [{"timestamp":"2020-01-01T00:00:00Z"},{"date":"2020-01-02"}]]})");
}

TEST(TextToJson, IsNullAndIsNotNull) {
  expect_translation("a IS NULL", R"({"op":"isNull","args":[{"property":"a"}]})");
  expect_translation("a IS NOT NULL", R"({"op":"not","args":[{"op":"isNull","args":[{"property":"a"}]}]})");
  expect_translation("a + 1 IS NULL", R"({"op":"isNull","args":[{"op":"+","args":[{"property":"a"},1]}]})");
}

TEST(TextToJson, CaseAndAccentInsensitivity) {
  expect_translation("ACCENTI(title) = ACCENTI('Château')",
                     R"({"op":"=","args":[{"op":"accenti","args":[{"property":"title"}]},
                         {"op":"accenti","args":["Château"]}]})");
  expect_translation(
      "CASEI(ACCENTI(title)) = 'x'",
      R"({"op":"=","args":[{"op":"casei","args":[{"op":"accenti","args":[{"property":"title"}]}]},"x"]})");
}

TEST(TextToJson, EverySpatialFunction) {
  const std::pair<const char*, const char*> functions[] = {
      {"S_INTERSECTS", "s_intersects"}, {"S_WITHIN", "s_within"},  {"S_CONTAINS", "s_contains"},
      {"S_DISJOINT", "s_disjoint"},     {"S_EQUALS", "s_equals"},  {"S_OVERLAPS", "s_overlaps"},
      {"S_TOUCHES", "s_touches"},       {"S_CROSSES", "s_crosses"}};
  for (const auto& [text, name] : functions) {
    const json expected = {{"op", name}, {"args", {{{"property", "geometry"}}, {{"bbox", {0, 1, 2, 3}}}}}};
    EXPECT_EQ(text_to_json(std::string(text) + "(geometry, BBOX(0, 1, 2, 3))"), expected) << text;
  }
}

TEST(TextToJson, WktGeometries) {
  auto geometry = [](const std::string& wkt) { return text_to_json("S_INTERSECTS(geometry, " + wkt + ")")["args"][1]; };
  EXPECT_EQ(geometry("POINT(1 2)"), json::parse(R"({"type":"Point","coordinates":[1,2]})"));
  EXPECT_EQ(geometry("POINT(-1.5 +2e1)"), json::parse(R"({"type":"Point","coordinates":[-1.5,20]})"));
  EXPECT_EQ(geometry("POINT Z (1 2 3)"), json::parse(R"({"type":"Point","coordinates":[1,2,3]})"));
  EXPECT_EQ(geometry("POINT(1 2 3)"), json::parse(R"({"type":"Point","coordinates":[1,2,3]})"));
  EXPECT_EQ(geometry("LINESTRING(0 0, 1 1, 2 0)"),
            json::parse(R"({"type":"LineString","coordinates":[[0,0],[1,1],[2,0]]})"));
  EXPECT_EQ(geometry("POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 2 1, 2 2, 1 1))"),
            json::parse(R"({"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],
                            [[1,1],[2,1],[2,2],[1,1]]]})"));
  EXPECT_EQ(geometry("MULTIPOINT((1 2), (3 4))"), json::parse(R"({"type":"MultiPoint","coordinates":[[1,2],[3,4]]})"));
  EXPECT_EQ(geometry("MULTIPOINT(1 2, 3 4)"), json::parse(R"({"type":"MultiPoint","coordinates":[[1,2],[3,4]]})"));
  EXPECT_EQ(geometry("MULTILINESTRING((0 0, 1 1), (2 2, 3 3))"),
            json::parse(R"({"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[2,2],[3,3]]]})"));
  EXPECT_EQ(geometry("MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))"),
            json::parse(R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],
                            [[[5,5],[6,5],[6,6],[5,5]]]]})"));
  EXPECT_EQ(geometry("GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1))"),
            json::parse(R"({"type":"GeometryCollection","geometries":[
                            {"type":"Point","coordinates":[1,2]},
                            {"type":"LineString","coordinates":[[0,0],[1,1]]}]})"));
  EXPECT_EQ(geometry("POLYGON Z ((0 0 1, 1 0 1, 1 1 1, 0 0 1))"),
            json::parse(R"({"type":"Polygon","coordinates":[[[0,0,1],[1,0,1],[1,1,1],[0,0,1]]]})"));
  EXPECT_EQ(geometry("BBOX(-10, -5.5, 10, 5.5)"), json::parse(R"({"bbox":[-10,-5.5,10,5.5]})"));
  EXPECT_EQ(geometry("BBOX(0, 0, -1, 1, 1, 2)"), json::parse(R"({"bbox":[0,0,-1,1,1,2]})"));
}

TEST(TextToJson, EveryTemporalFunction) {
  const std::pair<const char*, const char*> functions[] = {
      {"T_AFTER", "t_after"},           {"T_BEFORE", "t_before"},       {"T_CONTAINS", "t_contains"},
      {"T_DISJOINT", "t_disjoint"},     {"T_DURING", "t_during"},       {"T_EQUALS", "t_equals"},
      {"T_FINISHEDBY", "t_finishedBy"}, {"T_FINISHES", "t_finishes"},   {"T_INTERSECTS", "t_intersects"},
      {"T_MEETS", "t_meets"},           {"T_METBY", "t_metBy"},         {"T_OVERLAPPEDBY", "t_overlappedBy"},
      {"T_OVERLAPS", "t_overlaps"},     {"T_STARTEDBY", "t_startedBy"}, {"T_STARTS", "t_starts"}};
  for (const auto& [text, name] : functions) {
    const json expected = {
        {"op", name}, {"args", {{{"property", "datetime"}}, {{"interval", {"2020-01-01", "2020-12-31T23:59:59Z"}}}}}};
    EXPECT_EQ(text_to_json(std::string(text) + "(datetime, INTERVAL('2020-01-01', '2020-12-31T23:59:59Z'))"), expected)
        << text;
  }
}

TEST(TextToJson, TemporalLiterals) {
  expect_translation("datetime > TIMESTAMP('2020-01-01T00:00:00.5+02:00')",
                     R"({"op":">","args":[{"property":"datetime"},{"timestamp":"2020-01-01T00:00:00.5+02:00"}]})");
  expect_translation("updated >= DATE('2020-01-01')",
                     R"({"op":">=","args":[{"property":"updated"},{"date":"2020-01-01"}]})");
  expect_translation("T_DURING(INTERVAL(start_datetime, end_datetime), INTERVAL('..', '2021-01-01'))",
                     R"({"op":"t_during","args":[{"interval":[{"property":"start_datetime"},
                         {"property":"end_datetime"}]},{"interval":["..","2021-01-01"]}]})");
  expect_translation("T_EQUALS(datetime, INTERVAL(DATE('2020-01-01'), TIMESTAMP('2020-01-02T00:00:00Z')))",
                     R"({"op":"t_equals","args":[{"property":"datetime"},
                         {"interval":["2020-01-01","2020-01-02T00:00:00Z"]}]})");
}

TEST(TextToJson, EveryArrayFunction) {
  expect_translation("A_EQUALS(keywords, ('a', 'b'))",
                     R"({"op":"a_equals","args":[{"property":"keywords"},["a","b"]]})");
  expect_translation("A_CONTAINS(keywords, ('a'))", R"({"op":"a_contains","args":[{"property":"keywords"},["a"]]})");
  expect_translation("A_CONTAINEDBY(keywords, ())", R"({"op":"a_containedBy","args":[{"property":"keywords"},[]]})");
  expect_translation("A_OVERLAPS(('a', 1, TRUE, (2, 3)), keywords)",
                     R"({"op":"a_overlaps","args":[["a",1,true,[2,3]],{"property":"keywords"}]})");
  expect_translation("a_overlaps(a, b)", R"({"op":"a_overlaps","args":[{"property":"a"},{"property":"b"}]})");
}

TEST(TextToJson, Arithmetic) {
  expect_translation("a + 1 > 2", R"({"op":">","args":[{"op":"+","args":[{"property":"a"},1]},2]})");
  expect_translation("a - b - c = 0",
                     R"({"op":"=","args":[{"op":"-","args":[{"op":"-","args":[{"property":"a"},{"property":"b"}]},
                         {"property":"c"}]},0]})");
  expect_translation("a + b * c = 0",
                     R"({"op":"=","args":[{"op":"+","args":[{"property":"a"},{"op":"*","args":[{"property":"b"},
                         {"property":"c"}]}]},0]})");
  expect_translation("(a + b) * c = 0",
                     R"({"op":"=","args":[{"op":"*","args":[{"op":"+","args":[{"property":"a"},{"property":"b"}]},
                         {"property":"c"}]},0]})");
  expect_translation("a / 2 % 3 = 1",
                     R"({"op":"=","args":[{"op":"%","args":[{"op":"/","args":[{"property":"a"},2]},3]},1]})");
  expect_translation("a div 2 = 1", R"({"op":"=","args":[{"op":"div","args":[{"property":"a"},2]},1]})");
  expect_translation("2 ^ 3 ^ 2 = a",
                     R"({"op":"=","args":[{"op":"^","args":[2,{"op":"^","args":[3,2]}]},{"property":"a"}]})");
  expect_translation("-a < 0", R"({"op":"<","args":[{"op":"*","args":[-1,{"property":"a"}]},0]})");
  expect_translation("a > - -3", R"({"op":">","args":[{"property":"a"},3]})");
  expect_translation("a > -(2)", R"({"op":">","args":[{"property":"a"},-2]})");
}

TEST(TextToJson, LiteralsAndIdentifiers) {
  expect_translation(R"("eo:cloud_cover" = 1)", R"({"op":"=","args":[{"property":"eo:cloud_cover"},1]})");
  expect_translation(R"("with ""quote""" = 1)", R"({"op":"=","args":[{"property":"with \"quote\""},1]})");
  expect_translation(R"("AND" = 1)", R"({"op":"=","args":[{"property":"AND"},1]})");
  expect_translation("properties.view:sun_elevation > 0",
                     R"({"op":">","args":[{"property":"properties.view:sun_elevation"},0]})");
  expect_translation("_private1 = 1", R"({"op":"=","args":[{"property":"_private1"},1]})");
  expect_translation("höhe = 1", R"({"op":"=","args":[{"property":"höhe"},1]})");
  expect_translation("a = 'it''s'", R"({"op":"=","args":[{"property":"a"},"it's"]})");
  expect_translation("a = 'it\\'s'", R"({"op":"=","args":[{"property":"a"},"it's"]})");
  expect_translation("a = ''", R"({"op":"=","args":[{"property":"a"},""]})");
  expect_translation("a = .5", R"({"op":"=","args":[{"property":"a"},0.5]})");
  expect_translation("a = 5.", R"({"op":"=","args":[{"property":"a"},5.0]})");
  expect_translation("a = 2.5E-3", R"({"op":"=","args":[{"property":"a"},0.0025]})");
  expect_translation("a = 99999999999999999999", R"({"op":"=","args":[{"property":"a"},1e20]})");
  // Function keywords not followed by '(' are ordinary property names.
  expect_translation("date = 1", R"({"op":"=","args":[{"property":"date"},1]})");
  expect_translation("point = 1", R"({"op":"=","args":[{"property":"point"},1]})");
  expect_translation("\ta\n=\r\n1 ", R"({"op":"=","args":[{"property":"a"},1]})");
}

TEST(TextToJson, IntegersStayIntegers) {
  const json filter = text_to_json("a = 10");
  EXPECT_TRUE(filter["args"][1].is_number_integer());
  EXPECT_EQ(filter.dump(), R"({"args":[{"property":"a"},10],"op":"="})");
}

// --- CQL2-Text errors --------------------------------------------------------

TEST(TextErrors, NameTheCharacterAndTheToken) {
  expect_text_error("a = ", {"character 4", "expected an expression", "the end of the text"});
  expect_text_error("a = 1 AND", {"character 9", "expected an expression"});
  expect_text_error("a = 1 b = 2", {"character 6", "expected AND, OR", "'b'"});
  expect_text_error("a < b < c", {"character 6", "'<'"});
  expect_text_error("(a = 1", {"character 6", "expected ')'"});
  expect_text_error("a = 1)", {"character 5", "')'"});
  expect_text_error("a == 1", {"character 3", "expected an expression", "'='"});
  expect_text_error("a = 'abc", {"character 4", "unterminated string"});
  expect_text_error("\"abc = 1", {"character 0", "unterminated quoted identifier"});
  expect_text_error("\"\" = 1", {"character 0", "empty quoted identifier"});
  expect_text_error("a = 1 ; b = 2", {"character 6", "unexpected character ';'"});
  expect_text_error("a != 1", {"character 2", "unexpected character '!'"});
  expect_text_error("a = 1.2.3", {"character 4", "malformed number '1.2.3'"});
  expect_text_error("a = 12abc", {"character 4", "malformed number"});
  expect_text_error("a = 1e", {"character 4", "malformed number"});
  expect_text_error("a = 1e999", {"character 4", "number out of range"});
  expect_text_error("", {"character 0", "expected an expression"});
  expect_text_error("   ", {"character 3", "the end of the text"});
}

TEST(TextErrors, LongTokensAreShortenedInMessages) {
  const std::string message = invalid_input_message([] { text_to_json("a = 1 " + std::string(100000, 'x')); });
  EXPECT_LT(message.size(), 200U) << message;
  EXPECT_NE(message.find("'xxxxxxxxxx"), std::string::npos) << message;
  const std::string json_message = invalid_input_message([] {
    parse_json(json{{"op", std::string(100000, 'y')}, {"args", json::array()}});
  });
  EXPECT_LT(json_message.size(), 200U) << json_message;
}

TEST(TextErrors, CountCharactersNotBytes) { expect_text_error("'é' = 'e' x", {"character 10", "'x'"}); }

TEST(TextErrors, InvalidUtf8) {
  expect_text_error("a = '\xC3\x28'", {"character 5", "invalid UTF-8"});
  expect_text_error("a = '\xED\xA0\x80'", {"invalid UTF-8"});  // a UTF-16 surrogate
  expect_text_error("a = '\xC0\xAF'", {"invalid UTF-8"});      // overlong
}

TEST(TextErrors, NotAPredicate) {
  expect_text_error("eo:cloud_cover", {"character 0", "must be a predicate", "property 'eo:cloud_cover'"});
  expect_text_error("1 + 2", {"must be a predicate", "'+' expression"});
  expect_text_error("eo:cloud_cover 10", {"character 15", "expected an operator after property"});
  expect_text_error("a AND b = 1", {"character 0", "AND expects a boolean expression as argument 1", "property 'a'"});
  expect_text_error("NOT 5", {"character 4", "NOT expects a boolean expression", "number 5"});
}

TEST(TextErrors, OperatorsNameTheirOperands) {
  expect_text_error("a = 1 + 'x'", {"character 8", "+ expects a number as argument 2", "string 'x'"});
  expect_text_error("'a' < 1", {"character 6", "< cannot compare string 'a' with number 1"});
  expect_text_error("a LIKE 5", {"character 7", "LIKE expects a string as argument 2"});
  expect_text_error("a BETWEEN 'x' AND 2", {"BETWEEN cannot compare property 'a' with number 2"});
  expect_text_error("a BETWEEN 1 2", {"character 12", "expected AND between the bounds of BETWEEN"});
  expect_text_error("a IN ()", {"character 6", "an IN list needs at least one value"});
  expect_text_error("a IN (1, 'x')", {"character 9", "an IN list cannot mix number 1 and string 'x'"});
  expect_text_error("1 IN ('x')", {"character 6", "IN cannot compare number 1 with string 'x'"});
  expect_text_error("a IN 1", {"character 5", "expected '(' to open the IN list"});
  expect_text_error("a IS 1", {"character 5", "expected NULL after IS"});
  expect_text_error("a IS NOT 1", {"expected NULL after IS NOT"});
  expect_text_error("CASEI(1) = 'x'", {"character 6", "CASEI expects a string", "number 1"});
  expect_text_error("TIMESTAMP('2020-01-01T00:00:00Z') = 'x'",
                    {"character 36", "= cannot compare TIMESTAMP('2020-01-01T00:00:00Z') with string 'x'"});
  expect_text_error("POINT(1 2) = 1", {"character 0", "= expects a string, number, boolean"});
}

TEST(TextErrors, Functions) {
  expect_text_error("FOO(a) = 1", {"character 0", "unknown function", "'FOO'"});
  expect_text_error("S_INTERSECTS(geometry) AND a = 1", {"character 0", "S_INTERSECTS takes 2 arguments, found 1"});
  expect_text_error("S_INTERSECTS(geometry, POINT(1 2), POINT(3 4))", {"takes 2 arguments, found 3"});
  expect_text_error("S_INTERSECTS(geometry, 5)",
                    {"character 23", "S_INTERSECTS expects a geometry as argument 2", "number 5"});
  expect_text_error("S_INTERSECTS(geometry POINT(1 2))",
                    {"character 22", "expected ')' or ',' after an argument of S_INTERSECTS", "'POINT'"});
  expect_text_error("T_AFTER(datetime, 5)", {"T_AFTER expects a timestamp, date or interval"});
  expect_text_error("A_CONTAINS(keywords, 'a')", {"character 21", "A_CONTAINS expects an array"});
  expect_text_error("AND(a)", {"character 0", "expected an expression", "'AND'"});
  expect_text_error("isNull(a)", {"character 0", "unknown function"});
}

TEST(TextErrors, TemporalLiterals) {
  expect_text_error("datetime > TIMESTAMP('2020-01-01')",
                    {"character 21", "TIMESTAMP needs an RFC 3339 timestamp", "string '2020-01-01'"});
  expect_text_error("datetime > TIMESTAMP(2020)", {"TIMESTAMP needs", "number 2020"});
  expect_text_error("datetime > DATE('2020-02-30')", {"character 16", "DATE needs a date"});
  expect_text_error("T_INTERSECTS(datetime, INTERVAL('2021-01-01', '2020-01-01'))",
                    {"character 32", "INTERVAL starts after it ends"});
  expect_text_error("T_INTERSECTS(datetime, INTERVAL('yesterday', '..'))", {"character 32", "an INTERVAL end must be"});
  expect_text_error("T_INTERSECTS(datetime, INTERVAL(1, '..'))", {"character 32", "number 1"});
  expect_text_error("T_INTERSECTS(datetime, INTERVAL('..'))", {"expected ',' between the ends of INTERVAL"});
}

TEST(TextErrors, SpatialLiterals) {
  expect_text_error("S_INTERSECTS(geometry, BBOX(1, 2, 3))", {"character 23", "BBOX takes 4 or 6 numbers, found 3"});
  expect_text_error("S_INTERSECTS(geometry, BBOX(0, 5, 1, 4))", {"BBOX south is greater"});
  expect_text_error("S_INTERSECTS(geometry, BBOX(0, 'a', 1, 4))", {"expected a BBOX coordinate"});
  expect_text_error("S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 1)))",
                    {"character 31", "POLYGON ring is not closed"});
  expect_text_error("S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 0 0)))",
                    {"POLYGON needs at least 4 positions, found 3"});
  expect_text_error("S_INTERSECTS(geometry, LINESTRING(0 0))", {"LINESTRING needs at least 2 positions"});
  expect_text_error("S_INTERSECTS(geometry, LINESTRING(0 0, 1 1 1))",
                    {"character 39", "expected a position of 2 coordinates, found 3"});
  expect_text_error("S_INTERSECTS(geometry, POINT Z (1 2))", {"expected a position of 3 coordinates"});
  expect_text_error("S_INTERSECTS(geometry, POINT M (1 2 3))", {"measured (M) coordinates"});
  expect_text_error("S_INTERSECTS(geometry, POINT EMPTY)", {"empty geometries are not supported"});
  expect_text_error("S_INTERSECTS(geometry, POINT(1))", {"expected a coordinate", "')'"});
  expect_text_error("S_INTERSECTS(geometry, POINT(1 2)", {"expected ')' or ','"});
  expect_text_error("S_INTERSECTS(geometry, GEOMETRYCOLLECTION(1 2))",
                    {"expected a geometry (POINT, POLYGON, ...) in GEOMETRYCOLLECTION"});
}

TEST(TextErrors, DepthLimit) {
  // Exactly at the limit is fine; one more level is refused, never a stack overflow.
  const std::size_t fits = kMaxDepth - 1;
  EXPECT_NO_THROW(text_to_json(repeat("(", fits) + "a = 1" + repeat(")", fits)));
  expect_text_error(repeat("(", kMaxDepth + 1) + "a = 1" + repeat(")", kMaxDepth + 1),
                    {"nesting deeper than 256 levels"});
  expect_text_error(repeat("(", 100000), {"nesting deeper than 256 levels"});
  expect_text_error(repeat("NOT ", 300) + "a = 1", {"nesting deeper than 256 levels"});
  expect_text_error("a = " + repeat("-", 300) + "1", {"nesting deeper than 256 levels"});
  expect_text_error("a = 1" + repeat(" + 1", 300), {"nesting deeper than 256 levels"});
  expect_text_error("A_CONTAINS(a, " + repeat("(", 300) + repeat(")", 300) + ")", {"nesting deeper than 256 levels"});
  expect_text_error("S_INTERSECTS(geometry, " + repeat("GEOMETRYCOLLECTION(", 300) + "POINT(1 2)" + repeat(")", 301),
                    {"nesting deeper than 256 levels"});
}

// Random token soup: every outcome is a filter or InvalidInput, never a crash
// or another exception.
TEST(TextErrors, RandomInputOnlyFailsWithInvalidInput) {
  const std::vector<std::string> tokens = {"a",
                                           "eo:cloud_cover",
                                           "\"q\"",
                                           "'s'",
                                           "'2020-01-01'",
                                           "1",
                                           "-",
                                           "2.5e3",
                                           "(",
                                           ")",
                                           ",",
                                           "=",
                                           "<>",
                                           "<",
                                           ">=",
                                           "+",
                                           "*",
                                           "/",
                                           "^",
                                           "%",
                                           "AND",
                                           "OR",
                                           "NOT",
                                           "LIKE",
                                           "BETWEEN",
                                           "IN",
                                           "IS",
                                           "NULL",
                                           "TRUE",
                                           "DIV",
                                           "CASEI",
                                           "S_INTERSECTS",
                                           "POINT",
                                           "POLYGON",
                                           "BBOX",
                                           "Z",
                                           "T_AFTER",
                                           "INTERVAL",
                                           "'..'",
                                           "DATE",
                                           "TIMESTAMP",
                                           "A_CONTAINS",
                                           "GEOMETRYCOLLECTION",
                                           "'2020-01-01T00:00:00Z'",
                                           "geometry",
                                           "datetime",
                                           "\xC3",
                                           "!",
                                           "'unterminated",
                                           "1e"};
  std::mt19937 random(12345);
  const json item = json::parse(R"({"id":"x","geometry":{"type":"Point","coordinates":[1,2]},
      "properties":{"a":1,"datetime":"2020-01-01T00:00:00Z","eo:cloud_cover":5}})");
  int parsed = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const std::size_t length = 1 + random() % 12;
    for (std::size_t i = 0; i < length; ++i) {
      text += tokens[random() % tokens.size()];
      text += random() % 4 == 0 ? "" : " ";
    }
    try {
      const Expr expr = parse_text(text);
      evaluate(expr, item);
      EXPECT_EQ(to_json(parse_json(to_json(expr))), to_json(expr)) << text;
      ++parsed;
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::kInvalidInput) << text;
    } catch (const std::exception& error) {
      ADD_FAILURE() << text << ": " << error.what();
    }
  }
  EXPECT_GT(parsed, 0);
}

TEST(TextErrors, SizeLimit) {
  const std::string huge = "a = '" + std::string(kMaxTextBytes, 'x') + "'";
  expect_text_error(huge, {"longer than the"});
}

// --- CQL2-JSON validation ----------------------------------------------------

TEST(ParseJson, AcceptsEveryOperator) {
  const char* filters[] = {
      R"({"op":"and","args":[true,false,{"op":"not","args":[true]}]})",
      R"({"op":"or","args":[true,false]})",
      R"({"op":"=","args":[{"property":"a"},1]})",
      R"({"op":"<>","args":[{"property":"a"},"x"]})",
      R"({"op":"<","args":[{"property":"a"},{"timestamp":"2020-01-01T00:00:00Z"}]})",
      R"({"op":"<=","args":[{"property":"a"},{"date":"2020-01-01"}]})",
      R"({"op":">","args":[{"property":"a"},{"property":"b"}]})",
      R"({"op":">=","args":[{"op":"+","args":[{"property":"a"},1]},2]})",
      R"({"op":"like","args":[{"property":"a"},{"op":"casei","args":["X%"]}]})",
      R"({"op":"between","args":[{"property":"a"},1,{"op":"*","args":[2,{"property":"b"}]}]})",
      R"({"op":"in","args":[{"property":"a"},[1,2,3]]})",
      R"({"op":"isNull","args":[{"property":"a"}]})",
      R"({"op":"isNull","args":[{"op":"=","args":[{"property":"a"},1]}]})",
      R"({"op":"=","args":[{"op":"accenti","args":[{"property":"a"}]},"x"]})",
      R"({"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[1,2]}]})",
      R"({"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[1,2],"bbox":[1,2,1,2]}]})",
      R"({"op":"s_within","args":[{"property":"geometry"},{"bbox":[0,0,1,1]}]})",
      R"({"op":"s_contains","args":[{"property":"geometry"},{"type":"LineString","coordinates":[[0,0],[1,1]]}]})",
      R"({"op":"s_disjoint","args":[{"property":"geometry"},{"type":"MultiPoint","coordinates":[[0,0]]}]})",
      R"({"op":"s_equals","args":[{"property":"geometry"},{"property":"other"}]})",
      R"({"op":"s_overlaps","args":[{"property":"geometry"},{"bbox":[0,0,0,1,1,1]}]})",
      R"({"op":"s_touches","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}]})",
      R"({"op":"s_crosses","args":[{"property":"geometry"},{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]}]}]})",
      R"({"op":"t_after","args":[{"property":"datetime"},{"timestamp":"2020-01-01T00:00:00Z"}]})",
      R"({"op":"t_before","args":[{"property":"datetime"},{"date":"2020-01-01"}]})",
      R"({"op":"t_contains","args":[{"property":"datetime"},{"interval":["2020-01-01",".."]}]})",
      R"({"op":"t_disjoint","args":[{"property":"datetime"},{"interval":["..","2020-01-01T00:00:00Z"]}]})",
      R"({"op":"t_during","args":[{"property":"datetime"},{"interval":[{"property":"a"},{"property":"b"}]}]})",
      R"({"op":"t_equals","args":[{"property":"datetime"},{"property":"other"}]})",
      R"({"op":"t_finishedBy","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"t_finishes","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"t_intersects","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"t_meets","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"t_metBy","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"t_overlappedBy","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"t_overlaps","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"t_startedBy","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"t_starts","args":[{"property":"datetime"},{"interval":["2020-01-01","2020-01-02"]}]})",
      R"({"op":"a_equals","args":[{"property":"a"},["x"]]})",
      R"({"op":"a_contains","args":[{"property":"a"},[]]})",
      R"({"op":"a_containedBy","args":[[1,[2,3]],{"property":"a"}]})",
      R"({"op":"a_overlaps","args":[{"property":"a"},{"property":"b"}]})",
      R"({"op":"=","args":[{"op":"-","args":[{"property":"a"},1]},{"op":"/","args":[4,2]}]})",
      R"({"op":"=","args":[{"op":"%","args":[{"property":"a"},2]},{"op":"div","args":[4,{"op":"^","args":[2,1]}]}]})",
      "true",
  };
  for (const char* text : filters) {
    const json filter = json::parse(text);
    EXPECT_NO_THROW({
      const Expr expr = parse_json(filter);
      EXPECT_EQ(to_json(expr), filter);
    }) << text;
  }
}

TEST(ParseJson, NormalizesLegacyOperatorNames) {
  const json legacy = json::parse(R"({"op":"AND","args":[
      {"op":"isnull","args":[{"property":"a"}]},
      {"op":"a_containedby","args":[{"property":"b"},["x"]]},
      {"op":"T_METBY","args":[{"property":"datetime"},{"date":"2020-01-01"}]},
      {"op":"S_Intersects","args":[{"property":"geometry"},{"bbox":[0,0,1,1]}]}]})");
  EXPECT_EQ(to_json(parse_json(legacy)), json::parse(R"({"op":"and","args":[
      {"op":"isNull","args":[{"property":"a"}]},
      {"op":"a_containedBy","args":[{"property":"b"},["x"]]},
      {"op":"t_metBy","args":[{"property":"datetime"},{"date":"2020-01-01"}]},
      {"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[0,0,1,1]}]}]})"));
}

TEST(ParseJson, ErrorsNameThePathAndTheOperator) {
  expect_json_error(json::parse(R"({"op":"and","args":[true,{"op":"foo","args":[]}]})"),
                    {"filter.args[1].op: unknown operator 'foo'"});
  expect_json_error(json::parse(R"({"op":"or","args":[true,{"op":"and","args":[true, {"op":7}]}]})"),
                    {"filter.args[1].args[1].op: expected an operator name, found number 7"});
  expect_json_error(json::parse(R"({"op":"=","args":[{"property":"a"}]})"),
                    {"filter.args: '=' takes 2 arguments, found 1"});
  expect_json_error(json::parse(R"({"op":"and","args":[true]})"),
                    {"filter.args: 'and' takes at least 2 arguments, found 1"});
  expect_json_error(json::parse(R"({"op":"between","args":[{"property":"a"},1,"x"]})"),
                    {"filter.args[2]: 'between' cannot compare property 'a' with string 'x'"});
  expect_json_error(json::parse(R"({"op":"between","args":[{"property":"a"},true,false]})"),
                    {"filter.args[1]: 'between' expects a string, number, timestamp or date as argument 2"});
  expect_json_error(json::parse(R"({"op":"=","args":["a",1]})"),
                    {"filter.args[1]: '=' cannot compare string 'a' with number 1"});
  expect_json_error(json::parse(R"({"op":"not","args":[{"property":"a"}]})"),
                    {"filter.args[0]: 'not' expects a boolean expression", "property 'a'"});
  expect_json_error(json::parse(R"({"op":"s_intersects","args":[{"property":"geometry"},[1,2]]})"),
                    {"filter.args[1]: 's_intersects' expects a geometry as argument 2, found an array"});
  expect_json_error(json::parse(R"({"op":"in","args":[{"property":"a"},"x"]})"),
                    {"filter.args[1]: the list of 'in' must be an array"});
  expect_json_error(json::parse(R"({"op":"in","args":[1,[1,"x"]]})"),
                    {"filter.args[1][1]: IN cannot compare number 1 with string 'x'"});
  expect_json_error(json::parse(R"({"op":"in","args":[{"property":"a"},[[1]]]})"),
                    {"filter.args[1][0]: an IN list holds"});
  expect_json_error(json::parse(R"({"op":"=","args":[{"property":"a"},1],"extra":1})"),
                    {"filter.extra: unexpected member in a '=' operation"});
  expect_json_error(json::parse(R"({"op":"="})"), {"filter.args: '=' needs an array of arguments"});
  expect_json_error(json::parse(R"({"op":"=","args":{"property":"a"}})"), {"filter.args:"});
}

TEST(ParseJson, LiteralErrors) {
  expect_json_error(json::parse(R"({"op":"=","args":[{"property":""},1]})"),
                    {"filter.args[0].property: a property name cannot be empty"});
  expect_json_error(json::parse(R"({"op":"=","args":[{"property":1},1]})"),
                    {"filter.args[0].property: expected a string"});
  expect_json_error(json::parse(R"({"op":"=","args":[{"property":"a","x":1},1]})"),
                    {"filter.args[0].x: unexpected member beside 'property'"});
  expect_json_error(json::parse(R"({"op":"<","args":[{"property":"a"},{"timestamp":"2020-01-01"}]})"),
                    {"filter.args[1].timestamp: '2020-01-01' is not an RFC 3339 timestamp"});
  expect_json_error(json::parse(R"({"op":"<","args":[{"property":"a"},{"date":"2020-01-01T00:00:00Z"}]})"),
                    {"filter.args[1].date:", "is not a date"});
  expect_json_error(json::parse(R"({"op":"t_after","args":[{"property":"a"},{"interval":["2020-01-01"]}]})"),
                    {"filter.args[1].interval: expected an array of 2 ends"});
  expect_json_error(json::parse(R"({"op":"t_after","args":[{"property":"a"},{"interval":["x",".."]}]})"),
                    {"filter.args[1].interval[0]: expected a date, an RFC 3339 timestamp or '..'"});
  expect_json_error(json::parse(R"({"op":"t_after","args":[{"property":"a"},{"interval":["..",5]}]})"),
                    {"filter.args[1].interval[1]:"});
  expect_json_error(
      json::parse(R"({"op":"t_after","args":[{"property":"a"},{"interval":["..",{"op":"+","args":[1,2]}]}]})"),
      {"filter.args[1].interval[1]: an interval end must be an instant"});
  expect_json_error(
      json::parse(R"({"op":"t_after","args":[{"property":"a"},{"interval":["2021-01-01","2020-01-01"]}]})"),
      {"filter.args[1].interval: the interval starts after it ends"});
  expect_json_error(json::parse(R"({"op":"s_within","args":[{"property":"g"},{"bbox":[0,0,1]}]})"),
                    {"filter.args[1].bbox"});
  expect_json_error(json::parse(R"({"op":"s_within","args":[{"property":"g"},{"bbox":[0,2,1,1]}]})"),
                    {"filter.args[1].bbox"});
  expect_json_error(json::parse(R"({"op":"s_within","args":[{"property":"g"},{"type":"Feature"}]})"),
                    {"filter.args[1].type: expected a GeoJSON geometry type"});
  expect_json_error(json::parse(R"({"op":"s_within","args":[{"property":"g"},{"type":"Point","coordinates":[1]}]})"),
                    {"filter.args[1]"});
  expect_json_error(json::parse(R"({"op":"=","args":[{"x":1},1]})"),
                    {"filter.args[0]: an object with members 'x' is not an expression"});
  expect_json_error(json::parse(R"({"op":"=","args":[{},1]})"),
                    {"filter.args[0]: an empty object is not an expression"});
}

TEST(ParseJson, TopLevelMustBeAPredicate) {
  expect_json_error(json::parse(R"({"property":"a"})"), {"filter: a filter must be a predicate"});
  expect_json_error(json(5), {"filter: a filter must be a predicate", "number 5"});
  expect_json_error(json(nullptr), {"filter: a filter must be a predicate", "null"});
  expect_json_error(json::parse(R"({"op":"+","args":[1,2]})"), {"must be a predicate"});
  const std::string message = invalid_input_message([] { parse_json(json(1), "body.filter"); });
  EXPECT_NE(message.find("body.filter:"), std::string::npos) << message;
}

TEST(ParseJson, DepthLimit) {
  // The property sits two levels below the innermost "not".
  json filter = json::parse(R"({"op":"=","args":[{"property":"a"},1]})");
  for (std::size_t i = 0; i < kMaxDepth - 2; ++i) {
    filter = json{{"op", "not"}, {"args", json::array({filter})}};
  }
  EXPECT_NO_THROW(parse_json(filter));
  filter = json{{"op", "not"}, {"args", json::array({filter})}};
  expect_json_error(filter, {"nesting deeper than 256 levels"});

  json array = json::array();
  for (int i = 0; i < 1000; ++i) {
    array = json::array({array});
  }
  expect_json_error(json{{"op", "a_equals"}, {"args", {{{"property", "a"}}, array}}},
                    {"nesting deeper than 256 levels"});
}

TEST(ParseJson, TextAndJsonShareTheDepthLimit) {
  // "a + 1 + ... = 1" nests the property one level deeper per addition.
  auto additions = [](std::size_t count) { return "a" + repeat(" + 1", count) + " = 1"; };
  EXPECT_NO_THROW(parse_text(additions(kMaxDepth - 2)));
  expect_text_error(additions(kMaxDepth - 1), {"nesting deeper than 256 levels"});
}

TEST(ParseText, RoundTripsThroughJson) {
  const char* texts[] = {
      "eo:cloud_cover < 10 AND collection = 'sentinel-2-l2a'",
      "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 1, 0 0)))",
      "T_INTERSECTS(datetime, INTERVAL('2020-01-01T00:00:00Z','..'))",
      "A_CONTAINS(keywords, ('a','b'))",
      "\"eo:cloud_cover\" BETWEEN 0 AND 10",
      "id IN ('a','b')",
      "CASEI(platform) = CASEI('SENTINEL-2A')",
      "NOT (a IS NULL) OR b NOT LIKE 'x%' AND c NOT IN (1, 2)",
      "S_WITHIN(geometry, BBOX(-180, -90, 180, 90)) AND T_BEFORE(datetime, DATE('2021-01-01'))",
      "S_CROSSES(geometry, MULTILINESTRING((0 0, 1 1), (2 2, 3 3)))",
      "a * 2 + -b / 4 >= c ^ 2",
  };
  for (const char* text : texts) {
    const json translated = text_to_json(text);
    EXPECT_EQ(to_json(parse_text(text)), translated) << text;
    EXPECT_EQ(to_json(parse_json(translated)), translated) << text;
  }
}

TEST(ParseText, ExposesTheTree) {
  const Expr expr = parse_text("eo:cloud_cover < 10 AND T_AFTER(datetime, DATE('2020-01-02'))");
  const auto* conjunction = expr.get_if<Operation>();
  ASSERT_NE(conjunction, nullptr);
  EXPECT_EQ(conjunction->op, Op::kAnd);
  ASSERT_EQ(conjunction->args.size(), 2U);
  const auto* less = conjunction->args[0].get_if<Operation>();
  ASSERT_NE(less, nullptr);
  EXPECT_EQ(less->op, Op::kLess);
  EXPECT_EQ(less->args[0].get_if<PropertyRef>()->name, "eo:cloud_cover");
  EXPECT_EQ(less->args[1].get_if<Literal>()->value, 10);
  const auto* after = conjunction->args[1].get_if<Operation>();
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->op, Op::kTAfter);
  const auto* date = after->args[1].get_if<DateLiteral>();
  ASSERT_NE(date, nullptr);
  EXPECT_EQ(date->micros, 86'400'000'000LL * (365 * 50 + 12 + 1));  // 1970 + 50 years + 1 day
  EXPECT_EQ(expr.get_if<Literal>(), nullptr);
}

TEST(ParseText, OpNames) {
  EXPECT_EQ(op_name(Op::kIsNull), "isNull");
  EXPECT_EQ(op_name(Op::kAContainedBy), "a_containedBy");
  EXPECT_EQ(op_name(Op::kIntegerDivide), "div");
  EXPECT_EQ(op_from_name("T_OVERLAPPEDBY"), Op::kTOverlappedBy);
  EXPECT_EQ(op_from_name("like"), Op::kLike);
  EXPECT_EQ(op_from_name("!="), Op::kNotEqual);  // pgstac's alias
  EXPECT_EQ(op_from_name("~="), std::nullopt);
}

TEST(Properties, ListsEachReferencedNameOnce) {
  const Expr expr = parse_text(
      "a = 1 AND (b > a OR T_DURING(INTERVAL(start_datetime, end_datetime), INTERVAL('..', '2020-01-01')))"
      " AND A_CONTAINS(tags, (c, 'x')) AND CASEI(d) LIKE 'x' AND S_INTERSECTS(geometry, BBOX(0,0,1,1))");
  EXPECT_EQ(properties(expr),
            (std::vector<std::string>{"a", "b", "start_datetime", "end_datetime", "tags", "c", "d", "geometry"}));
  EXPECT_TRUE(properties(parse_text("TRUE")).empty());
}

// --- Evaluation --------------------------------------------------------------

class Evaluate : public ::testing::Test {
 protected:
  bool matches(std::string_view text) const { return evaluate(parse_text(text), item_); }
  bool matches_item(std::string_view text, const json& item) const { return evaluate(parse_text(text), item); }

  json item_ = json::parse(R"({
    "type": "Feature",
    "stac_version": "1.0.0",
    "id": "S2A_20200615",
    "collection": "sentinel-2-l2a",
    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]},
    "bbox": [0, 0, 10, 10],
    "properties": {
      "datetime": "2020-06-15T10:30:00Z",
      "created": "2021-01-01T01:00:00+01:00",
      "eo:cloud_cover": 8.5,
      "view:off_nadir": null,
      "platform": "Sentinel-2A",
      "title": "Château d'Eau 100%",
      "instruments": ["msi"],
      "keywords": ["a", "b", "c"],
      "grid": [[1, 2], [3, 4]],
      "ready": true,
      "orbit": 42,
      "footprint": {"type": "Point", "coordinates": [5, 5]},
      "meta": {"k": "v"}
    },
    "assets": {},
    "links": []
  })");
};

TEST_F(Evaluate, Comparisons) {
  EXPECT_TRUE(matches("eo:cloud_cover < 10"));
  EXPECT_FALSE(matches("eo:cloud_cover < 8.5"));
  EXPECT_TRUE(matches("eo:cloud_cover <= 8.5"));
  EXPECT_TRUE(matches("eo:cloud_cover > 8"));
  EXPECT_TRUE(matches("eo:cloud_cover >= 8.5"));
  EXPECT_TRUE(matches("eo:cloud_cover = 8.5"));
  EXPECT_TRUE(matches("eo:cloud_cover <> 8"));
  EXPECT_TRUE(matches("orbit = 42.0"));
  EXPECT_TRUE(matches("platform = 'Sentinel-2A'"));
  EXPECT_FALSE(matches("platform = 'sentinel-2a'"));
  EXPECT_TRUE(matches("platform > 'Sentinel-1'"));
  EXPECT_TRUE(matches("ready = TRUE"));
  EXPECT_TRUE(matches("ready <> FALSE"));
  EXPECT_TRUE(matches("orbit > eo:cloud_cover"));
}

// A string meeting a number is read as a number, as pgstac reads a numeric
// queryable (to_float) and as the SQL catalogs compare a number property.
TEST_F(Evaluate, NumericStringsMeetingNumbersCompareAsNumbers) {
  EXPECT_TRUE(matches("eo:cloud_cover < '10'"));
  EXPECT_TRUE(matches("eo:cloud_cover = '8.5'"));
  EXPECT_TRUE(matches("eo:cloud_cover = ' 85e-1 '"));
  EXPECT_FALSE(matches("eo:cloud_cover > '10'"));
  EXPECT_TRUE(matches("eo:cloud_cover BETWEEN '8' AND '9'"));
  EXPECT_TRUE(matches("eo:cloud_cover IN ('8.5', '9')"));
  EXPECT_TRUE(matches("orbit = '42'"));
  const json text_value = {{"type", "Feature"}, {"properties", {{"eo:cloud_cover", "10"}}}};
  EXPECT_TRUE(matches_item("eo:cloud_cover = 10", text_value));
  EXPECT_TRUE(matches_item("eo:cloud_cover > 9.5", text_value));
  EXPECT_TRUE(matches_item("eo:cloud_cover = '10'", text_value));
  // Text that is no number stays unknown against a number; two strings compare as strings.
  EXPECT_FALSE(matches("eo:cloud_cover = 'abc'"));
  EXPECT_FALSE(matches("NOT eo:cloud_cover = 'abc'"));
  EXPECT_FALSE(matches("eo:cloud_cover = 'nan'"));
  EXPECT_FALSE(matches("platform = 5"));
  EXPECT_FALSE(matches_item("eo:cloud_cover = '10.0'", text_value));
}

TEST_F(Evaluate, PropertyResolution) {
  EXPECT_TRUE(matches("id = 'S2A_20200615'"));
  EXPECT_TRUE(matches("collection = 'sentinel-2-l2a'"));
  EXPECT_TRUE(matches("properties.platform = 'Sentinel-2A'"));
  EXPECT_TRUE(matches("\"properties.eo:cloud_cover\" < 10"));
  // "type" and "bbox" are not properties of the item's properties.
  EXPECT_TRUE(matches("type IS NULL"));
  EXPECT_TRUE(matches("stac_version IS NULL"));
}

TEST_F(Evaluate, ThreeValuedLogic) {
  // Missing and null properties are NULL; comparisons with NULL are unknown.
  EXPECT_FALSE(matches("missing = 1"));
  EXPECT_FALSE(matches("missing <> 1"));
  EXPECT_FALSE(matches("NOT missing = 1"));
  EXPECT_FALSE(matches("view:off_nadir < 5"));
  EXPECT_FALSE(matches("NOT view:off_nadir < 5"));
  EXPECT_TRUE(matches("missing IS NULL"));
  EXPECT_TRUE(matches("view:off_nadir IS NULL"));
  EXPECT_FALSE(matches("eo:cloud_cover IS NULL"));
  EXPECT_TRUE(matches("eo:cloud_cover IS NOT NULL"));
  EXPECT_TRUE(matches("(missing = 1) IS NULL"));
  // AND: false beats unknown; OR: true beats unknown.
  EXPECT_FALSE(matches("missing = 1 AND orbit = 42"));
  EXPECT_TRUE(matches("NOT (missing = 1 AND orbit = 41)"));
  EXPECT_TRUE(matches("missing = 1 OR orbit = 42"));
  EXPECT_FALSE(matches("NOT (missing = 1 OR orbit = 41)"));
  // Mismatched kinds are unknown too, not false.
  EXPECT_FALSE(matches("platform = 5"));
  EXPECT_FALSE(matches("NOT platform = 5"));
  EXPECT_FALSE(matches("keywords = 'a'"));
  EXPECT_FALSE(matches("NOT meta = 'a'"));
  EXPECT_TRUE(matches("TRUE"));
  EXPECT_FALSE(matches("FALSE"));
}

TEST_F(Evaluate, LikeMatchesCharacters) {
  EXPECT_TRUE(matches("platform LIKE 'Sentinel%'"));
  EXPECT_TRUE(matches("platform LIKE 'Sentinel-2_'"));
  EXPECT_FALSE(matches("platform LIKE 'sentinel%'"));
  EXPECT_TRUE(matches("platform LIKE '%'"));
  EXPECT_TRUE(matches("platform LIKE '%2A'"));
  EXPECT_TRUE(matches("platform LIKE 'S%n%l%'"));
  EXPECT_FALSE(matches("platform LIKE 'Sentinel'"));
  EXPECT_TRUE(matches("title LIKE 'Ch_teau%'"));  // '_' is one character, é is two bytes
  EXPECT_TRUE(matches("title LIKE '%100\\%'"));   // '\%' is a literal percent sign
  EXPECT_FALSE(matches("title LIKE '%100\\%_'"));
  EXPECT_TRUE(matches("title LIKE '%d''Eau%'"));
  EXPECT_TRUE(matches("platform NOT LIKE 'Landsat%'"));
  EXPECT_FALSE(matches("missing LIKE '%'"));
  EXPECT_FALSE(matches("orbit LIKE '4%'"));
  EXPECT_TRUE(matches("CASEI(platform) LIKE CASEI('SENTINEL%')"));
  EXPECT_TRUE(matches("created LIKE '2021-01-01T01%'"));  // an instant keeps its text
}

TEST_F(Evaluate, CaseAndAccentInsensitivity) {
  EXPECT_TRUE(matches("CASEI(platform) = CASEI('SENTINEL-2A')"));
  EXPECT_TRUE(matches("CASEI(platform) = 'sentinel-2a'"));
  EXPECT_FALSE(matches("CASEI(platform) = 'SENTINEL-2A'"));
  EXPECT_TRUE(matches("ACCENTI(title) = ACCENTI('Chateau d''Eau 100%')"));
  EXPECT_FALSE(matches("ACCENTI(title) = 'chateau d''eau 100%'"));
  EXPECT_TRUE(matches("CASEI(ACCENTI(title)) = 'chateau d''eau 100%'"));
  EXPECT_TRUE(matches("CASEI('ÀÉÎÕÜ ΣΩ ДЖ Łódź') = 'àéîõü σω дж łódź'"));
  EXPECT_TRUE(matches("ACCENTI('Ångström Øre Łódź Škoda Ærø') = 'Angstrom Ore Lodz Skoda Æro'"));
  EXPECT_TRUE(matches("ACCENTI('e\xCC\x81t\xC3\xA9') = 'ete'"));  // combining acute accent
  EXPECT_FALSE(matches("CASEI(missing) = 'x'"));
}

TEST_F(Evaluate, BetweenAndIn) {
  EXPECT_TRUE(matches("eo:cloud_cover BETWEEN 0 AND 10"));
  EXPECT_TRUE(matches("eo:cloud_cover BETWEEN 8.5 AND 8.5"));
  EXPECT_FALSE(matches("eo:cloud_cover BETWEEN 9 AND 10"));
  EXPECT_TRUE(matches("eo:cloud_cover NOT BETWEEN 9 AND 10"));
  EXPECT_FALSE(matches("missing BETWEEN 0 AND 10"));
  EXPECT_FALSE(matches("missing NOT BETWEEN 0 AND 10"));
  EXPECT_TRUE(matches("id IN ('x', 'S2A_20200615')"));
  EXPECT_FALSE(matches("id IN ('x', 'y')"));
  EXPECT_TRUE(matches("id NOT IN ('x', 'y')"));
  EXPECT_TRUE(matches("orbit IN (1, 42)"));
  EXPECT_FALSE(matches("missing IN (1, 42)"));
  EXPECT_FALSE(matches("missing NOT IN (1, 42)"));
  // x NOT IN (a, NULL) is unknown in SQL: here a property that is missing.
  EXPECT_FALSE(matches("orbit NOT IN (1, missing)"));
  EXPECT_TRUE(matches("orbit IN (missing, 42)"));
}

TEST_F(Evaluate, Arithmetic) {
  EXPECT_TRUE(matches("orbit + 1 = 43"));
  EXPECT_TRUE(matches("orbit - 2 * 10 = 22"));
  EXPECT_TRUE(matches("orbit / 4 = 10.5"));
  EXPECT_TRUE(matches("orbit % 5 = 2"));
  EXPECT_TRUE(matches("orbit div 5 = 8"));
  EXPECT_TRUE(matches("-orbit div 5 = -8"));
  EXPECT_TRUE(matches("2 ^ 10 = 1024"));
  EXPECT_TRUE(matches("-orbit = -42"));
  EXPECT_TRUE(matches("eo:cloud_cover * 2 = 17"));
  // Division by zero and non-numbers make the value unknown.
  EXPECT_FALSE(matches("orbit / 0 = 1"));
  EXPECT_FALSE(matches("NOT orbit / 0 = 1"));
  EXPECT_TRUE(matches("orbit / 0 IS NULL"));
  EXPECT_TRUE(matches("orbit % 0 IS NULL"));
  EXPECT_TRUE(matches("platform + 1 IS NULL"));
  EXPECT_TRUE(matches("missing * 2 IS NULL"));
}

TEST_F(Evaluate, Timestamps) {
  EXPECT_TRUE(matches("datetime = TIMESTAMP('2020-06-15T12:30:00+02:00')"));
  EXPECT_TRUE(matches("datetime > TIMESTAMP('2020-06-15T10:29:59.999999Z')"));
  EXPECT_TRUE(matches("datetime >= DATE('2020-06-15')"));
  EXPECT_FALSE(matches("datetime >= DATE('2020-06-16')"));
  // A string literal compared with a temporal property is read as an instant.
  EXPECT_TRUE(matches("datetime < '2020-06-16'"));
  EXPECT_TRUE(matches("datetime = '2020-06-15T10:30:00.000Z'"));
  EXPECT_FALSE(matches("datetime = 'yesterday'"));
  EXPECT_TRUE(matches("created = TIMESTAMP('2021-01-01T00:00:00Z')"));
  EXPECT_TRUE(matches("created < datetime + 0 OR created > datetime"));
  EXPECT_TRUE(matches("datetime IN (TIMESTAMP('2020-06-15T10:30:00Z'))"));
}

TEST_F(Evaluate, TemporalFunctionsOnAnInstantItem) {
  EXPECT_TRUE(matches("T_INTERSECTS(datetime, INTERVAL('2020-01-01T00:00:00Z', '..'))"));
  EXPECT_TRUE(matches("T_INTERSECTS(datetime, INTERVAL('2020-06-15T10:30:00Z', '2020-06-15T10:30:00Z'))"));
  EXPECT_FALSE(matches("T_INTERSECTS(datetime, INTERVAL('..', '2020-06-15'))"));
  EXPECT_TRUE(matches("T_DURING(datetime, INTERVAL('2020-06-01', '2020-07-01'))"));
  EXPECT_TRUE(matches("T_AFTER(datetime, DATE('2020-06-15'))"));
  EXPECT_TRUE(matches("T_BEFORE(datetime, DATE('2020-06-16'))"));
  EXPECT_TRUE(matches("T_EQUALS(datetime, TIMESTAMP('2020-06-15T10:30:00Z'))"));
  EXPECT_TRUE(matches("T_DISJOINT(datetime, INTERVAL('2021-01-01', '..'))"));
  EXPECT_TRUE(matches("T_BEFORE(datetime, created)"));
  EXPECT_FALSE(matches("T_BEFORE(datetime, missing)"));
  EXPECT_FALSE(matches("NOT T_BEFORE(datetime, missing)"));
  EXPECT_TRUE(matches("T_INTERSECTS(datetime, INTERVAL(created, '..')) = FALSE"));
}

TEST_F(Evaluate, TemporalFunctionsOnAnIntervalItem) {
  json item = item_;
  item["properties"]["datetime"] = nullptr;
  item["properties"]["start_datetime"] = "2020-01-01T00:00:00Z";
  item["properties"]["end_datetime"] = "2020-12-31T23:59:59Z";
  EXPECT_TRUE(matches_item("T_INTERSECTS(datetime, DATE('2020-06-01'))", item));
  EXPECT_TRUE(matches_item("T_INTERSECTS(datetime, INTERVAL('2020-12-31', '2021-01-31'))", item));
  EXPECT_FALSE(matches_item("T_INTERSECTS(datetime, INTERVAL('2021-01-01', '..'))", item));
  EXPECT_TRUE(matches_item("T_CONTAINS(datetime, INTERVAL('2020-02-01', '2020-03-01'))", item));
  EXPECT_TRUE(matches_item("T_DURING(datetime, INTERVAL('..', '..'))", item));
  EXPECT_TRUE(matches_item("T_STARTS(datetime, INTERVAL('2020-01-01', '2021-06-01'))", item));
  EXPECT_TRUE(
      matches_item("T_EQUALS(datetime, INTERVAL(TIMESTAMP('2020-01-01T00:00:00Z'), '2020-12-31T23:59:59Z'))", item));
  EXPECT_TRUE(matches_item(
      "T_EQUALS(INTERVAL(start_datetime, end_datetime), INTERVAL('2020-01-01', '2020-12-31T23:59:59Z'))", item));
  // Compared as a value, datetime is the start (pgstac's datetime column).
  EXPECT_FALSE(matches_item("datetime IS NULL", item));
  EXPECT_TRUE(matches_item("datetime = TIMESTAMP('2020-01-01T00:00:00Z')", item));
  EXPECT_TRUE(matches_item("end_datetime > DATE('2020-12-31')", item));
  item["properties"].erase("end_datetime");
  EXPECT_FALSE(matches_item("T_INTERSECTS(datetime, INTERVAL('..', '..'))", item));
}

TEST_F(Evaluate, StartAndEndFallBackToDatetime) {
  EXPECT_TRUE(matches("start_datetime = TIMESTAMP('2020-06-15T10:30:00Z')"));
  EXPECT_TRUE(matches("end_datetime = datetime"));
  EXPECT_TRUE(matches("T_EQUALS(datetime, TIMESTAMP('2020-06-15T10:30:00Z'))"));
  // With datetime and a range both given, the range is the extent, as in pgstac.
  json item = item_;
  item["properties"]["start_datetime"] = "2020-06-01T00:00:00Z";
  item["properties"]["end_datetime"] = "2020-06-30T00:00:00Z";
  EXPECT_TRUE(matches_item("T_EQUALS(datetime, INTERVAL('2020-06-01', '2020-06-30'))", item));
  EXPECT_TRUE(matches_item("datetime = DATE('2020-06-01')", item));
  EXPECT_TRUE(matches_item("properties.datetime < TIMESTAMP('2020-06-15T10:30:00Z')", item));
}

TEST(EvaluateTemporal, RelationsFollowCql2) {
  // a = [2020-01-10, 2020-01-20] against intervals b around it.
  struct Case {
    const char* op;
    const char* b_start;
    const char* b_end;
    bool expected;
  };
  const Case cases[] = {
      {"T_AFTER", "2020-01-01", "2020-01-09", true},        {"T_AFTER", "2020-01-01", "2020-01-10", false},
      {"T_BEFORE", "2020-01-21", "2020-01-30", true},       {"T_BEFORE", "2020-01-20", "2020-01-30", false},
      {"T_CONTAINS", "2020-01-11", "2020-01-19", true},     {"T_CONTAINS", "2020-01-10", "2020-01-19", false},
      {"T_DISJOINT", "2020-01-21", "2020-01-30", true},     {"T_DISJOINT", "2020-01-20", "2020-01-30", false},
      {"T_DURING", "2020-01-09", "2020-01-21", true},       {"T_DURING", "2020-01-10", "2020-01-21", false},
      {"T_EQUALS", "2020-01-10", "2020-01-20", true},       {"T_EQUALS", "2020-01-10", "2020-01-21", false},
      {"T_FINISHEDBY", "2020-01-15", "2020-01-20", true},   {"T_FINISHEDBY", "2020-01-05", "2020-01-20", false},
      {"T_FINISHES", "2020-01-05", "2020-01-20", true},     {"T_FINISHES", "2020-01-15", "2020-01-20", false},
      {"T_INTERSECTS", "2020-01-20", "2020-01-30", true},   {"T_INTERSECTS", "2020-01-21", "2020-01-30", false},
      {"T_MEETS", "2020-01-20", "2020-01-30", true},        {"T_MEETS", "2020-01-19", "2020-01-30", false},
      {"T_METBY", "2020-01-01", "2020-01-10", true},        {"T_METBY", "2020-01-01", "2020-01-11", false},
      {"T_OVERLAPPEDBY", "2020-01-05", "2020-01-15", true}, {"T_OVERLAPPEDBY", "2020-01-15", "2020-01-25", false},
      {"T_OVERLAPS", "2020-01-15", "2020-01-25", true},     {"T_OVERLAPS", "2020-01-05", "2020-01-15", false},
      {"T_STARTEDBY", "2020-01-10", "2020-01-15", true},    {"T_STARTEDBY", "2020-01-10", "2020-01-25", false},
      {"T_STARTS", "2020-01-10", "2020-01-25", true},       {"T_STARTS", "2020-01-10", "2020-01-15", false},
  };
  for (const Case& c : cases) {
    const std::string text =
        std::string(c.op) + "(INTERVAL('2020-01-10', '2020-01-20'), INTERVAL('" + c.b_start + "', '" + c.b_end + "'))";
    EXPECT_EQ(evaluate(parse_text(text), json::object()), c.expected) << text;
  }
}

TEST_F(Evaluate, Arrays) {
  EXPECT_TRUE(matches("A_CONTAINS(keywords, ('a', 'b'))"));
  EXPECT_TRUE(matches("A_CONTAINS(keywords, ())"));
  EXPECT_FALSE(matches("A_CONTAINS(keywords, ('a', 'z'))"));
  EXPECT_TRUE(matches("A_CONTAINEDBY(keywords, ('c', 'b', 'a', 'z'))"));
  EXPECT_FALSE(matches("A_CONTAINEDBY(keywords, ('a', 'b'))"));
  EXPECT_TRUE(matches("A_EQUALS(keywords, ('c', 'a', 'b'))"));
  EXPECT_TRUE(matches("A_EQUALS(keywords, ('c', 'a', 'b', 'a'))"));
  EXPECT_FALSE(matches("A_EQUALS(keywords, ('a', 'b'))"));
  EXPECT_TRUE(matches("A_OVERLAPS(keywords, ('z', 'c'))"));
  EXPECT_FALSE(matches("A_OVERLAPS(keywords, ('z', 'y'))"));
  EXPECT_FALSE(matches("A_OVERLAPS(keywords, ())"));
  EXPECT_TRUE(matches("A_CONTAINS(grid, ((3, 4)))"));
  EXPECT_FALSE(matches("A_CONTAINS(grid, ((4, 3)))"));
  EXPECT_TRUE(matches("A_EQUALS(instruments, ('msi'))"));
  EXPECT_TRUE(matches("A_OVERLAPS(keywords, (platform, 'b'))"));
  EXPECT_FALSE(matches("A_CONTAINS(missing, ('a'))"));
  EXPECT_FALSE(matches("NOT A_CONTAINS(missing, ('a'))"));
  EXPECT_FALSE(matches("A_CONTAINS(platform, ('a'))"));
}

TEST_F(Evaluate, Spatial) {
  EXPECT_TRUE(matches("S_INTERSECTS(geometry, POINT(5 5))"));
  EXPECT_TRUE(matches("S_INTERSECTS(geometry, BBOX(9, 9, 20, 20))"));
  EXPECT_FALSE(matches("S_INTERSECTS(geometry, BBOX(11, 11, 20, 20))"));
  EXPECT_TRUE(matches("S_DISJOINT(geometry, POINT(50 50))"));
  EXPECT_TRUE(matches("S_CONTAINS(geometry, LINESTRING(1 1, 2 2))"));
  EXPECT_TRUE(matches("S_WITHIN(geometry, BBOX(-1, -1, 11, 11))"));
  EXPECT_FALSE(matches("S_WITHIN(geometry, BBOX(1, 1, 11, 11))"));
  EXPECT_TRUE(matches("S_EQUALS(geometry, POLYGON((0 0, 0 10, 10 10, 10 0, 0 0)))"));
  EXPECT_TRUE(matches("S_EQUALS(geometry, POLYGON((0 0, 5 0, 10 0, 10 10, 0 10, 0 0)))"));
  EXPECT_FALSE(matches("S_EQUALS(geometry, POLYGON((0 0, 9 0, 9 9, 0 9, 0 0)))"));
  EXPECT_TRUE(matches("S_TOUCHES(geometry, POLYGON((10 0, 20 0, 20 10, 10 10, 10 0)))"));
  EXPECT_TRUE(matches("S_OVERLAPS(geometry, POLYGON((5 5, 15 5, 15 15, 5 15, 5 5)))"));
  EXPECT_TRUE(matches("S_CROSSES(geometry, LINESTRING(-5 5, 15 5))"));
  EXPECT_FALSE(matches("S_CROSSES(geometry, LINESTRING(1 1, 2 2))"));
  EXPECT_TRUE(matches("S_INTERSECTS(geometry, MULTIPOINT((50 50), (5 5)))"));
  EXPECT_TRUE(matches("S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(50 50), LINESTRING(-1 -1, 1 1)))"));
  // A bbox across the antimeridian is two boxes.
  EXPECT_FALSE(matches("S_INTERSECTS(geometry, BBOX(170, -10, -170, 10))"));
  EXPECT_TRUE(matches_item("S_INTERSECTS(geometry, BBOX(170, -10, -170, 10))",
                           json::parse(R"({"geometry":{"type":"Point","coordinates":[-175,0]}})")));
  // Property geometries, and unknown for anything that is not one.
  EXPECT_TRUE(matches("S_WITHIN(footprint, geometry)"));
  EXPECT_FALSE(matches("S_INTERSECTS(missing, POINT(5 5))"));
  EXPECT_FALSE(matches("NOT S_INTERSECTS(missing, POINT(5 5))"));
  EXPECT_FALSE(matches("NOT S_INTERSECTS(meta, POINT(5 5))"));
  EXPECT_FALSE(matches("NOT S_INTERSECTS(platform, POINT(5 5))"));
  EXPECT_FALSE(matches_item("NOT S_INTERSECTS(geometry, POINT(5 5))", json::parse(R"({"geometry":null})")));
}

TEST_F(Evaluate, SpatialFromJson) {
  const json filter = json::parse(R"({"op":"s_intersects","args":[{"property":"geometry"},
      {"type":"Polygon","coordinates":[[[4,4],[6,4],[6,6],[4,6],[4,4]]]}]})");
  EXPECT_TRUE(evaluate(parse_json(filter), item_));
}

TEST_F(Evaluate, MalformedItemGeometryIsInvalidInput) {
  json item = item_;
  item["geometry"] = json::parse(R"({"type":"Polygon","coordinates":[[[0,0],[1,1]]]})");
  const Expr filter = parse_text("S_INTERSECTS(geometry, POINT(5 5))");
  const std::string message = invalid_input_message([&] { evaluate(filter, item); });
  EXPECT_NE(message.find("item geometry"), std::string::npos) << message;
}

TEST_F(Evaluate, CombinedSearch) {
  EXPECT_TRUE(
      matches("collection = 'sentinel-2-l2a' AND eo:cloud_cover < 10 AND "
              "S_INTERSECTS(geometry, BBOX(5, 5, 6, 6)) AND "
              "T_INTERSECTS(datetime, INTERVAL('2020-06-01T00:00:00Z', '2020-06-30T23:59:59Z')) AND "
              "A_CONTAINS(instruments, ('msi')) AND CASEI(platform) IN ('sentinel-2a', 'sentinel-2b')"));
}

TEST_F(Evaluate, ConcurrentEvaluationsShareOneFilter) {
  const Expr filter = parse_text(
      "S_INTERSECTS(geometry, POLYGON((4 4, 6 4, 6 6, 4 6, 4 4))) AND eo:cloud_cover < 10 AND "
      "CASEI(platform) LIKE 'sentinel%' AND T_DURING(datetime, INTERVAL('2020-01-01', '2021-01-01'))");
  std::vector<std::thread> threads;
  std::vector<int> matches(4, 0);
  for (std::size_t t = 0; t < matches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        matches[t] += evaluate(filter, item_) ? 1 : 0;
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(matches, std::vector<int>(4, 200));
}

TEST_F(Evaluate, NonObjectItems) {
  EXPECT_FALSE(evaluate(parse_text("a = 1"), json::array()));
  EXPECT_TRUE(evaluate(parse_text("a IS NULL"), json("text")));
}

TEST_F(Evaluate, SharedExpressionIsReusable) {
  const Expr filter = parse_text("eo:cloud_cover < 10");
  const Expr copy = filter;  // NOLINT(performance-unnecessary-copy-initialization): copies share the tree
  json cloudy = item_;
  cloudy["properties"]["eo:cloud_cover"] = 90;
  EXPECT_TRUE(evaluate(filter, item_));
  EXPECT_FALSE(evaluate(copy, cloudy));
  EXPECT_EQ(&filter.node(), &copy.node());
}

// --- The forms pgstac reads beside CQL2 ----------------------------------------

TEST(ParseJson, PgstacOperatorAliases) {
  const std::pair<const char*, Op> aliases[] = {
      {"eq", Op::kEqual},
      {"NEQ", Op::kNotEqual},
      {"ne", Op::kNotEqual},
      {"!=", Op::kNotEqual},
      {"lt", Op::kLess},
      {"lte", Op::kLessEqual},
      {"le", Op::kLessEqual},
      {"gt", Op::kGreater},
      {"gte", Op::kGreaterEqual},
      {"ge", Op::kGreaterEqual},
      {"anyinteracts", Op::kTIntersects},
      {"intersects", Op::kSIntersects},
      {"a_contained_by", Op::kAContainedBy},
      {"upper", Op::kUpper},
      {"LOWER", Op::kLower},
  };
  for (const auto& [alias, op] : aliases) {
    EXPECT_EQ(op_from_name(alias), op) << alias;
  }
  // Written back in CQL2's names.
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"op":"gte","args":[{"property":"a"},1]})"))),
            json::parse(R"({"op":">=","args":[{"property":"a"},1]})"));
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"op":"a_contained_by","args":[{"property":"a"},["x"]]})"))),
            json::parse(R"({"op":"a_containedBy","args":[{"property":"a"},["x"]]})"));
  // ilike is LIKE on CASEI of both sides.
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"op":"ilike","args":[{"property":"a"},"X%"]})"))),
            json::parse(R"({"op":"like","args":[{"op":"casei","args":[{"property":"a"}]},
                                                {"op":"casei","args":["X%"]}]})"));
}

TEST(ParseJson, Cql1Objects) {
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"eq":[{"property":"a"},1]})"))),
            json::parse(R"({"op":"=","args":[{"property":"a"},1]})"));
  // Several members are ANDed; a value that is not an array is the one argument.
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"lt":[{"property":"a"},1],"isNull":{"property":"b"}})"))),
            json::parse(R"({"op":"and","args":[{"op":"isNull","args":[{"property":"b"}]},
                                               {"op":"<","args":[{"property":"a"},1]}]})"));
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"not":{"eq":[{"upper":{"property":"a"}},{"lower":"X"}]}})"))),
            json::parse(R"({"op":"not","args":[{"op":"=","args":[{"op":"upper","args":[{"property":"a"}]},
                                                                   {"op":"lower","args":["X"]}]}]})"));
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"filter":{"op":"isNull","args":{"property":"a"}}})"))),
            json::parse(R"({"op":"isNull","args":[{"property":"a"}]})"));
  // Errors name the member.
  expect_json_error(json::parse(R"({"eq":[{"property":"a"}]})"), {"filter.eq: '=' takes 2 arguments, found 1"});
  expect_json_error(json::parse(R"({"eq":[{"property":"a"},[1]]})"), {"filter.eq[1]: '=' expects"});
  expect_json_error(json::parse(R"({"eq":[{"property":"a"},1],"x":2})"),
                    {"filter: an object with members 'eq', 'x' is not an expression"});
  expect_json_error(json::parse(R"({"eq":[{"property":"a"},1],"upper":"x"})"), {"filter.upper: members of one"});
}

TEST(ParseJson, TemporalOperandsAsStrings) {
  auto interval_of = [](const json& operand) {
    return to_json(
        parse_json(json{{"op", "t_intersects"}, {"args", {{{"property", "datetime"}}, operand}}}))["args"][1];
  };
  EXPECT_EQ(interval_of("2020-01-01T00:00:00Z/2020-01-02T00:00:00Z"),
            json::parse(R"({"interval":["2020-01-01T00:00:00Z","2020-01-02T00:00:00Z"]})"));
  // A date is its whole day; a date ends an interval at its last microsecond.
  EXPECT_EQ(interval_of("2020-01-01"),
            json::parse(R"({"interval":["2020-01-01T00:00:00Z","2020-01-01T23:59:59.999999Z"]})"));
  EXPECT_EQ(interval_of("2020-01-01/2020-01-31"),
            json::parse(R"({"interval":["2020-01-01T00:00:00Z","2020-01-31T23:59:59.999999Z"]})"));
  EXPECT_EQ(interval_of("../2020-01-01T00:00:00Z"), json::parse(R"({"interval":["..","2020-01-01T00:00:00Z"]})"));
  EXPECT_EQ(interval_of("2020-01-01T00:00:00Z/"), json::parse(R"({"interval":["2020-01-01T00:00:00Z",".."]})"));
  EXPECT_EQ(interval_of("2020-06-15T10:30:00Z"), json::parse(R"({"timestamp":"2020-06-15T10:30:00Z"})"));
  EXPECT_EQ(interval_of(json::array({"2020-01-01", {{"property", "end_datetime"}}})),
            json::parse(R"({"interval":["2020-01-01T00:00:00Z",{"property":"end_datetime"}]})"));
  // ISO 8601 durations, as PostgreSQL adds them: months keep the day or take the month's last.
  EXPECT_EQ(interval_of("2020-01-31T12:00:00Z/P1M"),
            json::parse(R"({"interval":["2020-01-31T12:00:00Z","2020-02-29T12:00:00Z"]})"));
  EXPECT_EQ(interval_of("P1Y2M10DT2H30M1.5S/2021-03-10T00:00:00Z"),
            json::parse(R"({"interval":["2019-12-30T21:29:58.500000Z","2021-03-10T00:00:00Z"]})"));
  EXPECT_EQ(interval_of(json::array({"2020-01-01T00:00:00Z", "p1w"})),
            json::parse(R"({"interval":["2020-01-01T00:00:00Z","2020-01-08T00:00:00Z"]})"));
  expect_json_error(json{{"op", "t_after"}, {"args", {{{"property", "datetime"}}, "2020-01-02/2020-01-01"}}},
                    {"filter.args[1]: the interval starts after it ends"});
  expect_json_error(json{{"op", "t_after"}, {"args", {{{"property", "datetime"}}, "P1D"}}},
                    {"filter.args[1]: expected a timestamp, a date or an interval"});
  expect_json_error(json{{"op", "t_after"}, {"args", {{{"property", "datetime"}}, "2020-01-01/P1DT"}}},
                    {"filter.args[1]: 'P1DT' is not an ISO 8601 duration"});
  expect_json_error(json{{"op", "t_after"}, {"args", {{{"property", "datetime"}}, "2020-01-01/P99999999Y"}}},
                    {"outside years 0000-9999"});
  expect_json_error(json{{"op", "t_after"}, {"args", {{{"property", "datetime"}}, "a/b/c"}}}, {"more than one '/'"});
  expect_json_error(
      json{{"op", "t_after"}, {"args", {{{"property", "datetime"}}, json::array({{{"property", "x"}}, "P1D"})}}},
      {"a duration must be paired"});
}

TEST(ParseJson, SpatialAndArrayOperandsAsPgstacReadsThem) {
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"op":"intersects","args":[{"property":"geometry"},[0,0,1,1]]})"))),
            json::parse(R"({"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[0,0,1,1]}]})"));
  EXPECT_EQ(to_json(parse_json(json::parse(R"({"op":"a_contains","args":[{"property":"k"},"x"]})"))),
            json::parse(R"({"op":"a_contains","args":[{"property":"k"},["x"]]})"));
}

TEST_F(Evaluate, PgstacForms) {
  auto json_matches = [this](const char* filter) { return evaluate(parse_json(json::parse(filter)), item_); };
  EXPECT_TRUE(json_matches(R"({"op":"eq","args":[{"upper":{"property":"platform"}},"SENTINEL-2A"]})"));
  EXPECT_TRUE(json_matches(R"({"op":"eq","args":[{"lower":{"property":"platform"}},"sentinel-2a"]})"));
  EXPECT_FALSE(json_matches(R"({"op":"eq","args":[{"upper":{"property":"platform"}},"sentinel-2a"]})"));
  EXPECT_TRUE(json_matches(R"({"op":"eq","args":[{"upper":"château ωя"},"CHÂTEAU ΩЯ"]})"));
  EXPECT_TRUE(json_matches(R"({"op":"ilike","args":[{"property":"platform"},"sentinel-2_"]})"));
  EXPECT_TRUE(json_matches(R"({"op":"t_intersects","args":[{"property":"datetime"},"2020-06-15"]})"));
  EXPECT_FALSE(json_matches(R"({"op":"t_after","args":[{"property":"datetime"},"2020-06-15"]})"));
  EXPECT_TRUE(json_matches(R"({"anyinteracts":[{"property":"datetime"},["2020-06-15T10:00:00Z","PT1H"]]})"));
  EXPECT_TRUE(json_matches(R"({"op":"between","args":[{"property":"platform"},"S","T"]})"));
  EXPECT_TRUE(json_matches(R"({"op":"between","args":[{"property":"datetime"},"2020-06-15","2020-06-16"]})"));
  EXPECT_TRUE(matches("UPPER(platform) = 'SENTINEL-2A'"));
}

}  // namespace
}  // namespace tessera::cql2
