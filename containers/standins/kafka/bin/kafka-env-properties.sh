#!/usr/bin/env bash
# Prints the server properties the environment asks for, by the official image's contract: every KAFKA_*
# variable but the JVM's own becomes a property, KAFKA_FOO_BAR -> foo.bar, "__" -> "_", "___" -> "-". With no
# KAFKA_* settings at all, a single-node broker+controller on localhost:9092, as the official image starts.
# log.dirs defaults to the image's data folder.
set -euo pipefail
jvm_vars=" KAFKA_HEAP_OPTS KAFKA_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_GC_LOG_OPTS KAFKA_LOG4J_OPTS KAFKA_JMX_OPTS "
properties=""
while IFS= read -r var; do
  case "$var" in KAFKA_*) ;; *) continue ;; esac
  case "$jvm_vars" in *" $var "*) continue ;; esac
  key=${var#KAFKA_}
  key=${key,,}
  key=${key//___/-}
  key=${key//__/@}
  key=${key//_/.}
  key=${key//@/_}
  properties+="$key=${!var}"$'\n'
done < <(compgen -e | sort)
if [ -z "$properties" ]; then
  properties="node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
controller.quorum.voters=1@localhost:9093
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
"
fi
printf '%s' "$properties"
case "$properties" in *$'\n'log.dirs=* | log.dirs=*) ;; *) echo "log.dirs=/var/lib/kafka/data" ;; esac
