#!/usr/bin/env bash
# docs/configuration.md must be exactly what scripts/gen-config-doc.sh makes from `kgc --help`,
# and list every option the binary has. Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
passed=0 failed=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if BUILD=$BUILD scripts/gen-config-doc.sh >"$tmp" && diff -u docs/configuration.md "$tmp" >/dev/null; then
    passed=$((passed + 1)); echo "ok   - docs/configuration.md is what kgc --help says"
else
    failed=$((failed + 1)); echo "FAIL - docs/configuration.md drifted: run scripts/gen-config-doc.sh"
    diff -u docs/configuration.md "$tmp" | head -20
fi
missing=0
for opt in $("$BUILD/kgc" --help | awk '/^  --/ {print $1}'); do
    [[ $opt == --help || $opt == --version ]] && continue
    grep -q -- "\`$opt" docs/configuration.md || { echo "  missing: $opt"; missing=$((missing + 1)); }
done
if [[ $missing -eq 0 ]]; then
    passed=$((passed + 1)); echo "ok   - every option of kgc --help is documented"
else
    failed=$((failed + 1)); echo "FAIL - $missing options undocumented"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
