"""Streaming scorer: reads flight events, scores them in micro-batches, writes predictions."""
