#pragma once

// Requests for the service's in-process tests (Service::handle): a GET to a
// path with query parameters and headers, reaching the service as
// http://tiles.test unless a Host header says otherwise.

#include <string>
#include <utility>
#include <vector>

#include "tessera/service.hpp"

namespace tessera::testing {

using Query = std::vector<std::pair<std::string, std::string>>;

inline HttpRequest get(std::string path, Query query = {}, Query headers = {}) {
  HttpRequest request;
  request.path = std::move(path);
  request.query = std::move(query);
  request.headers = std::move(headers);
  if (request.header("host") == nullptr) {
    request.headers.emplace_back("Host", "tiles.test");
  }
  return request;
}

}  // namespace tessera::testing
