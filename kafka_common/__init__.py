"""Kafka plumbing shared by the consumer, the producer and the tests.

Connection settings, topic administration and a real local Apache Kafka broker (KRaft, no Docker).
"""
