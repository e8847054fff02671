#include "catalog/stac_api/remote_search.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "catalog/stac_api/http_client.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog::stac_api {

using nlohmann::json;

namespace {

// Pages of one walk remembered in a token: enough to catch a server whose
// `next` links cycle, without tokens growing with the walk.
constexpr std::size_t kSeenPages = 16;

std::string join(const std::vector<std::string>& parts, char separator) {
  std::string joined;
  for (const auto& part : parts) {
    if (!joined.empty()) {
      joined.push_back(separator);
    }
    joined += part;
  }
  return joined;
}

[[noreturn]] void bad_answer(const PageCall& call, std::string_view what) {
  throw Error(ErrorCode::kIo, fmt::format("STAC API search {} {}: {}", call.body.is_object() ? "POST" : "GET",
                                          url_for_message(call.href), what));
}

[[noreturn]] void bad_token(std::string_view what) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("token: {}", what));
}

// The body of `link` merged into `current` as the STAC API paging link's
// `merge` asks (a shallow merge: the link's members replace the body's).
json merged_body(const json& current, const json& link_body) {
  json merged = current.is_object() ? current : json::object();
  for (const auto& [name, value] : link_body.items()) {
    merged[name] = value;
  }
  return merged;
}

// The page a paging link (`rel` next or prev) of `call`'s answer names.
PageCall linked_call(const json& link, const PageCall& call, const std::string& rel) {
  const auto href = link.find("href");
  if (href == link.end() || !href->is_string()) {
    bad_answer(call, fmt::format("its '{}' link has no href", rel));
  }
  const json method_value = link.value("method", json("GET"));
  const std::string method = method_value.is_string() ? method_value.get<std::string>() : std::string();
  PageCall linked{href->get<std::string>(), json()};
  if (method == "POST") {
    const json link_body = link.value("body", json::object());
    if (!link_body.is_object()) {
      bad_answer(call, fmt::format("its '{}' link's body is not an object", rel));
    }
    const json merge = link.value("merge", json(false));
    linked.body = merge == true ? merged_body(call.body, link_body) : link_body;
    if (linked.body.empty()) {
      linked.body = call.body;  // a POST link without a body repeats the request
    }
  } else if (method != "GET") {
    bad_answer(call, fmt::format("its '{}' link's method is neither GET nor POST", rel));
  }
  return linked;
}

// The searched time as a STAC API server reads it: an RFC 3339 instant, or
// "start/end" with ".." for an open end. Bare dates (their whole day, as
// tessera and pgstac read them) and the [start, end] array, which servers
// need not take, go as the instants tessera reads them as.
std::string server_datetime(const TimeRange& range) {
  if (range.start && range.end && *range.start == *range.end) {
    return format_rfc3339_micros(*range.start);
  }
  const auto end = [](const std::optional<std::int64_t>& at) {
    return at ? format_rfc3339_micros(*at) : std::string("..");
  };
  return end(range.start) + "/" + end(range.end);
}

}  // namespace

bool Conformance::declares(std::string_view suffix) const {
  return std::any_of(uris_.begin(), uris_.end(), [suffix](const std::string& uri) {
    return uri.size() > suffix.size() && uri.ends_with(suffix) && uri[uri.size() - suffix.size() - 1] == '/';
  });
}

std::string PageCall::identity() const {
  // FNV-1a 64 of the call: stable across processes, so a token read by
  // another worker checks the same way.
  std::uint64_t hash = 14695981039346656037ULL;
  const auto mix = [&hash](std::string_view text) {
    for (const char c : text) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
  };
  mix(href);
  mix("\n");
  mix(body.is_null() ? std::string() : body.dump());
  return fmt::format("{:016x}", hash);
}

void check_supported(const SearchRequest& request, const Conformance& conformance) {
  const auto require = [&conformance](bool used, std::string_view member, std::string_view suffix) {
    if (used && !conformance.declares(suffix)) {
      throw Error(ErrorCode::kUnsupported,
                  fmt::format("search: {} needs the server's conformance class '{}', which it does not declare", member,
                              suffix));
    }
  };
  require(request.filter.has_value(), "filter", "item-search#filter");
  require(request.filter.has_value(), "filter", "cql2-json");
  require(!request.sortby.empty(), "sortby", "item-search#sort");
  require(request.q.has_value(), "q", "item-search#free-text");
}

PageCall first_call(const SearchRequest& request, const SearchEndpoint& endpoint, std::size_t limit,
                    const std::optional<Bbox>& area) {
  const json& query = request.query;
  json body = json::object();
  if (!request.ids.empty()) {
    body["ids"] = request.ids;
  }
  if (!request.collections.empty()) {
    body["collections"] = request.collections;
  }
  if (area) {
    body["bbox"] = area->to_json();
  } else if (request.bbox) {
    body["bbox"] = request.bbox->to_json();
  } else if (const auto it = query.find("intersects"); it != query.end()) {
    body["intersects"] = *it;
  }
  if (request.datetime) {
    body["datetime"] = server_datetime(*request.datetime);
  }
  if (request.filter) {
    // The query extension is part of the parsed filter already.
    body["filter"] = cql2::to_json(*request.filter);
    body["filter-lang"] = "cql2-json";
  }
  if (!request.sortby.empty()) {
    json sortby = json::array();
    for (const auto& key : request.sortby) {
      sortby.push_back({{"field", key.field}, {"direction", key.descending ? "desc" : "asc"}});
    }
    body["sortby"] = std::move(sortby);
  }
  if (const auto it = query.find("q"); it != query.end()) {
    body["q"] = *it;
  }
  body["limit"] = limit;
  if (endpoint.post) {
    return {endpoint.href, std::move(body)};
  }
  // The same members as GET parameters (STAC API item search, GET form).
  std::vector<std::string> parameters;
  for (const auto& [name, value] : body.items()) {
    std::string text;
    if (name == "ids" || name == "collections") {
      const auto names = value.get<std::vector<std::string>>();
      for (const auto& entry : names) {
        if (entry.find(',') != std::string::npos) {
          throw Error(ErrorCode::kUnsupported,
                      fmt::format("search: {} '{}' holds a ',', which the server's GET search cannot take (it "
                                  "offers no POST search)",
                                  name == "ids" ? "id" : "collection", entry));
        }
      }
      text = join(names, ',');
    } else if (name == "bbox") {
      std::vector<std::string> numbers;
      for (const auto& number : value) {
        numbers.push_back(number.dump());
      }
      text = join(numbers, ',');
    } else if (name == "sortby") {
      std::vector<std::string> keys;
      for (const auto& key : value) {
        keys.push_back(fmt::format("{}{}", key["direction"] == "desc" ? '-' : '+', key["field"].get<std::string>()));
      }
      text = join(keys, ',');
    } else if (name == "q" && value.is_array()) {
      text = join(value.get<std::vector<std::string>>(), ',');
    } else {
      text = value.is_string() ? value.get<std::string>() : value.dump();
    }
    parameters.push_back(fmt::format("{}={}", name, percent_encode(text)));
  }
  const char separator = endpoint.href.find('?') == std::string::npos ? '?' : '&';
  return {endpoint.href + separator + join(parameters, '&'), json()};
}

RemotePage read_page(const std::string& body, const PageCall& call, std::size_t limit) {
  json page = json::parse(body, nullptr, false);
  if (page.is_discarded()) {
    bad_answer(call, fmt::format("the answer is not valid JSON ({} bytes; truncated?)", body.size()));
  }
  if (!page.is_object() || !page.contains("features") || !page["features"].is_array()) {
    bad_answer(call, "the answer has no 'features' array");
  }
  json& features = page["features"];
  if (features.size() > limit) {
    bad_answer(call,
               fmt::format("the page has {} features, more than the limit of {} asked for", features.size(), limit));
  }
  RemotePage result;
  result.items.reserve(features.size());
  for (std::size_t i = 0; i < features.size(); ++i) {
    if (!features[i].is_object()) {
      bad_answer(call, fmt::format("features[{}] is not an object", i));
    }
    result.items.push_back(features[i].dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (const auto it = page.find("numberMatched"); it != page.end() && it->is_number_integer()) {
    result.number_matched = it->get<std::int64_t>();
  } else if (const auto context = page.find("context"); context != page.end() && context->is_object()) {
    if (const auto matched = context->find("matched"); matched != context->end() && matched->is_number_integer()) {
      result.number_matched = matched->get<std::int64_t>();
    }
  }
  const auto links = page.find("links");
  if (links == page.end() || !links->is_array()) {
    return result;
  }
  for (const auto& link : *links) {
    if (!link.is_object()) {
      continue;
    }
    const json rel = link.value("rel", json());
    // IANA makes "previous" a synonym of "prev"; stac-fastapi-pgstac writes it
    // (its issue 159).
    std::optional<PageCall>* target = rel == "next"                        ? &result.next
                                      : rel == "prev" || rel == "previous" ? &result.prev
                                                                           : nullptr;
    if (target != nullptr && !target->has_value()) {
      *target = linked_call(link, call, rel.get<std::string>());
    }
  }
  return result;
}

json position_of(const PageCall& next, std::vector<std::string> seen) {
  if (seen.size() > kSeenPages) {
    seen.erase(seen.begin(), seen.end() - static_cast<std::ptrdiff_t>(kSeenPages));
  }
  return {{"href", next.href}, {"body", next.body}, {"seen", std::move(seen)}};
}

PageCall call_from_position(const json& position, const std::string& origin, std::vector<std::string>& seen) {
  if (!position.is_object() || !position.contains("href") || !position["href"].is_string()) {
    bad_token("is not a token this catalog issued");
  }
  PageCall call{position["href"].get<std::string>(), position.value("body", json())};
  std::string href_origin;
  try {
    href_origin = url_origin(call.href);
  } catch (const Error&) {
    bad_token("is not a token this catalog issued");
  }
  if (href_origin != origin) {
    bad_token(fmt::format("names another server ({}) than this catalog's ({})", href_origin, origin));
  }
  if (!call.body.is_null() && !call.body.is_object()) {
    bad_token("is not a token this catalog issued");
  }
  const json listed = position.value("seen", json::array());
  if (!listed.is_array() || listed.size() > kSeenPages + 1) {
    bad_token("is not a token this catalog issued");
  }
  seen.clear();
  for (const auto& identity : listed) {
    if (!identity.is_string()) {
      bad_token("is not a token this catalog issued");
    }
    seen.push_back(identity.get<std::string>());
  }
  return call;
}

PageCall with_limit(PageCall call, std::size_t limit) {
  if (call.body.is_object()) {
    call.body["limit"] = limit;
    return call;
  }
  const std::size_t query = call.href.find('?');
  std::vector<std::string> parameters;
  if (query != std::string::npos) {
    std::string_view rest = std::string_view(call.href).substr(query + 1);
    while (!rest.empty()) {
      const std::size_t end = std::min(rest.find('&'), rest.size());
      if (const std::string_view parameter = rest.substr(0, end);
          !parameter.empty() && parameter != "limit" && !parameter.starts_with("limit=")) {
        parameters.emplace_back(parameter);
      }
      rest.remove_prefix(std::min(end + 1, rest.size()));
    }
  }
  parameters.push_back(fmt::format("limit={}", limit));
  return {call.href.substr(0, query) + "?" + join(parameters, '&'), json()};
}

void check_not_seen(const PageCall& next, const std::vector<std::string>& seen, std::string_view shown_url) {
  if (std::find(seen.begin(), seen.end(), next.identity()) != seen.end()) {
    throw Error(ErrorCode::kIo,
                fmt::format("STAC API search {}: its 'next' link loops back to a page already read", shown_url));
  }
}

}  // namespace tessera::catalog::stac_api
