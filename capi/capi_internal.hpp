#pragma once

// Shared machinery of the C entry points: the thread-local last error, the
// guard that turns every exception into a status, and argument checks.

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>

#include "tessera.h"
#include "tessera/catalog.hpp"
#include "tessera/error.hpp"
#include "tessera/storage.hpp"

// The opaque handles behind the C typedefs: each owns one C++ object.
struct tsr_storage_s {
  std::unique_ptr<tessera::Storage> impl;
};
struct tsr_catalog_s {
  std::unique_ptr<tessera::Catalog> impl;
};

namespace tessera::capi {

void set_last_error(std::string_view message);
void clear_last_error();

// Runs `body` and maps any exception to a status; no exception crosses the ABI.
template <typename Body>
tsr_status guarded(Body&& body) noexcept {
  try {
    body();
    clear_last_error();
    return TSR_OK;
  } catch (const Error& error) {
    set_last_error(error.what());
    return static_cast<tsr_status>(error.code());
  } catch (const std::bad_alloc&) {
    set_last_error("out of memory");
    return TSR_INTERNAL;
  } catch (const std::exception& error) {
    set_last_error(error.what());
    return TSR_INTERNAL;
  } catch (...) {
    set_last_error("unknown exception");
    return TSR_INTERNAL;
  }
}

// Throws InvalidInput when a required pointer argument is NULL.
template <typename T>
T* require(T* pointer, const char* function, const char* argument) {
  if (pointer == nullptr) {
    throw Error(ErrorCode::kInvalidInput, std::string(function) + ": argument '" + argument + "' is NULL");
  }
  return pointer;
}

// The catalog behind a handle; InvalidInput naming `function` when it is NULL.
inline Catalog& catalog_of(tsr_catalog catalog, const char* function) {
  return *require(catalog, function, "catalog")->impl;
}

// A malloc'ed, NUL-terminated copy released by tsr_free.
char* copy_string(std::string_view text);

// JSON text of a required argument; InvalidInput naming the function and argument.
nlohmann::json parse_json_argument(const char* text, const char* function, const char* argument);

// The checked options (defaults for NULL).
LoadOptions load_options_of(const tsr_load_options* options);

}  // namespace tessera::capi

#define TSR_REQUIRE(arg) ::tessera::capi::require((arg), __func__, #arg)
