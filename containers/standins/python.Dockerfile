# Stand-in for python:3.11-slim-bookworm where no registry can be reached: Debian's own Python 3.11 on the
# debootstrapped bookworm base, with `python` on PATH and a venv module, which is all the project's
# Dockerfile asks of PYTHON_IMAGE. It trusts the certificate authorities the building host added to its own
# store (local-ca/, from /usr/local/share/ca-certificates), so pip reaches PyPI through a TLS-inspecting egress.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ENV LANG=C.UTF-8
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/python3 /usr/local/bin/python
COPY local-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
