#include <fstream>
#include <iostream>
#include <iterator>

#include "commands.hpp"
#include "tessera/storage.hpp"

namespace tessera::cli {

void add_storage_command(CLI::App& app) {
  auto* storage = app.add_subcommand("storage", "List, write and read objects in a storage (file:// or a path)");
  storage->require_subcommand(1);

  struct Options {
    std::string uri;
    std::string key;
    std::string prefix;
    std::string file;
    bool shallow = false;
  };
  auto options = std::make_shared<Options>();

  auto* ls = storage->add_subcommand("ls", "List keys under a prefix");
  ls->add_option("STORAGE", options->uri, "Storage URI")->required();
  ls->add_option("PREFIX", options->prefix, "Key prefix");
  ls->add_flag("--shallow", options->shallow, "Only one level: keys and sub-folders below the prefix");
  ls->callback([options] {
    for (const auto& key : Storage::open(options->uri)->list(options->prefix, !options->shallow)) {
      std::cout << key << "\n";
    }
  });

  auto* put = storage->add_subcommand("put", "Write a local file (or '-' for stdin) to a key");
  put->add_option("STORAGE", options->uri, "Storage URI")->required();
  put->add_option("KEY", options->key, "Destination key")->required();
  put->add_option("FILE", options->file, "Source file, or - for standard input")->required();
  put->callback([options] {
    auto target = Storage::open(options->uri);
    if (options->file == "-") {
      const std::string data(std::istreambuf_iterator<char>(std::cin), {});
      target->put(options->key, data);
    } else {
      target->put_file(options->key, options->file);
    }
    std::cout << target->uri(options->key) << "\n";
  });

  auto* get = storage->add_subcommand("get", "Read a key to a file (or stdout)");
  get->add_option("STORAGE", options->uri, "Storage URI")->required();
  get->add_option("KEY", options->key, "Key to read")->required();
  get->add_option("-o,--output", options->file, "Output file (default: standard output)");
  get->callback([options] {
    const std::string data = Storage::open(options->uri)->get(options->key);
    if (options->file.empty() || options->file == "-") {
      std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    } else {
      std::ofstream(options->file, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
    }
  });
}

}  // namespace tessera::cli
