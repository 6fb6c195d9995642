#!/usr/bin/env bash
# ABI checks of the built library: run by ctest.
#   check_exports.sh LIBRARY EXPORTS_TXT INCLUDE_DIR
set -u
lib=$1 exports=$2 include_dir=$3
failed=0
fail() { echo "FAIL: $*"; failed=1; }

exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
listed=$(grep -v '^#' "$exports" | sed '/^[[:space:]]*$/d' | sort -u)

bad=$(echo "$exported" | grep -v '^pgb_' || true)
[ -z "$bad" ] || fail "symbols outside pgb_*: $(echo $bad)"
[ "$exported" = "$listed" ] || fail "exported symbols differ from exports.txt: $(diff <(echo "$listed") <(echo "$exported") | grep '^[<>]' | tr '\n' ' ')"

# Every function declared PGB_EXTERN in a header must be exported, and the reverse.
declared=$(grep -hv '^#define' "$include_dir"/*.h | tr '\n' ' ' | grep -o 'PGB_EXTERN[^;(]*(' | sed -E 's/.*[ *](pgb_[a-z0-9_]+)\($/\1/' | sort -u)
[ "$declared" = "$listed" ] || fail "PGB_EXTERN declarations differ from exports.txt: $(diff <(echo "$listed") <(echo "$declared") | grep '^[<>]' | tr '\n' ' ')"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ "$soname" =~ ^libpgbackup\.so\.[0-9]+\.[0-9]+$ ]] || fail "SONAME is '$soname', expected libpgbackup.so.MAJOR.MINOR"

# No function-like macros or variadic functions in the public API (bindings cannot use them).
grep -nE '^#define [A-Z_0-9]+\(' "$include_dir"/*.h && fail "function-like macro in a public header"
grep -n '\.\.\.)' "$include_dir"/*.h && fail "variadic function in a public header"

for h in "$include_dir"/*.h; do
  echo "#include <pgbackup/$(basename "$h")>" | cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$include_dir/.." -x c -fsyntax-only - \
    || fail "$(basename "$h") does not compile alone as C11"
  if command -v c++ >/dev/null; then
    echo "#include <pgbackup/$(basename "$h")>" | c++ -Wall -Wextra -Werror -pedantic -I"$include_dir/.." -x c++ -fsyntax-only - \
      || fail "$(basename "$h") does not compile alone as C++"
  fi
done

count=$(echo "$exported" | wc -l)
if [ $failed -eq 0 ]; then echo "abi: $count symbols exported, all pgb_*, SONAME $soname"; fi
exit $failed
