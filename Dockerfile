# One image for the scorer, the producer and training; the command picks:
#   docker run IMAGE                                   -> flightdelay-scorer (MODEL_URI: a mounted path or s3://)
#   docker run IMAGE flightdelay-producer replay ...   -> replay flights
#   docker run IMAGE training fit --data ... --out ... -> train a model version
# The model is not baked in: MODEL_URI points at a volume (docker compose) or S3 (ECS), so a new model version
# is a configuration change, not a new image.
ARG PYTHON_IMAGE=python:3.11.10-slim-bookworm
ARG RUST_IMAGE=rust:1.95.0-slim-bookworm

# maturin from its binary wheel (a static executable), at the lock's version: compiling it with cargo takes about
# 9 minutes on 2 cores, most of a new machine's build of this image.
FROM ${PYTHON_IMAGE} AS maturin
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/maturin \
    && /opt/maturin/bin/pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: \
        -c /tmp/requirements.lock maturin

# The scorer's compiled lane (native/) as an abi3 wheel: only the wheel leaves this stage, no toolchain.
FROM ${RUST_IMAGE} AS native
WORKDIR /src
COPY --from=maturin /opt/maturin/bin/maturin /usr/local/bin/maturin
COPY native native
RUN maturin build --manifest-path native/Cargo.toml --release --locked --compatibility linux --out /wheels

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Binary wheels only, pinned by the lock (and the lane's, built above): no compiler in this stage or the final one.
COPY requirements.lock pyproject.toml README.md ./
COPY stream_runtime stream_runtime
COPY kafka_common kafka_common
COPY local_stack local_stack
COPY consumer consumer
COPY producer producer
COPY training training
COPY schemas schemas
COPY monitor monitor
COPY --from=native /wheels /wheels
RUN pip install --only-binary=:all: -c requirements.lock . /wheels/*.whl \
    && pip check

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="flightdelay" \
      org.opencontainers.image.description="Streaming scorer of departure delays at SCL (Kafka in, Kafka out)"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MODEL_URI=/models \
    SCORER_HTTP_PORT=8080
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid 10001 --create-home app \
    && mkdir /models \
    && chown 10001:10001 /models
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /home/app
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-m", "consumer.healthcheck", "--ready"]
STOPSIGNAL SIGTERM
CMD ["flightdelay-scorer"]
