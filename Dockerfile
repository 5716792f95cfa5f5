# syntax=docker/dockerfile:1
# A small image of Trident: the binary, built in a Rust stage, on Debian slim with python3
# for python tools.      Build:  docker build -t trident:0.12.0 .
# A workflow image adds a project at /project (see "Running in Kubernetes" in the README):
#   FROM trident:0.12.0
#   COPY --chown=10001:10001 . /project

# --- build stage -----------------------------------------------------------------------
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the crates and the target folder between builds (BuildKit); the binary
# is copied out of the cached target folder, which is not part of the image.
ENV CARGO_PROFILE_RELEASE_STRIP=true
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin trident \
 && cp target/release/trident /usr/local/bin/trident

# --- runtime stage ---------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 trident \
 && useradd --uid 10001 --gid 10001 --home-dir /project --no-create-home trident \
 && mkdir -p /project \
 && chown trident:trident /project
COPY --from=build /usr/local/bin/trident /usr/local/bin/trident
USER 10001:10001
WORKDIR /project
ENTRYPOINT ["trident"]
CMD ["project", "run", "/project"]
