"""`POST /predict`: the stream's validation and model for ad-hoc requests, with bounded bodies and concurrency."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pytest
from prometheus_client import CollectorRegistry

from consumer.predict_endpoint import PredictEndpoint
from consumer.scoring import BatchScorer
from consumer.transform import BatchTransform, OutputKind
from schemas import DelayPrediction
from stream_runtime.health import HealthState, start_health_server
from stream_runtime.records import PlainRecord
from tests.support.records import VALID_EVENT
from tests.support.stream_history import same_values
from training.departures_table import KEEP_FOR_S, DeparturesTable, FeatureSource
from training.lookup import ServingModel
from training.stream_features import STREAM_FEATURE_NAMES, Outcome, santiago_seconds, stream_keys
from training.stream_state import fastest_state

NOW_EVENTS = [VALID_EVENT, {**VALID_EVENT, "destination": "SCIE", "flight_number": "112"}]


def make_transform(model: ServingModel, challenger: ServingModel | None = None) -> BatchTransform:
    return BatchTransform(
        BatchScorer(model),
        challenger=BatchScorer(challenger) if challenger else None,
        group_id="g",
        max_payload_bytes=4096,
        dead_letter_max_value_bytes=4096,
    )


@pytest.fixture
def endpoint(serving_model: ServingModel) -> PredictEndpoint:
    transform = make_transform(serving_model)
    return PredictEndpoint(lambda: transform, max_events=10, concurrency=1)


def answer(endpoint: PredictEndpoint, body: Any) -> tuple[int, dict[str, Any]]:
    status, _, payload = endpoint(body if isinstance(body, bytes) else orjson.dumps(body))
    return status, orjson.loads(payload)


@pytest.mark.parametrize("shape", ["one", "list", "seed"])
def test_every_body_shape_gets_the_streams_probabilities(
    endpoint: PredictEndpoint, serving_model: ServingModel, shape: str
) -> None:
    events = NOW_EVENTS[:1] if shape == "one" else NOW_EVENTS
    body = {"one": events[0], "list": events, "seed": {"flights": events}}[shape]
    status, document = answer(endpoint, body)
    assert status == 200, document
    predictions = [DelayPrediction.model_validate(p) for p in document["predictions"]]
    stream = make_transform(serving_model)([PlainRecord(orjson.dumps(e)) for e in events], predictions[0].scored_at)
    expected = [DelayPrediction.model_validate_json(v) for _, v in stream.outputs[OutputKind.PREDICTION]]
    assert [p.delay_probability for p in predictions] == [p.delay_probability for p in expected]
    assert [p.top_contributions for p in predictions] == [p.top_contributions for p in expected]
    assert {p.source.topic for p in predictions} == {"http"} and "challenger" not in document


def test_the_seeds_own_body_is_refused_with_the_missing_fields(endpoint: PredictEndpoint) -> None:
    status, document = answer(endpoint, {"flights": [{"OPERA": "Grupo LATAM", "TIPOVUELO": "N", "MES": 3}]})
    assert status == 422
    [event] = document["events"]
    missing = {e["field"] for e in event["errors"] if e["error"] == "missing"}
    assert {"scheduled_departure", "destination"} <= missing, event
    assert event["index"] == 0 and event["error_kind"] == "invalid_event"


def test_one_invalid_event_makes_the_request_a_422_naming_it(endpoint: PredictEndpoint) -> None:
    status, document = answer(endpoint, [VALID_EVENT, {**VALID_EVENT, "flight_type": "X"}])
    assert status == 422 and [e["index"] for e in document["events"]] == [1]
    assert document["events"][0]["errors"][0]["field"] == "flight_type"


def test_a_challenger_answers_beside_the_champion(serving_model: ServingModel) -> None:
    transform = make_transform(serving_model, serving_model)
    status, document = answer(PredictEndpoint(lambda: transform, 10, 1), NOW_EVENTS)
    assert status == 200 and len(document["challenger"]) == len(document["predictions"]) == 2


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{not json", 400, "not JSON"),
        (orjson.dumps([]), 400, "no events"),
        (orjson.dumps([VALID_EVENT] * 11), 413, "at most 10 per request"),
    ],
)
def test_bad_requests_say_why(endpoint: PredictEndpoint, body: bytes, status: int, error: str) -> None:
    assert answer(endpoint, body)[0] == status
    assert error in answer(endpoint, body)[1]["error"]


def test_requests_beyond_the_concurrency_wait_their_turn_elsewhere(endpoint: PredictEndpoint) -> None:
    endpoint._slots.acquire()
    try:
        assert answer(endpoint, VALID_EVENT)[0] == 429
    finally:
        endpoint._slots.release()
    assert answer(endpoint, VALID_EVENT)[0] == 200


def test_no_model_yet_is_503() -> None:
    assert PredictEndpoint(lambda: None, 10, 1)(orjson.dumps(VALID_EVENT))[0] == 503


def failing_route(body: bytes) -> tuple[int, str, bytes]:
    raise RuntimeError("a bug in a route")


@pytest.fixture
def server(endpoint: PredictEndpoint) -> Iterator[int]:
    routes: dict[str, Callable[[bytes], tuple[int, str, bytes]]] = {"/predict": endpoint, "/broken": failing_route}
    http = start_health_server(0, HealthState(), CollectorRegistry(), routes, max_body_bytes=2048)
    yield http.server_address[1]
    http.shutdown()


def raw_request(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (a POST without a Content-Length cannot be sent through http.client)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def post(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


ERRORS = {
    "not JSON": (post("/predict", b"{not json"), 400, "the body is not JSON"),
    "invalid event": (post("/predict", orjson.dumps({**VALID_EVENT, "flight_type": "X"})), 422, "1 of 1 events"),
    "too many events": (post("/predict", orjson.dumps([VALID_EVENT] * 11)), 413, "at most 10 per request"),
    "body too large": (post("/predict", b"x" * 4096), 413, "the body has 4096 bytes; at most 2048"),
    "no Content-Length": (b"POST /predict HTTP/1.1\r\nHost: x\r\n\r\n", 411, "Content-Length header is required"),
    "GET": (b"GET /predict HTTP/1.1\r\nHost: x\r\n\r\n", 405, "/predict takes POST"),
    "unknown route": (post("/score", b"{}"), 404, "no route /score"),
    "a route's bug": (post("/broken", b"{}"), 500, "internal error"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_every_error_answer_is_json_of_one_shape(server: int, case: str) -> None:
    request, status, error = ERRORS[case]
    answer_status, headers, body = raw_request(server, request)
    document = orjson.loads(body)
    assert (answer_status, headers["content-type"]) == (status, "application/json")
    assert document["status"] == status and error in document["error"], document
    assert set(document) <= {"status", "error", "events"}
    if status == 405:
        assert headers["allow"] == "POST"


def test_the_http_port_scores_a_valid_event(server: int) -> None:
    status, headers, body = raw_request(server, post("/predict", orjson.dumps(VALID_EVENT)))
    assert (status, headers["content-type"]) == (200, "application/json")
    assert len(orjson.loads(body)["predictions"]) == 1


def _keys(event: dict[str, str]) -> tuple[str, str, str]:
    return stream_keys(event["airline_name"], event["destination"], event["airline_code"], event["flight_number"])


def _table_around(moment: int, current: bool, clock: Callable[[], float] = time.monotonic) -> DeparturesTable:
    """A scorer's departures table (the compiled twin, as it holds them; no broker asked) with the first event's
    flight, airline and destination departing every 20 minutes over the day before `moment`, 10 minutes off the hour."""
    table = DeparturesTable({}, "departures", clock, state=fastest_state())
    airline, destination, flight = _keys(VALID_EVENT)
    for minutes in range(10, 24 * 60, 20):
        table.state.add(Outcome(moment - minutes * 60, airline, destination, flight, (minutes % 7) * 300))
    table.current = current
    return table


@pytest.mark.parametrize("current", [True, False])
def test_a_stream_version_reads_the_departures_as_of_the_request(
    stream_serving_model: ServingModel, current: bool
) -> None:
    """The features a request gets are the definition's at its arrival, from the scorer's table; its prediction
    says whether the loop's last catch-up reached the departures' end; the stream scores the same event known at
    that moment alike."""
    table = _table_around(santiago_seconds(datetime.now(UTC)), current)

    def transform(source: FeatureSource) -> BatchTransform:
        return BatchTransform(
            BatchScorer(stream_serving_model),
            group_id="g",
            max_payload_bytes=4096,
            dead_letter_max_value_bytes=4096,
            departures=source,
        )

    status, document = answer(PredictEndpoint(lambda: transform(table.for_requests()), 10, 1), NOW_EVENTS)
    assert status == 200, document
    predictions = [DelayPrediction.model_validate(p) for p in document["predictions"]]
    asked = predictions[0].scored_at
    known = santiago_seconds(asked)
    for event, prediction in zip(NOW_EVENTS, predictions, strict=True):
        keys = _keys(event)
        assert prediction.stream_features is not None and prediction.stream_features_current is current
        values = prediction.stream_features
        assert same_values([np.nan if v is None else v for v in values], table.state.features_at(known, *keys))
    assert predictions[0].stream_features[STREAM_FEATURE_NAMES.index("airline_1h_count")] == 3  # type: ignore[index]
    stamp = int(asked.timestamp() * 1000)
    records = [PlainRecord(orjson.dumps(e), raw_timestamp_ms=stamp) for e in NOW_EVENTS]
    stream = transform(table)(records, asked, current)
    expected = [DelayPrediction.model_validate_json(v) for _, v in stream.outputs[OutputKind.PREDICTION]]
    assert [p.delay_probability for p in predictions] == [p.delay_probability for p in expected]
    assert [p.stream_features for p in predictions] == [p.stream_features for p in expected]


def test_a_request_does_not_make_the_table_forget_a_replayed_month(stream_serving_model: ServingModel) -> None:
    """A replay's events are known in 2017 and a request now: the request must not move the table's newest moment,
    or the loop would forget every outcome its next events need. The loop's own read at that moment would."""
    seconds = [0.0]
    replayed = santiago_seconds(datetime(2017, 12, 5, 12, tzinfo=UTC))
    table = _table_around(replayed, True, clock=lambda: seconds[0])
    transform = BatchTransform(
        BatchScorer(stream_serving_model),
        group_id="g",
        max_payload_bytes=4096,
        dead_letter_max_value_bytes=4096,
        departures=table.for_requests(),
    )
    held = len(table.state)
    status, document = answer(PredictEndpoint(lambda: transform, 10, 1), NOW_EVENTS)
    assert status == 200, document
    seconds[0] += KEEP_FOR_S + 1
    table.asked([replayed])
    assert len(table.state) == held
    table.asked([santiago_seconds(datetime.now(UTC))])  # the loop reading an event known now
    seconds[0] += KEEP_FOR_S + 1
    table.asked([replayed])
    assert len(table.state) == 0
