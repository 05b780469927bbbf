"""`POST /predict`: the stream's validation and model for ad-hoc requests, with bounded bodies and concurrency."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

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
from training.lookup import ServingModel

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


@pytest.fixture
def server(endpoint: PredictEndpoint) -> Iterator[int]:
    http = start_health_server(0, HealthState(), CollectorRegistry(), {"/predict": endpoint}, max_body_bytes=2048)
    yield http.server_address[1]
    http.shutdown()


def request(port: int, method: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, "/predict", body=body, headers=headers or {})
    status = connection.getresponse().status
    connection.close()
    return status


def test_the_http_port_bounds_the_body_and_the_method(server: int) -> None:
    assert request(server, "POST", orjson.dumps(VALID_EVENT), {"Content-Type": "application/json"}) == 200
    assert request(server, "POST", b"x" * 4096) == 413, "larger than the bound: refused before reading it"
    assert request(server, "GET") == 405
