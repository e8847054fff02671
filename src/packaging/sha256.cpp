#include "packaging/sha256.hpp"

#include <array>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "tessera/error.hpp"

namespace tessera::packaging {

namespace {

class Digest {
 public:
  Digest() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) {
      throw Error(ErrorCode::kInternal, "SHA-256: OpenSSL could not set up a digest");
    }
  }
  void update(const char* data, std::size_t size) { EVP_DigestUpdate(context_.get(), data, size); }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_DigestFinal_ex(context_.get(), digest.data(), &size);
    std::string text;
    text.reserve(size * 2);
    for (unsigned int i = 0; i < size; ++i) {
      fmt::format_to(std::back_inserter(text), "{:02x}", digest[i]);
    }
    return text;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  Digest digest;
  digest.update(data.data(), data.size());
  return digest.hex();
}

std::string sha256_hex_of_file(const std::filesystem::path& path) {
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    throw Error(ErrorCode::kIo, fmt::format("cannot read '{}' to hash it", path.string()));
  }
  Digest digest;
  std::array<char, 1 << 16> buffer{};
  while (input.read(buffer.data(), buffer.size()) || input.gcount() > 0) {
    digest.update(buffer.data(), static_cast<std::size_t>(input.gcount()));
  }
  return digest.hex();
}

}  // namespace tessera::packaging
