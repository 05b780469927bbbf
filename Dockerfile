# syntax=docker/dockerfile:1
# One image for the consumer, the producer and training; the command picks. (Issue #7 hardens and tests it.)
FROM python:3.11.10-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.lock pyproject.toml README.md ./
COPY kafka_common kafka_common
COPY consumer consumer
COPY producer producer
COPY training training
COPY schemas schemas
RUN pip install --no-cache-dir -c requirements.lock .

FROM python:3.11.10-slim-bookworm
RUN useradd --create-home --uid 10001 app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
USER app
WORKDIR /home/app
EXPOSE 8080
CMD ["flightdelay-scorer"]
