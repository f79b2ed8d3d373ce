// ferry_cli_tests: the ferry binary as a user meets it, on SQLite only.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

#include "../conformance/fixture.hpp"

int main(int argc, char** argv) {
    // The CLI cases use SQLite whatever the conformance run is set to.
    ::setenv("FERRY_CONFORMANCE_DIALECT", "sqlite", 1);
    if (auto code = ferry::test::select_target_from_environment()) return *code;
    doctest::Context context(argc, argv);
    return context.run();
}
