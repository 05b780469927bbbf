"""`python -m producer` is `flightdelay-producer`."""

from producer.cli import app

app()
