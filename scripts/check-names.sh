#!/usr/bin/env bash
# The naming rule of docs/development.md: every function, struct, enum and typedef a module's
# public header (include/kgc/<module>.h) declares is named kgc_<module> or kgc_<module>_…, with
# the module's directory name; a non-static function a module's .c files define is public (so
# named) or private to the module with the module's private prefix listed below, declared in a
# header inside pkg/<module>/ (never in include/). Prints each offender; exits 1 when any.
set -u
cd "$(dirname "$0")/.."
declare -A private=([api]=api_ [status]=status_ [translate]=tr_)
bad=0
for h in include/kgc/*.h; do
    m=$(basename "$h" .h)
    # declarations that start at column 0: functions, and struct/enum/typedef names
    names=$({
        grep -hoE '^(struct|enum) kgc_[a-z0-9_]+ \{' "$h" | grep -oE 'kgc_[a-z0-9_]+'
        grep -hE '^typedef ' "$h" | sed -E 's/.*\(\*?(kgc_[a-z0-9_]+)\).*/\1/;t;s/.*[ *](kgc_[a-z0-9_]+);$/\1/;t;d'
        grep -hoE '^[a-z][^(]*[ *]kgc_[a-z0-9_]+\(' "$h" | grep -oE 'kgc_[a-z0-9_]+\($' | tr -d '('
    } | sort -u)
    for n in $names; do
        case $n in
        "kgc_$m" | "kgc_${m}_"*) ;;
        *) echo "names: $h declares $n (want kgc_${m}_…)"; bad=1 ;;
        esac
    done
done
for d in pkg/*/; do
    m=$(basename "$d")
    p=${private[$m]:-}
    defs=$(grep -hoE '^[a-z][a-z0-9_ ]*[ *]+([a-z_][a-z0-9_]*)\(' "$d"*.c | grep -vE '^static ' |
        grep -oE '[a-z_][a-z0-9_]*\($' | tr -d '(' | sort -u)
    for n in $defs; do
        case $n in
        "kgc_$m" | "kgc_${m}_"*) ;;
        *) if [[ -n $p && $n == "$p"* ]]; then
               if grep -qE "\\b$n\\(" include/kgc/*.h; then
                   echo "names: $n (pkg/$m private) is declared in include/"; bad=1
               fi
           else
               echo "names: pkg/$m defines $n (want kgc_${m}_…${p:+ or the private prefix $p})"; bad=1
           fi ;;
        esac
    done
done
exit $bad
