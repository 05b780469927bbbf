"""docker-compose.yml, run: three scorers from the project's image score a real replay exactly once by key,
through one replica stopped mid-stream; their health follows the broker; `down -v` leaves nothing.

The tests share one stack and run in file order, each a stage of its life: up, stream, broker gone, down.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from kafka_common.settings import TopicSettings
from stream_runtime.topic_reader import read_to_end, reader
from tests.support.docker_images import ROOT, StandIns
from tests.support.docker_stack import ComposeStack, docker
from tests.support.polling import wait_until
from tests.support.prometheus import alert_rule_names, api

pytestmark = pytest.mark.docker

HOST_BOOTSTRAP = "127.0.0.1:29092"  # the broker's HOST listener, published on loopback
PROMETHEUS = "http://127.0.0.1:9090"  # the observe profile's Prometheus, published on loopback
SCORERS = 3
FLIGHTS = 6000
RATE = 300  # events a second: 20 s of stream, long enough to stop a replica inside it
TOPICS = TopicSettings(
    input="flights.scheduled", predictions="flights.delay-predictions", dead_letter="flights.dead-letter"
)


@pytest.fixture(scope="module")
def stack(project_image: str, standins: StandIns) -> Iterator[ComposeStack]:
    stack = ComposeStack(image=project_image, standins=standins)
    try:
        yield stack
    finally:
        stack.compose("--profile", "observe", "down", "-v", "--remove-orphans", "--timeout", "30", check=False)


def keys_in(topic: str) -> Counter[bytes]:
    """Keys of every committed record now in `topic` (read_committed, from the host through loopback)."""
    consumer = reader({"bootstrap.servers": HOST_BOOTSTRAP})
    try:
        return Counter(m.key() or b"" for m in read_to_end(consumer, topic, list(range(6)), timeout_s=60))
    finally:
        consumer.close()


def prometheus_api(path: str) -> dict[str, Any]:
    return dict(api(PROMETHEUS, path))


def outputs() -> int:
    """Predictions plus dead letters committed so far."""
    return sum(keys_in(TOPICS.predictions).values()) + sum(keys_in(TOPICS.dead_letter).values())


def test_up_brings_a_healthy_broker_topics_a_model_and_three_ready_scorers(stack: ComposeStack) -> None:
    stack.compose("up", "--detach", "--no-build", "--scale", f"consumer={SCORERS}", "consumer")
    wait_until(f"{SCORERS} healthy scorers", lambda: stack.health("consumer") == ["healthy"] * SCORERS, 600, every_s=2)
    assert stack.health("kafka") == ["healthy"]
    assert stack.exit_codes("topics") == [0] and stack.exit_codes("train") == [0]
    started = [r for r in stack.logs("consumer") if r.get("message") == "scorer starting"]
    ids = {r["transactional_id"] for r in started}
    assert len(started) == SCORERS and len(ids) == SCORERS, started
    versions = {r["model_version"] for r in started}
    assert len(versions) == 1, "every scorer serves the one model training wrote into the volume"
    assert versions.pop() in stack.compose("logs", "--no-color", "train").stdout
    assert all(r["guarantee"] == "exactly_once" and r["compiled_lane"] for r in started)
    published = {
        c["Name"]: binding
        for c in stack.containers()
        for bindings in (c["HostConfig"]["PortBindings"] or {}).values()
        for binding in bindings
    }
    assert published and all(b["HostIp"] == "127.0.0.1" for b in published.values()), published


def test_replay_is_scored_exactly_once_by_key_through_a_replica_stopped_mid_stream(stack: ComposeStack) -> None:
    replay = f"{stack.name}-replay"
    command = ["flightdelay-producer", "replay", "--data", "/data/dataset_SCL.csv"]
    stack.compose(
        "run",
        "--detach",
        "--no-deps",
        "--name",
        replay,
        "producer",
        *command,
        "--limit",
        str(FLIGHTS),
        "--rate",
        str(RATE),
    )
    wait_until("a quarter of the stream scored", lambda: outputs() >= FLIGHTS // 4, 300, every_s=0.5)
    victim = stack.containers("consumer")[1]["Name"].lstrip("/")
    docker("stop", "--time", "30", victim)
    missing_at_stop = FLIGHTS - outputs()
    assert missing_at_stop > 0, "the replica was stopped with the stream still in flight"
    assert docker("wait", replay, timeout=300).stdout.strip() == "0", "the replay published every flight"
    docker("rm", replay)  # a one-off, as `docker compose run --rm` leaves none
    sent = keys_in(TOPICS.input)
    assert len(sent) == FLIGHTS and set(sent.values()) == {1}
    wait_until("every flight scored or dead-lettered", lambda: outputs() >= FLIGHTS, 300, every_s=2)
    scored, dead = keys_in(TOPICS.predictions), keys_in(TOPICS.dead_letter)
    assert scored + dead == sent, "each flight exactly once: a prediction or a dead letter with its reason"
    assert len(scored) > 0.9 * FLIGHTS
    assert stack.exit_codes("consumer").count(0) == 1, "the stopped replica drained and exited cleanly"
    print(f"stopped {victim} with {missing_at_stop} of {FLIGHTS} outputs missing; {len(dead)} dead letters")


def test_the_observe_profile_adds_the_monitor_and_prometheus_without_retraining(stack: ComposeStack) -> None:
    """Added to a running stack as a user would (its dependencies included): `train` starts again and must leave
    the served model alone; Prometheus (the stand-in of the pinned release) scrapes every target, rules loaded."""
    stack.compose("--profile", "observe", "up", "--detach", "--no-build", "monitor", "prometheus")
    wait_until("a healthy monitor", lambda: stack.health("monitor") == ["healthy"], 180, every_s=2)
    (monitor,) = stack.containers("monitor")
    assert monitor["Config"]["Healthcheck"]["Test"] == ["CMD", "python", "-m", "monitor.healthcheck", "--ready"]
    train_log = stack.compose("logs", "--no-color", "train").stdout
    assert "nothing trained (--if-missing)" in train_log, train_log[-2000:]
    listing = stack.compose("run", "--rm", "--no-deps", "--entrypoint", "ls", "train", "/models").stdout.split()
    assert len([name for name in listing if name != "latest"]) == 1, f"one model version, still served: {listing}"
    running_scorers = len([c for c in stack.containers("consumer") if c["State"]["Running"]])

    def targets() -> list[dict[str, Any]]:
        return list(prometheus_api("targets")["activeTargets"])

    wait_until(
        f"Prometheus scraping {running_scorers} scorers and the monitor, all up",
        lambda: (
            sorted(t["labels"]["job"] for t in targets() if t["health"] == "up")
            == sorted(["monitor"] + ["scorer"] * running_scorers)
        ),
        120,
        every_s=2,
    )

    def rules() -> list[dict[str, Any]]:
        return [rule for group in prometheus_api("rules")["groups"] for rule in group["rules"]]

    assert {rule["name"] for rule in rules()} == alert_rule_names()
    wait_until(
        "every rule evaluated without error", lambda: all(rule["health"] == "ok" for rule in rules()), 120, every_s=2
    )
    print(f"Prometheus: {len(targets())} targets up, {len(rules())} rules loaded and evaluated")


def test_scorers_and_the_monitor_turn_unhealthy_when_the_broker_is_gone(stack: ComposeStack) -> None:
    stack.compose("stop", "kafka")

    def unhealthy(service: str) -> bool:
        health = stack.health(service)
        return bool(health) and set(health) == {"unhealthy"}

    wait_until("the running scorers to report unhealthy", lambda: unhealthy("consumer"), 180, every_s=2)
    wait_until("the monitor to report unhealthy", lambda: unhealthy("monitor"), 180, every_s=2)


def test_the_documented_down_leaves_no_container_network_or_volume(stack: ComposeStack) -> None:
    """The command docs/deploy.md gives, as written: it must take every profile's containers along."""
    assert any(stack.leftovers().values()), "the stack was there to take down"
    assert stack.containers("monitor") and stack.containers("prometheus"), "the observe profile is up"
    documented = next(
        line.split("#")[0].split()
        for line in (ROOT / "docs" / "deploy.md").read_text().splitlines()
        if line.startswith("docker compose") and " down " in f"{line} "
    )
    assert documented[:2] == ["docker", "compose"], documented
    stack.compose(*[arg.strip("'") for arg in documented[2:]])
    assert stack.leftovers() == {"containers": [], "networks": [], "volumes": []}
