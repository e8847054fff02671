#pragma once

// Secrets never leave: connection-string passwords, URL user-info passwords,
// presigned-URL signatures and the values of the host's secret environment
// variables are replaced by "***" in text bound for an error message, a log
// line or a stored record. Internal header, offered to every module.

#include <string>
#include <string_view>

namespace tessera::core {

// The replacement of a secret.
inline constexpr std::string_view kRedacted = "***";

// Whether an environment variable's name says it holds a secret (PGPASSWORD,
// DATABASE_URL, AWS_SECRET_ACCESS_KEY, *PASSWORD*, *SECRET*, *TOKEN*, *_KEY*, ...).
bool is_secret_variable(std::string_view name) noexcept;

// `text` with every secret it shows replaced by kRedacted.
std::string redact_secrets(std::string_view text);

}  // namespace tessera::core
