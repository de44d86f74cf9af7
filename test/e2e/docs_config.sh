#!/usr/bin/env bash
# docs/configuration.md must be exactly what scripts/gen-config-doc.sh makes from `kgc --help` and
# charts/kgc/values.yaml, list every option the binary has, and document every key of
# values.yaml (the key or a parent whose default holds it), the keys read by helm itself rather
# than by the generator's own reader. Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
HELM=${HELM:-$PWD/.tools/bin/helm}
tmp=$TMP/configuration.md
vt=$TMP/values
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
# Every key of charts/kgc/values.yaml, as helm parses it (a throw-away chart printing .Values as
# JSON), must be a row of the "Helm values" table, or sit under a row whose default holds it.
mkdir -p "$vt/c/templates"
printf 'apiVersion: v2\nname: c\nversion: 0.0.1\n' >"$vt/c/Chart.yaml"
cp charts/kgc/values.yaml "$vt/c/values.yaml"
printf '{{ toJson .Values }}\n' >"$vt/c/templates/v.yaml"
if [[ -x $HELM ]] && timeout 20 "$HELM" template x "$vt/c" 2>"$vt/err" | grep '^{' >"$vt/values.json"; then
    if python3 - "$vt/values.json" docs/configuration.md <<'PY'
import json, re, sys
values = json.load(open(sys.argv[1]))
doc = open(sys.argv[2], encoding="utf-8").read()
section = doc.split("\n## Helm values\n", 1)
rows = set(re.findall(r"^\| `([^`]+)` \|", section[1], re.M)) if len(section) == 2 else set()
missing, n = [], 0
def walk(v, path):
    global n
    if isinstance(v, dict) and v:
        for k, c in v.items():
            walk(c, path + [k])
        return
    n += 1
    if not any(".".join(path[:i]) in rows for i in range(1, len(path) + 1)):
        missing.append(".".join(path))
walk(values, [])
for m in missing:
    print(f"  missing: {m}")
print(f"  {n} values.yaml keys, {len(rows)} rows in the Helm values table")
sys.exit(1 if missing or n == 0 else 0)
PY
    then
        passed=$((passed + 1)); echo "ok   - every charts/kgc/values.yaml key is documented"
    else
        failed=$((failed + 1)); echo "FAIL - charts/kgc/values.yaml keys undocumented in docs/configuration.md"
    fi
else
    failed=$((failed + 1)); echo "FAIL - helm ($HELM) reads charts/kgc/values.yaml"; cat "$vt/err"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
