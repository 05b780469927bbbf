"""`python -m consumer` runs one scorer instance (same as `flightdelay-scorer`)."""

from consumer.cli import app

app()
