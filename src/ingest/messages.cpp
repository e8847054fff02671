#include <fmt/format.h>

#include "ingest/ingest_internal.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace tessera::ingestion {
namespace {

using nlohmann::json;

// S3 event keys are URL-encoded, with '+' for spaces.
std::string decode_s3_key(std::string key) {
  std::replace(key.begin(), key.end(), '+', ' ');
  return storage::percent_decode(key);
}

// A member's string, or "" when it is missing or not a string (json's
// value("name", "") throws type_error for a member of another type).
std::string string_member(const json& object, const char* name) {
  if (!object.is_object()) {
    return {};
  }
  const auto member = object.find(name);
  return member != object.end() && member->is_string() ? member->get<std::string>() : std::string();
}

void read_message(const json& value, Unit& unit, int depth) {
  if (depth > 4) {
    throw Error(ErrorCode::kInvalidInput, "message nests envelopes too deeply");
  }
  if (!value.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("message is a JSON {}, not an object", value.type_name()));
  }
  auto unwrap = [&](const std::string& inner) {
    const json parsed = json::parse(inner, nullptr, false);
    if (parsed.is_discarded()) {
      throw Error(ErrorCode::kInvalidInput, "the wrapped message is not JSON");
    }
    read_message(parsed, unit, depth + 1);
  };
  if (string_member(value, "Type") == "Notification" && value.contains("Message") && value["Message"].is_string()) {
    unwrap(value["Message"].get<std::string>());  // SNS envelope
    return;
  }
  if (value.contains("tessera_dead_letter") && value.contains("message") && value["message"].is_string()) {
    unit.message = value["message"].get<std::string>();  // replay: keep the original, not the record
    unwrap(unit.message);
    return;
  }
  if (string_member(value, "Event") == "s3:TestEvent") {
    unit.ignored = true;
    return;
  }
  if (value.contains("Records")) {
    const json& records = value["Records"];
    if (!records.is_array()) {
      throw Error(ErrorCode::kInvalidInput, "S3 event: Records is not an array");
    }
    for (std::size_t n = 0; n < records.size(); ++n) {
      const json& record = records[n];
      if (!record.is_object() || !record.contains("s3")) {
        throw Error(ErrorCode::kInvalidInput, fmt::format("S3 event: Records[{}] has no s3 member", n));
      }
      const json& s3 = record["s3"];
      const auto bucket = s3.contains("bucket") ? string_member(s3["bucket"], "name") : std::string();
      const auto key = s3.contains("object") ? string_member(s3["object"], "key") : std::string();
      if (bucket.empty() || key.empty()) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("S3 event: Records[{}] lacks s3.bucket.name or s3.object.key", n));
      }
      ObjectEvent event;
      event.uri = fmt::format("s3://{}/{}", bucket, decode_s3_key(key));
      event.sequencer = s3.contains("object") ? string_member(s3["object"], "sequencer") : std::string();
      event.etag = s3.contains("object") ? string_member(s3["object"], "eTag") : std::string();
      if (!event.sequencer.empty() && !valid_sequencer(event.sequencer)) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("S3 event: Records[{}].s3.object.sequencer is not a hexadecimal string of at most "
                                "64 digits",
                                n));
      }
      if (string_member(record, "eventName").starts_with("ObjectRemoved")) {
        unit.removals.push_back(std::move(event));
        continue;
      }
      unit.fetch.push_back(event.uri);
      unit.events.push_back(std::move(event));
    }
    unit.ignored = unit.fetch.empty() && unit.removals.empty();
    return;
  }
  const std::string type = string_member(value, "type");
  if (type == "Feature" || type == "FeatureCollection") {
    unit.items = split_items(value.dump());
    unit.item_objects.assign(unit.items.size(), kNoObject);
    return;
  }
  if (type == "Collection") {
    unit.collections.push_back(value.dump());
    return;
  }
  throw Error(ErrorCode::kInvalidInput,
              "message is neither a STAC Item, FeatureCollection or Collection, an S3 event notification nor an SNS "
              "notification");
}

}  // namespace

bool valid_sequencer(std::string_view sequencer) {
  return !sequencer.empty() && sequencer.size() <= 64 &&
         sequencer.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

int compare_sequencers(std::string_view a, std::string_view b) {
  // Hexadecimal values: leading zeros do not count, then the longer is larger.
  const auto significant = [](std::string_view text) {
    const std::size_t first = text.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view() : text.substr(first);
  };
  const std::string_view x = significant(a);
  const std::string_view y = significant(b);
  if (x.size() != y.size()) {
    return x.size() < y.size() ? -1 : 1;
  }
  for (std::size_t n = 0; n < x.size(); ++n) {
    const int cx = std::tolower(static_cast<unsigned char>(x[n]));
    const int cy = std::tolower(static_cast<unsigned char>(y[n]));
    if (cx != cy) {
      return cx < cy ? -1 : 1;
    }
  }
  return 0;
}

Unit unit_of_message(const std::string& message, std::string label) {
  Unit unit;
  unit.source = std::move(label);
  unit.message = message;
  const json value = json::parse(message, nullptr, false);
  if (value.is_discarded()) {
    unit.error = "message is not valid JSON";
    return unit;
  }
  try {
    read_message(value, unit, 0);
  } catch (const Error& error) {
    unit.error = error.what();
  }
  return unit;
}

}  // namespace tessera::ingestion
