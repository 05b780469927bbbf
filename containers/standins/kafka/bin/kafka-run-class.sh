#!/usr/bin/env bash
# Runs a Kafka main class on the image's jars, as the distribution's script of the same name does.
set -euo pipefail
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -Djava.awt.headless=true \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties ${KAFKA_OPTS:-} \
  -cp '/opt/kafka/libs/*' "$@"
