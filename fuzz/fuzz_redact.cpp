// Redaction runs over every error message, and messages quote outside input
// (hrefs, connection strings, ids): any text must come back without a crash,
// without growing past a bound, and without the secrets it was built around.

#include <cstdlib>
#include <string>

#include "core/redact.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(tessera::fuzz::as_text(data, size));
  const std::string redacted = tessera::core::redact_secrets(input);
  // Each replacement is "***" (3 bytes) for at least one byte of secret.
  if (redacted.size() > 3 * input.size() + 3) {
    std::abort();
  }
  // A planted password never survives, whatever surrounds it (unless the
  // input itself carries the same text outside a password).
  constexpr std::string_view kSecret = "fuzz-secret-value";
  if (input.find(kSecret) == std::string::npos) {
    const std::string planted = input + " password=" + std::string(kSecret) + " " + input;
    if (tessera::core::redact_secrets(planted).find(kSecret) != std::string::npos) {
      std::abort();
    }
  }
  return 0;
}
