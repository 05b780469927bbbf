#!/usr/bin/env bash
# The official image's health probe: lists the broker's API versions, fails when no broker answers.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
