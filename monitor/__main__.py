"""`python -m monitor` runs one monitor instance (same as `flightdelay-monitor`)."""

from monitor.cli import app

app()
