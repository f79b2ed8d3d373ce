// ferry_conformance: the engine's conformance cases, run once per dialect.
//   FERRY_CONFORMANCE_DIALECT=sqlite|postgres|mysql (default sqlite)
//   FERRY_TEST_POSTGRES_DSN / FERRY_TEST_MYSQL_DSN for the server dialects; unset = exit 77
//   (skipped), or exit 1 when CI=true.
// Installed as ferry-conformance (the SDK's conformance kit), it also takes --plugin-dir,
// --ferry, --ferry-seed and --dsn TEMPLATE to test any plugin (see configure_kit in fixture.hpp).
// Every case prints one PASS/FAIL line.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>
#include <iostream>

#include "fixture.hpp"

namespace {

// One line per test case, so a plugin author sees at once which cases pass.
struct case_lines final : doctest::IReporter {
    explicit case_lines(const doctest::ContextOptions& in) : out_(*in.cout) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData& tc) override { current_ = &tc; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats& st) override {
        out_ << (st.testCaseSuccess ? "PASS  " : "FAIL  ") << current_->m_name << '\n';
    }
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData& tc) override {
        if (tc.m_skip) out_ << "SKIP  " << tc.m_name << '\n';
    }

private:
    std::ostream& out_;
    const doctest::TestCaseData* current_ = nullptr;
};

REGISTER_LISTENER("ferry_case_lines", 1, case_lines);

bool asks_for_help(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-?"))
            return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (asks_for_help(argc, argv))
        std::cout << "usage: ferry-conformance [--plugin-dir DIR] [--dsn TEMPLATE] [--ferry PATH] "
                     "[--ferry-seed PATH] [doctest options]\n"
                     "  --plugin-dir DIR   the plugins to test (FERRY_CONFORMANCE_PLUGIN_DIR)\n"
                     "  --dsn TEMPLATE     the database; {dir} = a fresh directory per test case, else "
                     "every table is dropped before each case (FERRY_CONFORMANCE_DSN)\n"
                     "  --ferry PATH, --ferry-seed PATH   the binaries under test (default: next to this one)\n"
                     "Without --dsn: FERRY_CONFORMANCE_DIALECT=sqlite|postgres|mysql selects a shipped "
                     "dialect.\n\n";
    if (auto code = ferry::test::configure_kit(argc, argv)) return *code;
    if (!asks_for_help(argc, argv))
        if (auto code = ferry::test::select_target_from_environment()) return *code;
    doctest::Context context(argc, argv);
    return context.run();
}
