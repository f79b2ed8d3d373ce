#!/usr/bin/env bash
# sdk_example (tests/sdk/CMakeLists.txt): the SDK from a third party's side.
#   example-test.sh BUILD_DIR SOURCE_DIR LIBDIR CMAKE CTEST CXX GENERATOR
set -euo pipefail
build=$1 src=$2 libdir=$3 cmake=$4 ctest=$5 cxx=$6 generator=$7

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-sdk-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
# Nothing from the developer's shell may choose plugins or databases.
unset FERRY_PLUGIN_PATH DSN FERRY_CONFORMANCE_DIALECT FERRY_CONFORMANCE_DSN FERRY_CONFORMANCE_PLUGIN_DIR \
  FERRY_CONFORMANCE_FERRY FERRY_CONFORMANCE_SEED

step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
# Configure and build an out-of-tree project against the prefix; its log only on failure.
build_project() {  # SOURCE BINARY [cmake args...]
  local s=$1 b=$2
  shift 2
  if ! "$cmake" -S "$s" -B "$b" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release "$@" >"$b.log" 2>&1 ||
     ! "$cmake" --build "$b" -j2 >>"$b.log" 2>&1; then
    cat "$b.log" >&2
    fail "building $s"
  fi
}

step "cmake --install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log"
for f in bin/ferry bin/ferry-seed bin/ferry-conformance \
         "$libdir/libferry_sdk.a" "$libdir/ferry/plugins/libferry_dialect_sqlite.so" \
         "$libdir/cmake/Ferry/FerryConfig.cmake" "$libdir/cmake/Ferry/FerryConfigVersion.cmake" \
         "$libdir/cmake/Ferry/FerryTargets.cmake" "$libdir/cmake/Ferry/FerryPlugin.cmake" \
         include/ferry/plugin.hpp include/ferry/dialect.hpp include/ferry/connection.hpp \
         include/ferry/dsn.hpp include/ferry/errors.hpp include/ferry/sdk/strategies.hpp; do
  [[ -e $prefix/$f ]] || fail "$f is not installed"
done
[[ ! -e $prefix/include/ferry/core ]] || fail "include/ferry/core (the engine's own API) is installed"

step "every installed header compiles alone against Ferry::sdk"
build_project "$src/tests/sdk/headers" "$tmp/headers"

step "examples/dialect-plugin, out of tree against the prefix"
example=$tmp/example
build_project "$src/examples/dialect-plugin" "$example"
grep -q "^Ferry_DIR:PATH=$prefix/" "$example/CMakeCache.txt" || fail "find_package(Ferry) did not use $prefix"
plugin=$example/libferry_dialect_sqlite_c.so
[[ -f $plugin ]] || fail "$plugin was not built"
# Hidden visibility: the plugin exports its entry point and the error types' RTTI (they are
# caught across the boundary), nothing of its own code, the SDK's or SQLite's.
exported=$(nm -DC --defined-only "$plugin" | cut -d' ' -f3-)
grep -qx 'ferry_plugin_entry' <<<"$exported" || fail "ferry_plugin_entry is not exported"
unexpected=$(grep -v -e '^ferry_plugin_entry$' -e '^typeinfo for ferry::' -e '^typeinfo name for ferry::' \
  -e '^vtable for ferry::' -e '^std::' <<<"$exported" || true)
[[ -z $unexpected ]] || fail "the plugin exports more than it should: $unexpected"

step "the installed ferry loads it"
abi=$("$prefix/bin/ferry" version | sed -n 's/.*plugin ABI \([0-9]*\).*/\1/p')
[[ -n $abi ]] || fail "cannot read the plugin ABI from ferry version"
list=$("$prefix/bin/ferry" --plugin-dir "$example" plugins list)
echo "$list"
grep -qx "sqlite_c  schemes=sqlite-c  version=0.1.0  abi=$abi  file=$plugin" <<<"$list" || fail "the example is not loaded"
if grep -q '^refused' <<<"$list"; then fail "a plugin was refused"; fi

step "a migration through the example plugin"
mkdir "$tmp/db"
"$prefix/bin/ferry" --plugin-dir "$example" --dsn "sqlite-c://$tmp/db/keto.db" migrate up --yes >"$tmp/up.log" 2>&1 ||
  { cat "$tmp/up.log" >&2; fail "ferry migrate up on sqlite-c"; }
"$prefix/bin/ferry" --plugin-dir "$example" --dsn "sqlite-c://$tmp/db/keto.db" migrate status >"$tmp/status.log" 2>&1 ||
  { cat "$tmp/status.log" >&2; fail "ferry migrate status on sqlite-c"; }

step "the installed conformance kit against it"
out=$tmp/conformance.out
if ! "$prefix/bin/ferry-conformance" --plugin-dir "$example" --dsn "sqlite-c://{dir}/conformance.db" >"$out" 2>&1; then
  cat "$out" >&2
  fail "ferry-conformance failed on the example plugin"
fi
grep -q '^conformance plugin: sqlite_c 0.1.0' "$out" || { cat "$out" >&2; fail "the kit did not test the example plugin"; }
passed=$(grep -c '^PASS  ' "$out" || true)
failed=$(grep -c '^FAIL  ' "$out" || true)
tail -3 "$out"
echo "$passed cases passed, $failed failed"
[[ $passed -gt 20 && $failed -eq 0 ]] || { cat "$out" >&2; fail "expected every conformance case to pass"; }
# The same through the project's ctest (ferry_add_conformance_test).
"$ctest" --test-dir "$example" --output-on-failure >"$tmp/ctest.log" 2>&1 || { cat "$tmp/ctest.log" >&2; fail "ctest in the example"; }

other=$((abi > 1 ? abi - 1 : abi + 1))
step "built for plugin ABI $other: refused by name and reason"
build_project "$src/examples/dialect-plugin" "$tmp/example-abi" -DFERRY_EXAMPLE_ABI_VERSION=$other
list=$("$prefix/bin/ferry" --plugin-dir "$tmp/example-abi" plugins list)
echo "$list" | grep '^refused' || true
expected="refused $tmp/example-abi/libferry_dialect_sqlite_c.so: built for plugin ABI $other, this ferry loads ABI $abi; rebuild the plugin against this ferry's SDK"
grep -qxF "$expected" <<<"$list" || { echo "$list" >&2; fail "expected: $expected"; }
if grep -q '^sqlite_c ' <<<"$list"; then fail "the ABI $other plugin was loaded"; fi
# Using it names the refusal too, and the kit stops before any case.
if "$prefix/bin/ferry" --plugin-dir "$tmp/example-abi" --dsn "sqlite-c://$tmp/db/keto.db" migrate status >"$tmp/refused.log" 2>&1; then
  fail "ferry used a refused plugin"
fi
grep -q "refused" "$tmp/refused.log" || { cat "$tmp/refused.log" >&2; fail "the error does not mention the refused plugin"; }
# (The kit's environment variables instead of its flags.)
if FERRY_CONFORMANCE_PLUGIN_DIR=$tmp/example-abi FERRY_CONFORMANCE_DSN="sqlite-c://{dir}/c.db" \
    "$prefix/bin/ferry-conformance" >"$tmp/kit-refused.log" 2>&1; then
  fail "ferry-conformance passed with a refused plugin"
fi
grep -qF "built for plugin ABI $other" "$tmp/kit-refused.log" || { cat "$tmp/kit-refused.log" >&2; fail "the kit does not say why"; }

step "built with another string ABI: the SDK stops the build (ferry would refuse the plugin)"
b=$tmp/example-toolchain
if "$cmake" -S "$src/examples/dialect-plugin" -B "$b" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
     -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS=-D_GLIBCXX_USE_CXX11_ABI=0 >"$b.log" 2>&1 &&
   "$cmake" --build "$b" -j2 >>"$b.log" 2>&1; then
  fail "a plugin with another toolchain stamp was built"
fi
grep -q "ferry would refuse to load it" "$b.log" || { cat "$b.log" >&2; fail "the build failed for another reason"; }

echo "sdk_example: OK"
