"""An exactly-once batch runtime for Kafka stream processors.

The runtime owns the clients, the loop, commits, recovery after Kafka errors, rebalances, health, its own
metrics, signals and exit codes; a processor (`stream_runtime.processor.Processor`) turns a batch of records into
outputs and offsets. It imports no application package: the scorer, the monitor and the benchmark's passthrough
are processors on it.
"""
