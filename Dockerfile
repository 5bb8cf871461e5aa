# syntax=docker/dockerfile:1
# canary-judge: statically linked Rust binary on distroless/static (no libc in the image, and
# the Argo Rollouts controller image that runs the plugin has none either).
#
#   docker build -t canary-judge:dev .                                   # service image
#   docker build --target plugin-installer -t canary-judge:dev-plugin .  # init container for Argo

ARG RUST_VERSION=1.91

FROM rust:${RUST_VERSION}-bookworm AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# protoc for tonic/prost code generation in build.rs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler=3.21.* \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV CARGO_TERM_COLOR=never
# The context is trimmed by .dockerignore; the cache mounts keep the registry and target dir
# between builds.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    bin="$(scripts/build-static x86_64-unknown-linux-gnu dist)" \
 && install -D -m 0755 "$bin" /out/canary-judge

# Init-container image for the Argo Rollouts controller: copies /plugin/canary-judge into
# the controller's plugin-bin volume (busybox:musl is statically linked, so `cp` works as uid 999).
FROM busybox:1.37-musl AS plugin-installer
COPY --from=builder /out/canary-judge /plugin/canary-judge
USER 999:999
ENTRYPOINT ["cp"]
CMD ["/plugin/canary-judge", "/home/argo-rollouts/plugin-bin/canary-judge-src"]

# Service image (default target): the binary at the service path and at the fixed plugin path.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=builder /out/canary-judge /usr/local/bin/canary-judge
COPY --from=builder /out/canary-judge /plugin/canary-judge
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/canary-judge"]
CMD ["serve", "--config", "/etc/canary-judge/config/config.yaml", "--http-addr", "0.0.0.0:8080", "--grpc-addr", "0.0.0.0:9090"]
