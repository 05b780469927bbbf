#!/usr/bin/env bash
# Runs a command (the docker tests) with a Docker engine answering. Installs Debian's docker.io and debootstrap
# when missing, starts dockerd when none answers, and stops only a daemon it started itself.
set -euo pipefail

need=()
{ command -v dockerd && command -v docker; } >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)   # builds the bookworm base image (no registry here)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "the docker tests need: ${need[*]} (Debian: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "installing ${need[*]} with apt"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

started=""
stop_started_engine() {
  [ -n "$started" ] || return 0
  echo "stopping the dockerd this run started (pid $started)"
  kill -TERM "$started" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$started" 2>/dev/null || return 0; sleep 1; done
  kill -KILL "$started" 2>/dev/null || true
}

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "no Docker engine answers, and starting one needs root (or start yours: sudo systemctl start docker)" >&2
    exit 1
  fi
  log="${DOCKERD_LOG:-build/dockerd.log}"
  mkdir -p "$(dirname "$log")"
  echo "no Docker engine answers: starting dockerd (log: $log)"
  # A session of its own: Ctrl-C on the command below reaches the terminal's process group, not the engine,
  # which must outlive the command's own shutdown (compose stopping its containers) and is stopped after it.
  setsid dockerd >"$log" 2>&1 &
  started=$!
  trap stop_started_engine EXIT
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  if ! docker info >/dev/null 2>&1; then
    echo "dockerd did not answer within 60 s; the end of its log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi
docker version --format 'Docker engine {{.Server.Version}}, client {{.Client.Version}}'
docker compose version
"$@"
