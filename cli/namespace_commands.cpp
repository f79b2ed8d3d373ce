#include "app.hpp"
#include <ferry/errors.hpp>
namespace ferry::cli {
int run_namespace(app&) { throw usage_error("namespace commands are being built"); }
}
