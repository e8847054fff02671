#include "core/gdal_env.hpp"

#include <mutex>

#include <cpl_conv.h>
#include <fmt/format.h>
#include <gdal.h>
#include <ogr_api.h>
#include <proj.h>

#include "tessera/log.hpp"

namespace tessera::gdal {
namespace {

void CPL_STDCALL log_handler(CPLErr level, CPLErrorNum /*number*/, const char* message) {
  switch (level) {
    case CE_Debug:
      log(LogLevel::kDebug, message);
      break;
    case CE_Warning:
      log(LogLevel::kWarning, message);
      break;
    case CE_Failure:
    case CE_Fatal:
      // Failures are also returned to the caller as tessera::Error; logging
      // them at debug level keeps one error from being reported twice.
      log(LogLevel::kDebug, message);
      break;
    case CE_None:
      break;
  }
}

void apply_cloud_read_defaults() {
  // Settings for reading COGs over HTTP/S3, as TiTiler recommends; a value
  // already set by the host (config or environment) wins.
  const std::pair<const char*, const char*> defaults[] = {
      {"GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR"},
      {"GDAL_HTTP_MERGE_CONSECUTIVE_RANGES", "YES"},
      {"GDAL_HTTP_MULTIPLEX", "YES"},
      {"GDAL_HTTP_VERSION", "2"},
      {"VSI_CACHE", "TRUE"},
      {"GDAL_INGESTED_BYTES_AT_OPEN", "32768"},
  };
  for (const auto& [key, value] : defaults) {
    if (CPLGetConfigOption(key, nullptr) == nullptr) {
      CPLSetConfigOption(key, value);
    }
  }
}

}  // namespace

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    GDALAllRegister();
    apply_cloud_read_defaults();
    CPLSetErrorHandler(log_handler);
    // PROJ must never reach out to the network for grids unless asked to.
    proj_context_set_enable_network(nullptr, 0);
  });
}

std::string last_error_message() {
  const char* message = CPLGetLastErrorMsg();
  return message != nullptr ? std::string(message) : std::string();
}

void throw_last_error(ErrorCode code, std::string_view what) {
  const std::string message = last_error_message();
  CPLErrorReset();
  if (message.empty()) {
    throw Error(code, std::string(what));
  }
  throw Error(code, fmt::format("{}: {}", what, message));
}

ErrorCapture::ErrorCapture() {
  ensure_initialized();
  CPLErrorReset();
  CPLPushErrorHandlerEx(handler, this);
}

ErrorCapture::~ErrorCapture() { CPLPopErrorHandler(); }

void CPL_STDCALL ErrorCapture::handler(CPLErr level, CPLErrorNum /*number*/, const char* message) {
  if (level == CE_Debug) {
    return;
  }
  auto* self = static_cast<ErrorCapture*>(CPLGetErrorHandlerUserData());
  if (!self->messages_.empty()) {
    self->messages_ += "; ";
  }
  self->messages_ += message;
}

}  // namespace tessera::gdal
