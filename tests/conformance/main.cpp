// ferry_conformance: the engine's conformance cases, run once per dialect.
//   FERRY_CONFORMANCE_DIALECT=sqlite|postgres|mysql (default sqlite)
//   FERRY_TEST_POSTGRES_DSN / FERRY_TEST_MYSQL_DSN for the server dialects; unset = exit 77
//   (skipped), or exit 1 when CI=true.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "fixture.hpp"

int main(int argc, char** argv) {
    if (auto code = ferry::test::select_target_from_environment()) return *code;
    doctest::Context context(argc, argv);
    return context.run();
}
