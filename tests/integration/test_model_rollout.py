"""Model rollout on the real broker: champion swaps under load, refusals, a challenger in shadow, the commands.

Every check compares what came out with what went in, key by key: each flight predicted exactly once on the
prediction topic (and once on the shadow topic while a challenger is set), by a version it may carry.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer

from kafka_common.model_control import ControlReader, latest_by_role, write_control
from kafka_common.settings import TopicSettings
from local_stack.processes import ScorerProcess
from producer.reading import committed_reader, read_messages
from producer.replay import dataset_events, publish
from schemas import DelayPrediction
from schemas.model_control import ModelControl, ModelRef, ModelRole
from tests.support.dataset import DATASET
from tests.support.polling import wait_until
from tests.support.streaming import scorer_env, scorers
from tests.support.training_cli import training
from tests.support.versions import pinned, version_of

pytestmark = pytest.mark.integration

# Documented in the README: a scorer applies a control record before its next batch, so every prediction scored
# this long after the record was written carries the new version (a batch, a transaction and the load included).
SWAP_BOUND = timedelta(seconds=5)


def control(role: ModelRole, model: ModelRef | None, replaces: ModelRef | None = None) -> ModelControl:
    return ModelControl(
        role=role, model=model, replaces=replaces, requested_at=datetime.now(UTC), requested_by="test", reason="test"
    )


def send_at_rate(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]], rate: float) -> None:
    report = publish(Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True}), topic, events, rate)
    assert report.failed == 0, report.first_error


def predictions_on(bootstrap: str, topic: str, expected: int) -> list[DelayPrediction]:
    """Every committed prediction on `topic`, read until `expected` arrived, then 3 s more for duplicates."""
    reader = committed_reader({"bootstrap.servers": bootstrap}, [topic])
    found: list[DelayPrediction] = []
    try:
        for message in read_messages(reader, lambda: len(found) >= expected, 20, 120):
            found.append(DelayPrediction.model_validate_json(message.value() or b""))
        for message in read_messages(reader, lambda: False, 3, 3):
            found.append(DelayPrediction.model_validate_json(message.value() or b""))
    finally:
        reader.close()
    return found


def keys(events: list[tuple[bytes, bytes]]) -> Counter[str]:
    return Counter(key.decode() for key, _ in events)


def test_a_champion_swap_under_load_reaches_every_scorer_and_loses_nothing(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    v1, _v2 = version_of(model_dir, models, "v1"), version_of(model_dir, models, "v2")
    events = list(dataset_events(DATASET, limit=42_000))  # 14 s at 3,000/s: the swap lands at about a third
    with scorers(bootstrap, v1, stream_topics, tmp_path, count=3) as processes:
        sender = threading.Thread(target=send_at_rate, args=(bootstrap, stream_topics.input, events, 3_000))
        sender.start()
        time.sleep(3)
        code, output = training(bootstrap, stream_topics, "promote", "v2", "--models", str(models), "--reason", "t")
        swapped_at = datetime.now(UTC)
        assert code == 0, output
        assert sender.is_alive(), "the swap must land while events still arrive"
        sender.join()
        predictions = predictions_on(bootstrap, stream_topics.predictions, len(events))
        for process in processes:
            assert process.metric('flightdelay_model_swaps_total{result="swapped",role="champion"}') == 1
            assert process.metric('flightdelay_model_info{version="v2"}') == 1
            assert process.metric('flightdelay_model_info{version="v1"}') == 0
    assert Counter(p.flight_id for p in predictions) == keys(events), "each flight exactly once"
    assert Counter(p.model_version for p in predictions).keys() == {"v1", "v2"}
    late = [p for p in predictions if p.scored_at > swapped_at + SWAP_BOUND]
    assert late, "the stream went on after the bound"
    assert {p.model_version for p in late} == {"v2"}
    last_v1 = max(p.scored_at for p in predictions if p.model_version == "v1")
    print(f"last prediction of v1 {(last_v1 - swapped_at).total_seconds():.2f} s after the record was written")


def test_a_tampered_champion_is_refused_and_scoring_goes_on(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    v1, v2 = version_of(model_dir, models, "v1"), version_of(model_dir, models, "v2")
    tables = v2 / "lookup.json"
    tables.write_text(tables.read_text().replace('"intercept":', '"intercept":1+', 1))
    config = {"bootstrap.servers": bootstrap}
    with scorers(bootstrap, v1, stream_topics, tmp_path) as [process]:
        write_control(config, stream_topics.model_control, control(ModelRole.CHAMPION, pinned(v2)))
        events = list(dataset_events(DATASET, limit=2_000))
        send_at_rate(bootstrap, stream_topics.input, events, 0)
        predictions = predictions_on(bootstrap, stream_topics.predictions, len(events))
        assert process.metric('flightdelay_model_swaps_total{result="refused",role="champion"}') == 1
        assert process.metric('flightdelay_model_info{version="v1"}') == 1
        assert process.get("/readyz")[0] == 200, "a refused record does not make the scorer unready"
        log = process.log_tail(200)
    assert Counter(p.flight_id for p in predictions) == keys(events)
    assert {p.model_version for p in predictions} == {"v1"}
    assert "refusing v2 as champion, keeping v1" in log and "lookup.json has sha256" in log


def test_the_challenger_shadow_is_exactly_once_across_a_sigkill(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """Started on the control topic's lineup (not MODEL_URI's): champion v1, challenger v2 in shadow."""
    models = tmp_path / "models"
    v1, v2 = version_of(model_dir, models, "v1"), version_of(model_dir, models, "v2")
    config = {"bootstrap.servers": bootstrap}
    write_control(config, stream_topics.model_control, control(ModelRole.CHAMPION, pinned(v1)))
    write_control(config, stream_topics.model_control, control(ModelRole.CHALLENGER, pinned(v2)))
    env = scorer_env(stream_topics, SCORER_BATCH_SIZE="200")
    started = [ScorerProcess(bootstrap, v2, tmp_path / f"s{i}.log", f"s{i}", env).start() for i in range(2)]
    replacement: ScorerProcess | None = None
    events = list(dataset_events(DATASET, start=30_000, limit=16_000))
    try:
        for process in started:
            process.wait_ready()
        sender = threading.Thread(target=send_at_rate, args=(bootstrap, stream_topics.input, events, 2_500))
        sender.start()
        time.sleep(2.5)
        scored_before_kill = started[0].metric('flightdelay_model_scored_total{role="challenger",version="v2"}')
        started[0].kill()
        assert sender.is_alive(), "the kill must land while events still arrive"
        assert scored_before_kill > 0, "the killed scorer had scored in shadow"
        replacement = ScorerProcess(bootstrap, v2, tmp_path / "s2.log", "s2", env).start()
        replacement.wait_ready()
        sender.join()
        main = predictions_on(bootstrap, stream_topics.predictions, len(events))
        shadow = predictions_on(bootstrap, stream_topics.shadow_predictions, len(events))
    finally:
        for process in [*started, *([replacement] if replacement else [])]:
            process.kill()
    assert Counter(p.flight_id for p in main) == keys(events), "champion: each flight exactly once"
    assert Counter(p.flight_id for p in shadow) == keys(events), "challenger: each flight exactly once"
    assert {p.model_version for p in main} == {"v1"} and {p.model_version for p in shadow} == {"v2"}
    champion = {p.flight_id: p.delay_probability for p in main}
    assert all(champion[p.flight_id] == p.delay_probability for p in shadow), "same coefficients, same scores"


def test_promote_rollback_and_models_commands(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    code, output = training(bootstrap, stream_topics, "models", "--models", str(models))
    assert code == 0 and f"no version in {models} (no such folder): `make train` or " in output, output
    for name in ("v1", "v2"):
        version_of(model_dir, models, name)
    tampered = version_of(model_dir, models, "v3")
    (tampered / "model.joblib").write_bytes((tampered / "model.joblib").read_bytes() + b"x")
    shutil.copytree(models / "v1", models / "v1-copy")
    models_arg = ("--models", str(models))
    assert training(bootstrap, stream_topics, "promote", "v1", *models_arg)[0] == 0
    assert training(bootstrap, stream_topics, "promote", "v2", *models_arg, "--reason", "better recall")[0] == 0
    assert training(bootstrap, stream_topics, "promote", "v1", *models_arg, "--role", "challenger")[0] == 0
    code, output = training(bootstrap, stream_topics, "promote", "v3", *models_arg)
    assert code == 2 and "refused" in output and "refusing to unpickle" in output
    code, output = training(bootstrap, stream_topics, "models", *models_arg)
    assert code == 0, output
    rows = {line.split()[3]: line.split("│")[1:-1] for line in output.splitlines() if line.startswith("│ v")}
    assert set(rows) == {"v1", "v1-copy", "v2", "v3"}, output
    role_and_verdict = {folder: [cell.strip() for cell in row[-2:]] for folder, row in rows.items()}
    assert role_and_verdict == {
        "v2": ["champion", "yes"],
        "v1": ["challenger", "yes"],
        "v3": ["-", "refused"],
        "v1-copy": ["-", "refused"],
    }, output
    assert f"{models / 'v1-copy'}: promote refuses it: the folder is not named after its version 'v1'" in output
    assert f"{models / 'v3'}: promote refuses it: " in output and "refusing to unpickle" in output
    code, output = training(bootstrap, stream_topics, "promote", "v2", *models_arg, "--reason", "artifact fixed")
    assert code == 0 and "champion: v2 (was v1)" in output, "promoting the champion again keeps its rollback target"
    code, output = training(bootstrap, stream_topics, "rollback")
    assert code == 0 and "champion: v1 (was v2)" in output, output
    assert training(bootstrap, stream_topics, "clear-challenger")[0] == 0
    reader = ControlReader({"bootstrap.servers": bootstrap}, stream_topics.model_control)
    try:
        history = reader.read_to_end(30)
    finally:
        reader.close()
    assert len(history) == 6, "the refused promotion wrote nothing"
    lineup = latest_by_role(history)
    champion, challenger = lineup[ModelRole.CHAMPION], lineup[ModelRole.CHALLENGER]
    assert champion.model is not None and champion.replaces is not None
    assert (champion.model.version, champion.replaces.version, champion.reason) == ("v1", "v2", "rollback")
    assert challenger.model is None
    code, output = training(bootstrap, stream_topics, "rollback")
    assert code == 0 and "champion: v2 (was v1)" in output, "rolling back a rollback goes forward again"


def test_post_predict_gives_the_streams_probability_for_the_same_event(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    v1, v2 = version_of(model_dir, models, "v1"), version_of(model_dir, models, "v2")
    write_control(
        {"bootstrap.servers": bootstrap}, stream_topics.model_control, control(ModelRole.CHALLENGER, pinned(v2))
    )
    events = list(dataset_events(DATASET, start=5_000, limit=500))
    with scorers(bootstrap, v1, stream_topics, tmp_path) as [process]:
        send_at_rate(bootstrap, stream_topics.input, events, 0)
        streamed = predictions_on(bootstrap, stream_topics.predictions, len(events))
        status, body = process.post("/predict", b"[" + b",".join(value for _, value in events) + b"]")
        seed_status, seed_body = process.post("/predict", b'{"flights": [{"OPERA": "Sky Airline", "MES": 3}]}')
    assert status == 200, body[:500]
    answer = json.loads(body)
    by_key = {p.flight_id: p for p in streamed}
    assert len(by_key) == len(events)
    for made in map(DelayPrediction.model_validate, answer["predictions"]):
        stream = by_key[made.flight_id]
        assert (made.delay_probability, made.model_version) == (stream.delay_probability, "v1")
        assert made.top_contributions == stream.top_contributions
    assert {p["model_version"] for p in answer["challenger"]} == {"v2"}
    assert seed_status == 422 and "missing" in seed_body.decode()


def fleet_lines(bootstrap: str, topics: TopicSettings, models: Path) -> list[str]:
    code, output = training(bootstrap, topics, "models", "--models", str(models))
    assert code == 0, output
    return [line for line in output.splitlines() if line.startswith("fleet: ")]


def test_the_fleet_says_what_runs_and_a_first_promotion_replaces_what_it_served(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    v1 = version_of(model_dir, models, "v1")
    version_of(model_dir, models, "v2")
    tampered = version_of(model_dir, models, "v3")
    (tampered / "lookup.json").write_text(
        (tampered / "lookup.json").read_text().replace('"intercept":', '"intercept":1+', 1)
    )
    args = ("--models", str(models))
    with scorers(bootstrap, v1, stream_topics, tmp_path, count=2) as processes:
        wait_until("both scorers report", lambda: len(fleet_lines(bootstrap, stream_topics, models)) == 2, 30)
        code, output = training(bootstrap, stream_topics, "models", *args)
        assert (
            f"champion: none named on {stream_topics.model_control}; the running scorers serve v1 from their "
            "MODEL_URI (a first promotion replaces it)" in output
        ), output
        for process in processes:
            assert f"/{process.instance_id} serves champion v1 since" in output, output

        assert training(bootstrap, stream_topics, "promote", "v2", *args, "--role", "challenger")[0] == 0
        code, output = training(bootstrap, stream_topics, "promote", "v2", *args)
        assert code == 0 and "champion: v2 (was v1)" in output, "the first champion record replaces what ran"
        wait_until(
            "the fleet serves v2",
            lambda: all(" serves champion v2 since" in line for line in fleet_lines(bootstrap, stream_topics, models)),
            30,
        )
        code, output = training(bootstrap, stream_topics, "rollback")
        assert code == 0 and "champion: v1 (was v2)" in output, output

        write_control(
            {"bootstrap.servers": bootstrap}, stream_topics.model_control, control(ModelRole.CHAMPION, pinned(tampered))
        )

        def refused_everywhere() -> bool:
            lines = fleet_lines(bootstrap, stream_topics, models)
            return len(lines) == 2 and all(
                " serves champion v1" in line and "; refused v3 as champion at" in line for line in lines
            )

        wait_until("each scorer says it refused v3 and serves v1", refused_everywhere, 30)
    assert fleet_lines(bootstrap, stream_topics, models) == [
        f"fleet: no scorer reports on {stream_topics.model_fleet} (none running, or all stopped cleanly)"
    ], "a clean stop withdraws the instance"


def test_a_killed_scorers_status_is_left_behind_and_not_counted_by_a_first_promotion(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """A SIGKILLed scorer writes no tombstone: its last status would say forever that it serves what it served
    (here the v0 of an older `MODEL_URI`), and a first promotion would find the fleet disagreeing and replace
    nothing. The running ones rewrite theirs every `SCORER_FLEET_REPORT_S`; the killed one's grows old."""
    models = tmp_path / "models"
    v0, v1 = version_of(model_dir, models, "v0"), version_of(model_dir, models, "v1")
    version_of(model_dir, models, "v2")
    env = scorer_env(stream_topics, SCORER_FLEET_REPORT_S="1")
    killed = ScorerProcess(bootstrap, v0, tmp_path / "killed.log", "killed", env)
    try:
        killed.start().wait_ready()
        wait_until("the v0 scorer reports", lambda: len(fleet_lines(bootstrap, stream_topics, models)) == 1, 30)
    finally:
        killed.kill()
    with scorers(bootstrap, v1, stream_topics, tmp_path, SCORER_FLEET_REPORT_S="1") as (running_scorer,):

        def left_behind_and_running() -> bool:
            lines = fleet_lines(bootstrap, stream_topics, models)
            return any(
                f"/{killed.instance_id} left behind: it said it served champion v0 at" in x for x in lines
            ) and any(f"/{running_scorer.instance_id} serves champion v1 since" in x for x in lines)

        wait_until("the killed scorer's status left behind, the running one's not", left_behind_and_running, 30)
        time.sleep(4)  # more than three reports: the running scorer's status is still fresh, it rewrote it
        assert left_behind_and_running(), fleet_lines(bootstrap, stream_topics, models)
        code, output = training(bootstrap, stream_topics, "promote", "v2", "--models", str(models))
        assert code == 0 and "champion: v2 (was v1)" in output, output
        code, output = training(bootstrap, stream_topics, "forget-left-behind")
        assert code == 0 and f"fleet: forgot group-{stream_topics.input}/{killed.instance_id}: it said it" in output, (
            output
        )
        assert "fleet: 1 left behind forgotten on" in output and "1 still report" in output, output
        lines = fleet_lines(bootstrap, stream_topics, models)
        assert not [x for x in lines if killed.instance_id in x], lines
        assert [x for x in lines if f"/{running_scorer.instance_id} serves champion v2 since" in x], lines
