"""Publishes flight events (dataset replay or generator) and watches predictions."""
