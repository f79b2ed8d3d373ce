// A plugin with the right ABI version but built by another toolchain: C++ types crossing the
// boundary would not match, so it must be refused before create() is ever called.
#include <cstdlib>

#include <ferry/plugin.hpp>

extern "C" __attribute__((visibility("default"))) const ferry_plugin_descriptor* ferry_plugin_entry() {
    static const char* const schemes[] = {"badtool", nullptr};
    static const ferry_plugin_descriptor descriptor{
        FERRY_PLUGIN_ABI_VERSION,
        sizeof(ferry_plugin_descriptor),
        "gcc-0/not-this-stdlib/c++0",
        "badtool",
        schemes,
        "0.0.1",
        []() -> ferry::dialect* { std::abort(); },
        [](ferry::dialect*) { std::abort(); },
    };
    return &descriptor;
}
