#include "service/http_support.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace tessera::service {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// A host, host:port or [v6]:port: letters, digits and . - : [ ] only.
bool plain_host(std::string_view host) {
  return !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
}

bool plain_proto(std::string_view proto) { return proto == "http" || proto == "https"; }

// A path prefix such as "/stac": unreserved characters and '/' only.
bool plain_prefix(std::string_view prefix) {
  return prefix.size() <= 255 && (prefix.empty() || prefix.front() == '/') &&
         std::all_of(prefix.begin(), prefix.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '-' || c == '_' || c == '.' ||
                  c == '~';
         });
}

// The first element of a comma-separated header value.
std::string_view first_element(std::string_view value) { return trim(value.substr(0, value.find(','))); }

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

void bad_request(std::string description) { throw HttpError(400, "BadRequest", std::move(description)); }

std::string base_url(const HttpRequest& request) {
  std::string proto = "http";
  std::string host = "localhost";
  std::string prefix;
  if (const std::string* value = request.header("host"); value != nullptr && plain_host(trim(*value))) {
    host = std::string(trim(*value));
  }
  if (const std::string* forwarded = request.header("forwarded")) {
    // Only the element the nearest proxy added first: proto=https;host=example.com
    std::string_view element = first_element(*forwarded);
    while (!element.empty()) {
      const std::size_t end = std::min(element.find(';'), element.size());
      const std::string_view pair = trim(element.substr(0, end));
      element.remove_prefix(std::min(end + 1, element.size()));
      const std::size_t equals = pair.find('=');
      if (equals == std::string_view::npos) {
        continue;
      }
      const std::string_view name = trim(pair.substr(0, equals));
      std::string_view value = trim(pair.substr(equals + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (equals_ignoring_case(name, "proto") && plain_proto(value)) {
        proto = std::string(value);
      } else if (equals_ignoring_case(name, "host") && plain_host(value)) {
        host = std::string(value);
      }
    }
  } else {
    if (const std::string* value = request.header("x-forwarded-proto");
        value != nullptr && plain_proto(first_element(*value))) {
      proto = std::string(first_element(*value));
    }
    if (const std::string* value = request.header("x-forwarded-host");
        value != nullptr && plain_host(first_element(*value))) {
      host = std::string(first_element(*value));
    }
  }
  if (const std::string* value = request.header("x-forwarded-prefix");
      value != nullptr && plain_prefix(first_element(*value))) {
    prefix = std::string(first_element(*value));
    while (!prefix.empty() && prefix.back() == '/') {
      prefix.pop_back();
    }
  }
  return fmt::format("{}://{}{}", proto, host, prefix);
}

HttpResponse json_response(int status, const nlohmann::json& body, std::string_view content_type) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", std::string(content_type));
  // Invalid UTF-8 in stored text is replaced rather than failing the response.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse error_response(int status, std::string_view code, std::string_view description) {
  return json_response(status, {{"code", code}, {"description", description}});
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  std::size_t start = 0;
  while (start < if_none_match.size()) {
    const std::size_t end = std::min(if_none_match.find(',', start), if_none_match.size());
    std::string_view tag = if_none_match.substr(start, end - start);
    start = end + 1;
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) {
      tag.remove_prefix(1);
    }
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) {
      tag.remove_suffix(1);
    }
    if (tag.starts_with("W/")) {
      tag.remove_prefix(2);
    }
    if (tag == "*" || tag == etag) {
      return true;
    }
  }
  return false;
}

std::string query_escape(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      escaped += c;
    } else {
      escaped += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return escaped;
}

std::string query_string_of(const HttpRequest& request, const std::vector<std::string_view>& excluded) {
  std::string query;
  for (const auto& [name, value] : request.query) {
    if (std::find(excluded.begin(), excluded.end(), name) != excluded.end()) {
      continue;
    }
    query += query.empty() ? '?' : '&';
    query += query_escape(name);
    query += '=';
    query += query_escape(value);
  }
  return query;
}

}  // namespace tessera::service
