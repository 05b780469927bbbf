"""The flight-event contract: aliases, time zones, derived ids, month rules; committed schemas are current."""

from __future__ import annotations

import csv
from datetime import datetime
from itertools import islice

import pytest
from pydantic import ValidationError

from kafka_common import asyncapi
from kafka_common.settings import TopicSettings
from kafka_common.topics import topic_specs
from schemas import FlightEvent
from schemas.generate import SCHEMA_DIR, rendered
from schemas.outputs import STREAM_FEATURE_NAMES, DelayPrediction
from tests.support.dataset import DATASET
from tests.support.packages import ROOT, imported_project_packages
from training import stream_features

CANONICAL = {
    "scheduled_departure": "2017-03-10T20:15:00",
    "airline_name": "Sky Airline",
    "airline_code": "SKU",
    "flight_number": "800",
    "flight_type": "N",
    "destination": "SCCI",
    "destination_city": "Punta Arenas",
}


def test_committed_schema_files_are_current() -> None:
    for name, text in rendered().items():
        path = SCHEMA_DIR / name
        assert path.exists(), f"{path} missing: run `python -m schemas.generate`"
        assert path.read_text() == text, f"{path} is stale: run `python -m schemas.generate`"


def test_the_committed_asyncapi_document_is_current_whatever_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOPIC_INPUT", "somebody.elses.topic")
    monkeypatch.setenv("TOPIC_PARTITIONS", "48")
    assert asyncapi.ASYNCAPI_FILE.read_text() == asyncapi.rendered(), "stale: run `python -m kafka_common.asyncapi`"


def test_the_asyncapi_document_describes_every_topic_as_it_is_created() -> None:
    """A topic added to the settings, or a shape changed in `topic_specs`, reaches the document; each channel has an
    operation, and each message a payload the schema generator writes and a channel that carries it."""
    document = asyncapi.asyncapi()
    channels, messages = document["channels"], document["components"]["messages"]
    specs = {spec.name: spec for spec in topic_specs(TopicSettings.model_construct())}
    assert sorted(channel["address"] for channel in channels.values()) == sorted(specs)
    for channel in channels.values():
        kafka, spec = channel["bindings"]["kafka"], specs[channel["address"]]
        assert (kafka["partitions"], kafka["replicas"]) == (spec.partitions, spec.replication_factor)
        configuration = {
            **kafka["topicConfiguration"],
            "cleanup.policy": ",".join(kafka["topicConfiguration"]["cleanup.policy"]),
        }
        assert {name: str(value) for name, value in configuration.items()} == spec.config
    operated = {
        operation["channel"]["$ref"].removeprefix("#/channels/") for operation in document["operations"].values()
    }
    assert operated == set(channels)
    carried = {
        ref["$ref"].removeprefix("#/components/messages/") for c in channels.values() for ref in c["messages"].values()
    }
    assert carried == set(messages)
    assert {m["payload"]["$ref"].removeprefix("./") for m in messages.values()} <= set(rendered())


def test_the_contracts_import_nothing_of_the_project() -> None:
    """`schemas` is the bottom of the package graph: every other package may use it, it uses none of them."""
    assert imported_project_packages(ROOT / "schemas") <= {"schemas"}


def test_a_prediction_names_its_stream_features_as_the_definition_does() -> None:
    assert STREAM_FEATURE_NAMES == stream_features.STREAM_FEATURE_NAMES
    schema = DelayPrediction.model_json_schema()["properties"]["stream_features"]
    assert [item["title"] for item in schema["prefixItems"]] == list(STREAM_FEATURE_NAMES)


def test_a_prediction_carries_every_stream_feature_or_none() -> None:
    base = {"flight_id": "X", "delay_probability": 0.5, "delayed": True, "threshold": 0.5, "model_version": "v",
            "top_contributions": [], "unseen_categories": [], "scheduled_departure": "2017-01-01T10:00:00-03:00",
            "event_time": "2017-01-01T09:00:00Z", "scored_at": "2017-01-01T09:00:01Z",
            "source": {"topic": "t", "partition": 0, "offset": 0}}  # fmt: skip
    width = len(STREAM_FEATURE_NAMES)
    assert DelayPrediction.model_validate({**base, "stream_features": [None] * width}).stream_features == [None] * width
    for wrong in ([0.0] * (width - 1), [0.0] * (width + 1)):
        with pytest.raises(ValidationError, match="stream_features"):
            DelayPrediction.model_validate({**base, "stream_features": wrong})


def test_dataset_rows_are_valid_events() -> None:
    with DATASET.open(encoding="utf-8", newline="") as handle:
        for row in islice(csv.DictReader(handle), 2000):
            event = FlightEvent.model_validate(row)
            record = event.model_record()
            assert record["Fecha-I"] == row["Fecha-I"]
            assert (record["OPERA"], record["Des-I"], record["Vlo-I"]) == (row["OPERA"], row["Des-I"], row["Vlo-I"])


def test_operated_fields_never_reach_the_event() -> None:
    event = FlightEvent.model_validate(
        {
            **CANONICAL,
            "Fecha-O": "2017-03-10 22:00:00",
            "Vlo-O": "801",
            "Des-O": "SCFA",
            "Emp-O": "LAN",
            "DIANOM": "Viernes",
        }
    )
    dumped = event.model_dump()
    assert not {"Fecha-O", "Vlo-O", "Des-O", "Emp-O", "DIANOM"} & set(dumped)
    assert "22:00" not in str(dumped)


def test_naive_time_is_santiago_and_offsets_are_converted() -> None:
    naive = FlightEvent.model_validate(CANONICAL)
    assert naive.local_departure == datetime(2017, 3, 10, 20, 15)
    assert naive.scheduled_departure.utcoffset() is not None
    utc = FlightEvent.model_validate({**CANONICAL, "scheduled_departure": "2017-06-01T12:00:00Z"})
    assert utc.local_departure == datetime(2017, 6, 1, 8, 0)  # Santiago winter time is UTC-4
    summer = FlightEvent.model_validate({**CANONICAL, "scheduled_departure": "2017-01-15T12:00:00+00:00"})
    assert summer.local_departure == datetime(2017, 1, 15, 9, 0)  # UTC-3 in summer


def test_flight_id_from_body_key_or_flight() -> None:
    assert FlightEvent.model_validate({**CANONICAL, "flight_id": "X1"}).resolved_id(b"K") == "X1"
    assert FlightEvent.model_validate(CANONICAL).resolved_id(b"K") == "K"
    assert FlightEvent.model_validate(CANONICAL).resolved_id() == "SKU-800-20170310T2015"


def test_numeric_flight_number_is_text() -> None:
    assert FlightEvent.model_validate({**CANONICAL, "flight_number": 800}).flight_number == "800"


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"flight_type": "X"}, "flight_type", "literal_error"),
        ({"scheduled_departure": "31/12/2017"}, "scheduled_departure", "datetime_from_date_parsing"),
        ({"month": 13}, "month", "less_than_equal"),
        ({"month": 0}, "month", "greater_than_equal"),
        ({"month": 5}, "", "month_mismatch"),
        ({"destination": ""}, "destination", "string_pattern_mismatch"),
        ({"origin": "SCFA"}, "origin", "literal_error"),
        ({"airline_code": None}, "airline_code", "string_type"),
        ({"scheduled_departure": 1489190100}, "scheduled_departure", "datetime_type"),
        ({"scheduled_departure": "0709-07-05T11:19:59"}, "scheduled_departure", "departure_out_of_range"),
    ],
)
def test_invalid_fields_are_named(change: dict[str, object], field: str, error: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FlightEvent.model_validate({**CANONICAL, **change})
    errors = caught.value.errors()
    assert (".".join(map(str, errors[0]["loc"])), errors[0]["type"]) == (field, error)


def test_missing_field_and_unknown_airline() -> None:
    body = {k: v for k, v in CANONICAL.items() if k != "destination"}
    with pytest.raises(ValidationError, match="destination"):
        FlightEvent.model_validate(body)
    with pytest.raises(ValidationError) as caught:
        FlightEvent.model_validate(CANONICAL, context={"known_airlines": {"Grupo LATAM"}})
    assert caught.value.errors()[0]["type"] == "unknown_airline"


def test_month_follows_the_operation_date_when_sent() -> None:
    """The dataset's MES is the operation month: a flight at 23:55 on Jan 31 that left after midnight is MES 2."""
    late = {**CANONICAL, "scheduled_departure": "2017-01-31 23:55:00"}
    assert FlightEvent.model_validate({**late, "MES": "2", "Fecha-O": "2017-02-01 00:11:00"}).month == 2
    assert FlightEvent.model_validate({**late, "MES": 2}).month == 2  # without Fecha-O: next day's month is fine
    with pytest.raises(ValidationError, match="does not match"):
        FlightEvent.model_validate({**late, "MES": "1", "Fecha-O": "2017-02-01 00:11:00"})
