#include "core/sha256.hpp"

#include <array>
#include <fstream>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "tessera/error.hpp"

namespace tessera::core {

struct Sha256::Context {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> digest{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  if (!context_->digest || EVP_DigestInit_ex(context_->digest.get(), EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "SHA-256: OpenSSL could not set up a digest");
  }
}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) { EVP_DigestUpdate(context_->digest.get(), data.data(), data.size()); }

std::string Sha256::hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_DigestFinal_ex(context_->digest.get(), digest.data(), &size);
  std::string text;
  text.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    fmt::format_to(std::back_inserter(text), "{:02x}", digest[i]);
  }
  return text;
}

std::string sha256_hex(std::string_view data) {
  Sha256 digest;
  digest.update(data);
  return digest.hex();
}

std::string sha256_hex_of_file(const std::filesystem::path& path) {
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    throw Error(ErrorCode::kIo, fmt::format("cannot read '{}' to hash it", path.string()));
  }
  Sha256 digest;
  std::array<char, 1 << 16> buffer{};
  while (input.read(buffer.data(), buffer.size()) || input.gcount() > 0) {
    digest.update(std::string_view(buffer.data(), static_cast<std::size_t>(input.gcount())));
  }
  return digest.hex();
}

}  // namespace tessera::core
