#include "catalog/search_hash.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "catalog/search_request.hpp"
#include "tessera/cql2.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog {

using nlohmann::json;

namespace {

// PostgreSQL's escape_json.
void append_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// A double as PostgreSQL's numeric prints the same JSON number: the shortest
// text that reads back exactly, with any exponent written out ("1e-07" is
// 0.0000001) and the digits of the mantissa kept.
std::string numeric_text(double value) {
  std::string text = json(value).dump();
  const auto e = text.find_first_of("eE");
  if (e == std::string::npos) {
    return text == "-0.0" ? "0.0" : text;
  }
  const int exponent = std::stoi(text.substr(e + 1));
  std::string mantissa = text.substr(0, e);
  const bool negative = mantissa.front() == '-';
  if (negative) {
    mantissa.erase(0, 1);
  }
  const auto point = mantissa.find('.');
  const int integer_digits = static_cast<int>(point == std::string::npos ? mantissa.size() : point);
  std::string digits = mantissa;
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int new_point = integer_digits + exponent;
  std::string plain;
  if (new_point <= 0) {
    plain = "0." + std::string(static_cast<std::size_t>(-new_point), '0') + digits;
  } else if (new_point >= static_cast<int>(digits.size())) {
    plain = digits + std::string(static_cast<std::size_t>(new_point) - digits.size(), '0');
  } else {
    plain = digits.substr(0, static_cast<std::size_t>(new_point)) + "." +
            digits.substr(static_cast<std::size_t>(new_point));
  }
  return negative ? "-" + plain : plain;
}

void append_jsonb(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      std::vector<const std::string*> keys;
      for (const auto& [key, member] : value.items()) {
        keys.push_back(&key);
      }
      // jsonb's key order: shorter keys first, equal lengths bytewise.
      std::sort(keys.begin(), keys.end(), [](const std::string* a, const std::string* b) {
        return a->size() != b->size() ? a->size() < b->size() : *a < *b;
      });
      out += '{';
      for (std::size_t n = 0; n < keys.size(); ++n) {
        if (n > 0) {
          out += ", ";
        }
        append_string(out, *keys[n]);
        out += ": ";
        append_jsonb(out, value.at(*keys[n]));
      }
      out += '}';
      return;
    }
    case json::value_t::array:
      out += '[';
      for (std::size_t n = 0; n < value.size(); ++n) {
        if (n > 0) {
          out += ", ";
        }
        append_jsonb(out, value[n]);
      }
      out += ']';
      return;
    case json::value_t::string:
      append_string(out, value.get_ref<const std::string&>());
      return;
    case json::value_t::number_float:
      out += numeric_text(value.get<double>());
      return;
    default:
      out += value.dump();
      return;  // integers, booleans, null
  }
}

}  // namespace

std::string jsonb_text(const json& value) {
  std::string out;
  append_jsonb(out, value);
  return out;
}

json registrable_search(const json& request) {
  // Validates every member the way a search would (InvalidInput names it).
  static_cast<void>(parse_search_request(request, SearchLimits{}));
  json search = json::object();
  for (const auto& [name, value] : request.items()) {
    if (value.is_null() || name == "token" || name == "limit" || name == "context" || name == "includes" ||
        name == "excludes") {
      continue;
    }
    search[name] = value;
  }
  if (const auto filter = search.find("filter"); filter != search.end() && filter->is_string()) {
    *filter = cql2::text_to_json(filter->get_ref<const std::string&>());
    search["filter-lang"] = "cql2-json";
  }
  return search;
}

std::string search_hash(const json& search, const json& metadata) {
  const std::string text = jsonb_text(search) + jsonb_text(metadata);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_md5(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "md5 of the search failed");
  }
  std::string hex;
  for (unsigned int n = 0; n < size; ++n) {
    hex += fmt::format("{:02x}", digest[n]);
  }
  return hex;
}

}  // namespace tessera::catalog
