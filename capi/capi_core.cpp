#include <cstdlib>
#include <mutex>

#include "capi_internal.hpp"
#include "tessera/log.hpp"
#include "tessera/tessera.hpp"

namespace tessera::capi {
namespace {
thread_local std::string last_error;
}

void set_last_error(std::string_view message) { last_error.assign(message); }
void clear_last_error() { last_error.clear(); }

char* copy_string(std::string_view text) {
  auto* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy == nullptr) {
    throw std::bad_alloc();
  }
  std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

}  // namespace tessera::capi

extern "C" {

const char* tsr_version(void) { return tessera::version(); }

const char* tsr_last_error_message(void) { return tessera::capi::last_error.c_str(); }

const char* tsr_status_name(tsr_status status) {
  if (status == TSR_OK) {
    return "ok";
  }
  return tessera::error_code_name(static_cast<tessera::ErrorCode>(status)).data();
}

void tsr_free(void* ptr) { std::free(ptr); }

tsr_status tsr_set_log_callback(tsr_log_callback callback, tsr_log_level min_level, void* user_data) {
  return tessera::capi::guarded([&] {
    if (callback == nullptr) {
      tessera::set_log_callback(nullptr);
      return;
    }
    tessera::set_log_callback(
        [callback, user_data](tessera::LogLevel level, std::string_view message) {
          const std::string text(message);
          callback(static_cast<tsr_log_level>(level), text.c_str(), user_data);
        },
        static_cast<tessera::LogLevel>(min_level));
  });
}

}  // extern "C"
