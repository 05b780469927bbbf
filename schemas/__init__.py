"""Contracts of the topics: flight event in, delay prediction and dead letter out, outcome, model control."""

from schemas.flight_event import FlightEvent
from schemas.outputs import DeadLetter, DelayPrediction, FeatureContribution, FieldError, Header, SourcePosition

__all__ = [
    "DeadLetter",
    "DelayPrediction",
    "FeatureContribution",
    "FieldError",
    "FlightEvent",
    "Header",
    "SourcePosition",
]
