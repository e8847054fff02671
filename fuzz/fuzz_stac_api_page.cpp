// A remote STAC API's answers and the positions tessera keeps of them: a page
// body as the server sends it (read_page: Io is its rejection, since the
// fault is the server's) and a page token's position as a client hands it
// back (call_from_position: InvalidInput, and never a call to another host).

#include <string>
#include <vector>

#include "catalog/stac_api/remote_search.hpp"
#include "fuzz_support.hpp"

namespace {

constexpr const char* kOrigin = "https://stac.example.com";
constexpr std::size_t kPageLimit = 100;

// Runs `body`, accepting a clean rejection with Io too.
template <class Body>
void read_or_reject(Body&& body) {
  try {
    body();
  } catch (const tessera::Error& error) {
    if (error.code() != tessera::ErrorCode::kIo && error.code() != tessera::ErrorCode::kInvalidInput) {
      tessera::fuzz::finding("unexpected tessera::Error", error.what());
    }
  } catch (const std::exception& error) {
    tessera::fuzz::finding("exception other than tessera::Error", error.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace remote = tessera::catalog::stac_api;
  const remote::PageCall first{std::string(kOrigin) + "/search", nlohmann::json{{"limit", kPageLimit}}};
  read_or_reject([&] {
    const remote::RemotePage page =
        remote::read_page(std::string(tessera::fuzz::as_text(data, size)), first, kPageLimit);
    if (page.items.size() > kPageLimit) {
      tessera::fuzz::finding("read_page", "more items than the page limit");
    }
    if (page.next) {
      // What a token stores of the next page must read back as the same call.
      std::vector<std::string> seen;
      const auto position = remote::position_of(*page.next, {first.identity()});
      if (page.next->href.rfind(kOrigin, 0) == 0) {
        const remote::PageCall again = remote::call_from_position(position, kOrigin, seen);
        if (again.identity() != page.next->identity()) {
          tessera::fuzz::finding("position_of", "a next call does not survive its token position");
        }
      }
    }
  });
  if (const auto position = tessera::fuzz::as_json(data, size)) {
    tessera::fuzz::accepted([&] {
      std::vector<std::string> seen;
      const remote::PageCall call = remote::call_from_position(*position, kOrigin, seen);
      if (call.href.rfind(std::string(kOrigin) + "/", 0) != 0 && call.href != kOrigin) {
        tessera::fuzz::finding("call_from_position", "a token position leads to another host");
      }
    });
  }
  return 0;
}
