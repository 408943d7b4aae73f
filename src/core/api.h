// EDGEKIT_API marks the public runtime API: what libedgekit_rt.so exports. Every library is
// compiled with -fvisibility=hidden -fvisibility-inlines-hidden (CMakeLists.txt), so nothing
// else leaves the shared library: no dynamic symbol, no PLT call between its own functions, and
// code nothing exported reaches is dropped at link time (--gc-sections). Static linking (the
// CLI, the tests, the Python module, libedgekit_rt.a) sees every symbol as before.
#pragma once

#define EDGEKIT_API __attribute__((visibility("default")))
