#!/usr/bin/env bash
# sdk_packages (tests/sdk/CMakeLists.txt): the Debian packages cpack makes from the install rules.
#   packages-test.sh BUILD_DIR SOURCE_DIR LIBDIR CMAKE CPACK CXX GENERATOR VERSION "DIALECTS;..."
set -euo pipefail
build=$1 src=$2 libdir=$3 cmake=$4 cpack=$5 cxx=$6 generator=$7 version=$8
IFS=';' read -r -a dialects <<<"$9"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-sdk-packages.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset FERRY_PLUGIN_PATH DSN

step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps file; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps installs dpkg-dev and file)"
done

step "cpack -G DEB"
if ! (cd "$tmp" && "$cpack" -G DEB -B "$tmp/out" --config "$build/CPackConfig.cmake" >"$tmp/cpack.log" 2>&1); then
  cat "$tmp/cpack.log" >&2
  fail "cpack"
fi
arch=$(dpkg --print-architecture)
runtime=$tmp/out/ferry_${version}_$arch.deb
sdk=$tmp/out/ferry-dev_${version}_$arch.deb
ls "$tmp/out"/*.deb
[[ -f $runtime && -f $sdk ]] || fail "expected $(basename "$runtime") and $(basename "$sdk")"
[[ $(ls "$tmp/out"/*.deb | wc -l) -eq 2 ]] || fail "expected exactly two packages"

# Paths in a package, without the leading "./" and directories.
contents() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./||'; }
has() { grep -qx "$2" <<<"$1" || fail "$3 lacks /$2"; }
lacks() { if grep -q "$2" <<<"$1"; then fail "$3 contains $(grep "$2" <<<"$1" | head -3 | tr '\n' ' ')"; fi; }

step "ferry: the binaries and the plugins, nothing of the SDK"
files=$(contents "$runtime")
echo "$files"
has "$files" usr/bin/ferry ferry
has "$files" usr/bin/ferry-seed ferry
for d in "${dialects[@]}"; do has "$files" "usr/$libdir/ferry/plugins/libferry_dialect_$d.so" ferry; done
lacks "$files" '^usr/include/' ferry
lacks "$files" 'libferry_sdk\.a$' ferry
lacks "$files" 'cmake/Ferry/' ferry
lacks "$files" 'ferry-conformance' ferry
lacks "$files" 'bench\|_tests$\|ferry_conformance' ferry

step "ferry-dev: headers, libferry_sdk.a, the CMake package, the conformance kit"
files=$(contents "$sdk")
echo "$files"
for f in usr/include/ferry/plugin.hpp usr/include/ferry/dialect.hpp usr/include/ferry/connection.hpp \
         usr/include/ferry/dsn.hpp usr/include/ferry/errors.hpp usr/include/ferry/sdk/strategies.hpp \
         "usr/$libdir/libferry_sdk.a" "usr/$libdir/cmake/Ferry/FerryConfig.cmake" \
         "usr/$libdir/cmake/Ferry/FerryConfigVersion.cmake" "usr/$libdir/cmake/Ferry/FerryTargets.cmake" \
         "usr/$libdir/cmake/Ferry/FerryPlugin.cmake" usr/bin/ferry-conformance; do
  has "$files" "$f" ferry-dev
done
lacks "$files" '^usr/include/ferry/core/' ferry-dev
lacks "$files" '^usr/bin/ferry$' ferry-dev
lacks "$files" 'plugins/' ferry-dev

step "Depends"
runtime_depends=$(dpkg-deb -f "$runtime" Depends)
sdk_depends=$(dpkg-deb -f "$sdk" Depends)
echo "ferry: $runtime_depends"
echo "ferry-dev: $sdk_depends"
for lib in libc6 libstdc++6 libsqlite3-0 libboost-program-options libboost-filesystem libyaml-cpp; do
  grep -q "\b$lib" <<<"$runtime_depends" || fail "ferry does not depend on $lib"
done
grep -q "\bferry (= $version)" <<<"$sdk_depends" || fail "ferry-dev does not depend on ferry (= $version)"
grep -q "\blibc6" <<<"$sdk_depends" || fail "ferry-dev lacks the Depends of ferry-conformance"
[[ $(dpkg-deb -f "$runtime" Package) == ferry && $(dpkg-deb -f "$sdk" Package) == ferry-dev ]] ||
  fail "package names"

step "the packaged ferry plugins list, from an extracted copy"
root=$tmp/root
dpkg-deb -x "$runtime" "$root"
list=$("$root/usr/bin/ferry" plugins list)
echo "$list"
grep -qx "searched: $root/usr/$libdir/ferry/plugins" <<<"$list" || fail "ferry does not search its own plugin directory"
for d in "${dialects[@]}"; do
  grep -q "^$d  schemes=.*  file=$root/usr/$libdir/ferry/plugins/libferry_dialect_$d.so$" <<<"$list" ||
    fail "dialect $d is not loaded"
done
if grep -q '^refused' <<<"$list"; then fail "a packaged plugin was refused"; fi
"$root/usr/bin/ferry" --dsn "sqlite://$tmp/keto.db" migrate up --yes >"$tmp/up.log" 2>&1 ||
  { cat "$tmp/up.log" >&2; fail "the packaged ferry cannot migrate a SQLite database"; }

step "the packaged SDK: find_package(Ferry) and every header alone"
dpkg-deb -x "$sdk" "$root"
"$root/usr/bin/ferry-conformance" --help >/dev/null || fail "the packaged ferry-conformance does not run"
if ! "$cmake" -S "$src/tests/sdk/headers" -B "$tmp/headers" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_PREFIX_PATH="$root/usr" >"$tmp/headers.log" 2>&1 || ! "$cmake" --build "$tmp/headers" -j2 >>"$tmp/headers.log" 2>&1; then
  cat "$tmp/headers.log" >&2
  fail "the packaged SDK"
fi
grep -q "^Ferry_DIR:PATH=$root/usr/" "$tmp/headers/CMakeCache.txt" || fail "find_package(Ferry) did not use the package"

step "the example plugin built against the packaged SDK, loaded by the packaged ferry"
if ! "$cmake" -S "$src/examples/dialect-plugin" -B "$tmp/example" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_BUILD_TYPE=Release >"$tmp/example.log" 2>&1 ||
   ! "$cmake" --build "$tmp/example" -j2 >>"$tmp/example.log" 2>&1; then
  cat "$tmp/example.log" >&2
  fail "building the example against the packaged SDK"
fi
list=$("$root/usr/bin/ferry" --plugin-dir "$tmp/example" plugins list)
grep -q "^sqlite_c  schemes=sqlite-c  " <<<"$list" || { echo "$list" >&2; fail "the example is not loaded"; }
if grep -q '^refused' <<<"$list"; then echo "$list" >&2; fail "a plugin was refused"; fi

echo "sdk_packages: OK"
