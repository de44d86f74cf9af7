# kgc container image. No registry carries it: build it and push it to yours, e.g.
#   docker build -t REGISTRY/kgc:$(cat VERSION) . && docker push REGISTRY/kgc:$(cat VERSION)
# then install the chart with --set image.repository=REGISTRY/kgc (docs/operations.md).
# test/chart/image_libs.sh checks that the runtime stage installs every library `ldd build/kgc`
# lists (the packages' own dependencies come with them; libc6 & co. are in the base image).

# --- build stage: Debian 12 with the -dev packages, then `make` of the kgc binary only ---------
FROM debian:bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config libcurl4-openssl-dev libjson-c-dev liblmdb-dev \
        libmicrohttpd-dev libyaml-dev libssl-dev libpcre2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" build/kgc && strip build/kgc && build/kgc --version

# --- runtime stage: the shared libraries kgc links, the binary, a non-root user ----------------
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libcurl4 libjson-c5 liblmdb0 libmicrohttpd12 libyaml-0-2 libpcre2-8-0 libssl3 \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -m 0700 -o 65532 -g 65532 /var/lib/kgc/listeners
COPY --from=build /src/build/kgc /usr/local/bin/kgc
# The listener cache (--listener-cache-dir); the Helm chart mounts an emptyDir or a PVC here.
VOLUME ["/var/lib/kgc/listeners"]
# /healthz /readyz /metrics (--http-listen); the debug endpoints (--debug-listen) default to
# 127.0.0.1:10256 inside the container.
EXPOSE 10254
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kgc"]
