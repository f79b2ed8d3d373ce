// Compiled by cmake/FerryPackaging.cmake at configure time (try_compile) to read this build's
// FERRY_TOOLCHAIN_STAMP out of the binary; FerryConfig.cmake records it for plugin builds.
#include <ferry/plugin.hpp>

const char ferry_toolchain_stamp[] = "FERRY_TOOLCHAIN_STAMP[" FERRY_TOOLCHAIN_STAMP "]";

int main(int argc, char**) { return ferry_toolchain_stamp[argc] == 0; }
