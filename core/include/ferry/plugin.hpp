// The plugin entry point. A dialect plugin is a shared library exporting one C function,
// `ferry_plugin_entry`, returning a pointer to a constant descriptor. The loader reads
// abi_version first and refuses the file before reading any other field when it differs;
// then it compares the toolchain stamp, because C++ types (dialect, std::string, exceptions)
// cross the boundary behind the descriptor. See docs/plugins.md.
#pragma once

#include <cstdint>

#include <ferry/dialect.hpp>

// Bump when anything in include/ferry/ that crosses the boundary changes shape or meaning.
#define FERRY_PLUGIN_ABI_VERSION 4u

#define FERRY_STRINGIFY_INNER(x) #x
#define FERRY_STRINGIFY(x) FERRY_STRINGIFY_INNER(x)

// Compiler family and major version, standard library and its string ABI, C++ standard.
#if defined(__clang__)
#define FERRY_COMPILER_STAMP "clang-" FERRY_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define FERRY_COMPILER_STAMP "gcc-" FERRY_STRINGIFY(__GNUC__)
#else
#define FERRY_COMPILER_STAMP "unknown"
#endif
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define FERRY_STDLIB_STAMP "libstdc++-cxx11abi" FERRY_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define FERRY_STDLIB_STAMP "libc++"
#else
#define FERRY_STDLIB_STAMP "unknown-stdlib"
#endif
#define FERRY_TOOLCHAIN_STAMP FERRY_COMPILER_STAMP "/" FERRY_STDLIB_STAMP "/c++" FERRY_STRINGIFY(__cplusplus)

extern "C" {

struct ferry_plugin_descriptor {
    std::uint32_t abi_version;       // FERRY_PLUGIN_ABI_VERSION the plugin was built with; first, always
    std::uint32_t descriptor_size;   // sizeof(ferry_plugin_descriptor) of that build
    const char* toolchain;           // FERRY_TOOLCHAIN_STAMP of that build
    const char* name;                // short dialect name, e.g. "sqlite"
    const char* const* schemes;      // DSN schemes served, terminated by nullptr
    const char* version;             // the plugin's own version
    ferry::dialect* (*create)();     // a new dialect object; released with destroy()
    void (*destroy)(ferry::dialect*);
};

typedef const ferry_plugin_descriptor* ferry_plugin_entry_fn();
}

#define FERRY_PLUGIN_ENTRY_SYMBOL "ferry_plugin_entry"

// Defines the entry point. Use once per plugin, at namespace scope:
//   FERRY_DEFINE_PLUGIN("sqlite", "1.0.0", my_dialect, "sqlite", "memory")
#define FERRY_DEFINE_PLUGIN(NAME, VERSION, DIALECT_CLASS, ...)                                       \
    extern "C" __attribute__((visibility("default"))) const ferry_plugin_descriptor*               \
    ferry_plugin_entry() {                                                                         \
        static const char* const schemes[] = {__VA_ARGS__, nullptr};                               \
        static const ferry_plugin_descriptor descriptor{                                           \
            FERRY_PLUGIN_ABI_VERSION,                                                              \
            sizeof(ferry_plugin_descriptor),                                                       \
            FERRY_TOOLCHAIN_STAMP,                                                                 \
            NAME,                                                                                  \
            schemes,                                                                               \
            VERSION,                                                                               \
            []() -> ferry::dialect* { return new DIALECT_CLASS(); },                               \
            [](ferry::dialect* d) { delete d; },                                                   \
        };                                                                                         \
        return &descriptor;                                                                        \
    }
