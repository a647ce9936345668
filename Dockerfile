# The steward image: the release binary on a distroless base, non-root. It cannot be built on
# the project's CI machine (no container runtime there); build it where Docker or Podman runs:
#   docker build -t registry.example.com/platform/steward:0.1.0 .
# The operator's manifests (manifests/) run it as `steward operator`; the CLI is the same binary.
FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin steward

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/steward /usr/local/bin/steward
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/steward"]
CMD ["operator"]
