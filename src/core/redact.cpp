#include "core/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <vector>

extern char** environ;

namespace tessera::core {

namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) noexcept {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
         }) != haystack.end();
}

// Replaces the value that follows every (case-insensitive) `key` in `text`,
// up to the first character `value_ends` accepts.
template <typename Ends>
void redact_after(std::string& text, std::string_view key, Ends value_ends) {
  std::size_t from = 0;
  for (;;) {
    const auto found = std::search(
        text.begin() + static_cast<std::ptrdiff_t>(from), text.end(), key.begin(), key.end(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        });
    if (found == text.end()) {
      return;
    }
    const std::size_t start = static_cast<std::size_t>(found - text.begin()) + key.size();
    std::size_t end = start;
    if (end < text.size() && (text[end] == '\'' || text[end] == '"')) {
      // A quoted conninfo value: up to the closing quote (backslash escapes).
      const char quote = text[end];
      for (++end; end < text.size() && text[end] != quote; ++end) {
        end += text[end] == '\\' ? 1 : 0;
      }
      end = std::min(text.size(), end + 1);
    } else {
      while (end < text.size() && !value_ends(text[end])) {
        ++end;
      }
    }
    if (end > start) {
      text.replace(start, end - start, kRedacted);
      from = start + kRedacted.size();
    } else {
      from = start;  // an empty value: the next key may follow at once
    }
  }
}

bool conninfo_value_end(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '\'' || c == '"'; }
bool query_value_end(char c) {
  return c == '&' || c == '#' || c == '"' || c == '\'' || std::isspace(static_cast<unsigned char>(c)) != 0;
}

// scheme://user:PASSWORD@host -> scheme://user:***@host
void redact_userinfo(std::string& text) {
  std::size_t from = 0;
  for (;;) {
    const std::size_t scheme_end = text.find("://", from);
    if (scheme_end == std::string::npos) {
      return;
    }
    const std::size_t authority = scheme_end + 3;
    std::size_t end = authority;
    while (end < text.size() && text[end] != '/' && text[end] != '?' && text[end] != '#' &&
           std::isspace(static_cast<unsigned char>(text[end])) == 0 && text[end] != '"' && text[end] != '\'') {
      ++end;
    }
    const std::size_t at = text.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= authority && at < end) {
      const std::size_t colon = text.find(':', authority);
      if (colon != std::string::npos && colon < at && at > colon + 1) {
        text.replace(colon + 1, at - colon - 1, kRedacted);
        end = colon + 1 + kRedacted.size() + 1;
      }
    }
    from = std::max(end, authority);
  }
}

}  // namespace

bool is_secret_variable(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 9> kMarkers = {"PASSWORD", "PASSWD", "SECRET", "TOKEN",    "CREDENTIAL",
                                                               "PRIVATE",  "_KEY",   "APIKEY", "SIGNATURE"};
  if (name == "DATABASE_URL" || name == "PGPASSWORD" || name == "PGSERVICEFILE" || name == "PGPASSFILE") {
    return true;
  }
  return std::any_of(kMarkers.begin(), kMarkers.end(),
                     [&](std::string_view marker) { return contains_ci(name, marker); });
}

std::string redact_secrets(std::string_view input) {
  std::string text(input);
  if (text.empty()) {
    return text;
  }
  redact_after(text, "password=", conninfo_value_end);
  for (const std::string_view parameter :
       {"X-Amz-Signature=", "X-Amz-Credential=", "X-Amz-Security-Token=", "AWSAccessKeyId=", "Signature=", "sig=",
        "X-Goog-Signature=", "X-Goog-Credential="}) {
    redact_after(text, parameter, query_value_end);
  }
  redact_userinfo(text);
  // Values of the host's secret variables, wherever they appear. Short
  // values are left: they would blank out ordinary words.
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const char* equals = std::strchr(*entry, '=');
    if (equals == nullptr) {
      continue;
    }
    const std::string_view name(*entry, static_cast<std::size_t>(equals - *entry));
    const std::string_view value(equals + 1);
    if (value.size() < 8 || !is_secret_variable(name)) {
      continue;
    }
    for (std::size_t at = text.find(value); at != std::string::npos; at = text.find(value, at + kRedacted.size())) {
      text.replace(at, value.size(), kRedacted);
    }
  }
  return text;
}

}  // namespace tessera::core
