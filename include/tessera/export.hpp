#pragma once

// Symbols are hidden by default; TESSERA_API marks the public C++ API.
#if defined(TESSERA_STATIC_DEFINE)
#define TESSERA_API
#else
#define TESSERA_API __attribute__((visibility("default")))
#endif
