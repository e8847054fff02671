#pragma once

// What tessera.Service takes from the geoprocessing bindings
// (bind_geoprocessing.cpp).

#include <memory>

#include "tessera/geoprocessing.hpp"

namespace tessera::python {

// A registry as Python holds it: services are added until a Service serves
// it; then it is frozen, since the Service's threads read it without locks.
struct PythonRegistry {
  std::shared_ptr<GeoprocessingRegistry> registry = std::make_shared<GeoprocessingRegistry>();
  bool served = false;

  // The registry to add a service to; InvalidInput once it is served.
  GeoprocessingRegistry& for_adding() const;
};

// tessera.GeoprocessingOptions: how a Service serves a registry.
struct PythonGeoprocessingOptions {
  std::shared_ptr<PythonRegistry> registry;
  GeoprocessingOptions options;  // without its registry

  // The options with the registry, which is frozen from now on.
  [[nodiscard]] GeoprocessingOptions serve() const;
};

}  // namespace tessera::python
