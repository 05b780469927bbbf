"""What a developer's machine runs around the services: a local Kafka broker, the broker a test session talks to,
scorer and monitor processes as children. The services never import it."""
