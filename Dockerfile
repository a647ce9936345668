# The steward images: the release binary, non-root. They cannot be built on the project's CI
# machine (no container runtime there); build them where Docker or Podman runs:
#   docker build -t registry.example.com/platform/steward:0.1.0 .
#   docker build --target executor -t registry.example.com/platform/steward-executor:0.1.0 .
# The operator's manifests (manifests/) run the first as `steward operator`; the second is the
# image of execution Jobs (`spec.executions.jobTemplate.image`) that take PNG and PDF reports:
# the same binary beside Debian's Chromium.
FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin steward

FROM docker.io/library/debian:bookworm-slim AS executor
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium ca-certificates fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/steward /usr/local/bin/steward
# Clusters rarely allow the user namespaces Chromium's own sandbox needs; the container isolates
# the browser instead.
ENV STEWARD_CHROMIUM=/usr/bin/chromium STEWARD_CHROMIUM_NO_SANDBOX=true
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/steward"]

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/steward /usr/local/bin/steward
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/steward"]
CMD ["operator"]
