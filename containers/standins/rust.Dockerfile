# Stand-in for rust:1.95.0-slim-bookworm: the host's own Rust toolchain (the release the Dockerfile pins,
# checked before the build) on the bookworm base, with the C linker rustc needs. Same layout as the official
# image: cargo installs into /usr/local/cargo/bin, which is on PATH. Like the Python stand-in, it trusts the
# building host's added certificate authorities (local-ca/), so cargo reaches crates.io through its egress.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY local-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY toolchain /usr/local/rust
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:$PATH
RUN rustc --version && cargo --version
