# The manager image: a static (musl) binary on distroless, running as a non-root user.
# `make run-dev` builds it as eventing-manager:dev; tests/local_dev.rs checks what it copies exists.

FROM docker.io/library/rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY benches benches
COPY module-chart module-chart
COPY module-template.yaml module-template.yaml
RUN cargo build --release --locked --target x86_64-unknown-linux-musl --bin eventing-manager \
    && cp target/x86_64-unknown-linux-musl/release/eventing-manager /eventing-manager

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /eventing-manager /eventing-manager
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/eventing-manager"]
CMD ["run", "--leader-elect"]
