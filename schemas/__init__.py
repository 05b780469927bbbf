"""Contracts of the three topics: flight event, delay prediction, dead letter (issue #4)."""
