#include "tessera/error.hpp"

#include "core/enum_names.hpp"
#include "core/redact.hpp"

namespace tessera {

namespace {

constexpr core::EnumName<ErrorCode> kCodeNames[] = {
    {ErrorCode::kInvalidInput, "invalid_input"}, {ErrorCode::kNotFound, "not_found"},
    {ErrorCode::kConflict, "conflict"},          {ErrorCode::kIo, "io"},
    {ErrorCode::kUnsupported, "unsupported"},    {ErrorCode::kInternal, "internal"},
    {ErrorCode::kUnavailable, "unavailable"},
};
// kIo was "io_error" before 0.2; code written for it may still say so.
constexpr core::EnumName<ErrorCode> kCodeAliases[] = {{ErrorCode::kIo, "io_error"}};
constexpr core::NameTable<ErrorCode> kCodes{"error code", kCodeNames, kCodeAliases};
static_assert(kCodes.covers(ErrorCode::kInvalidInput, ErrorCode::kUnavailable));

}  // namespace

std::string_view error_code_name(ErrorCode code) noexcept { return kCodes.name(code); }

ErrorCode error_code_from_name(std::string_view name) { return kCodes.from_name(name); }

std::vector<std::string> error_code_names() { return kCodes.names(); }

// Every message is redacted where it is made, so no path (logs, job records,
// C and Python errors) can carry a password, key or signature further.
Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(core::redact_secrets(message)), code_(code) {}

}  // namespace tessera
