// A plugin from a future ferry: ABI 999. Only abi_version may be read; every other field is
// garbage on purpose, so a loader that looks further crashes the test instead of passing it.
#include <cstdint>

#include <ferry/plugin.hpp>

namespace {
template <typename T>
T garbage() {
    return reinterpret_cast<T>(std::uintptr_t{0x10});
}
}  // namespace

extern "C" __attribute__((visibility("default"))) const ferry_plugin_descriptor* ferry_plugin_entry() {
    static const ferry_plugin_descriptor descriptor{
        999u,
        0xdeadbeefu,
        garbage<const char*>(),
        garbage<const char*>(),
        garbage<const char* const*>(),
        garbage<const char*>(),
        garbage<ferry::dialect* (*)()>(),
        garbage<void (*)(ferry::dialect*)>(),
    };
    return &descriptor;
}
