"""`make bench`: throughput, latency and cost of the scorer against the client's limit and the alternatives."""
