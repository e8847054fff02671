#include "matching/geos_handles.hpp"

namespace tessera::matching {

namespace {

// The reentrant handler gets the message already formatted.
void keep_message(const char* message, void* user_data) { *static_cast<std::string*>(user_data) = message; }

}  // namespace

GeosContext::GeosContext() : handle_(GEOS_init_r()) {
  GEOSContext_setErrorMessageHandler_r(handle_, keep_message, &last_error_);
}

GeosContext::~GeosContext() { GEOS_finish_r(handle_); }

}  // namespace tessera::matching
