#!/usr/bin/env bash
# The stand-in's entry point: server properties from the environment (kafka-env-properties.sh), storage
# formatted once for CLUSTER_ID (the official image's default id when unset), then the broker in the foreground.
set -euo pipefail
bin=$(dirname "$0")
config=/opt/kafka/config/server.properties
"$bin/kafka-env-properties.sh" > "$config"
"$bin/kafka-run-class.sh" kafka.tools.StorageTool format --ignore-formatted \
  -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$config"
exec "$bin/kafka-run-class.sh" kafka.Kafka "$config"
