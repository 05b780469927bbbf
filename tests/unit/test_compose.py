"""docker-compose.yml cannot be run here (no Docker engine), so it is loaded with the reference Compose loader
(compose-go, the library inside `docker compose`) and checked against the project: real settings, real
commands, agreeing topics and ports, and services that wait for a healthy broker."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from consumer.settings import ScorerSettings
from kafka_common.settings import TopicSettings
from tests.support.shipping import ROOT, cli_command, environment_variables, option_names, run_tool

BROKER = "kafka"
APP_IMAGE_CONTEXT = str(ROOT)


@cache
def compose() -> dict[str, Any]:
    """The normalized model (anchors merged, defaults filled) with every profile enabled."""
    result = run_tool(
        "compose-spec", "-format", "json", str(ROOT / "docker-compose.yml"), env={"COMPOSE_PROFILES": "*"}
    )
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def app_services() -> dict[str, dict[str, Any]]:
    """Services running this project's image."""
    return {name: s for name, s in services().items() if s.get("build", {}).get("context") == APP_IMAGE_CONTEXT}


def broker_listeners() -> dict[str, str]:
    """Advertised listener name -> host:port."""
    advertised = services()[BROKER]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    return dict(item.split("://", 1) for item in advertised.split(","))


NOT_KAFKA_CLIENTS = {"prometheus", "grafana"}  # they scrape HTTP endpoints, never the broker


def test_file_is_a_valid_compose_project_with_the_expected_services() -> None:
    assert {"kafka", "topics", "train", "consumer", "producer", "watch", "kafka-ui"} <= set(services())
    assert services()["kafka"]["image"].startswith("apache/kafka:")
    assert services()["kafka-ui"]["profiles"] == ["ui"]
    assert set(app_services()) == {"topics", "train", "consumer", "producer", "watch", "monitor"}
    assert all(services()[name]["profiles"] == ["observe"] for name in ("monitor", "prometheus", "grafana"))


def test_prometheus_and_grafana_are_given_the_rules_and_the_dashboard() -> None:
    mounts = {
        name: {volume["source"].rsplit("/", 1)[-1] for volume in services()[name]["volumes"]}
        for name in ("prometheus", "grafana")
    }
    assert {"prometheus.yml", "alerts.yml"} <= mounts["prometheus"]
    assert {"grafana", "dashboard.json"} <= mounts["grafana"]
    for volume in services()["prometheus"]["volumes"] + services()["grafana"]["volumes"]:
        assert (ROOT / volume["source"]).exists(), volume["source"]  # an absolute source stays as it is


def test_a_misspelt_key_is_caught_by_the_loader(tmp_path: Any) -> None:
    """The check above can fail: the loader validates against the Compose Specification schema."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text((ROOT / "docker-compose.yml").read_text().replace("stop_grace_period", "stop_grace_perio"))
    result = run_tool("compose-spec", str(broken))
    assert result.returncode != 0
    assert "stop_grace_perio" in result.stderr


@pytest.mark.parametrize("service", ["topics", "train", "consumer", "producer", "watch", "monitor"])
def test_environment_is_made_of_real_settings(service: str) -> None:
    unknown = set(app_services()[service].get("environment") or {}) - environment_variables()
    assert not unknown, f"{service} sets variables no setting reads: {sorted(unknown)}"


@pytest.mark.parametrize("service", ["topics", "train", "consumer", "producer", "watch", "monitor"])
def test_commands_exist_with_their_options(service: str) -> None:
    argv = app_services()[service]["command"]
    command = cli_command(argv)
    options = {token.split("=")[0] for token in argv if token.startswith("--")}
    assert options <= option_names(command), f"{service}: unknown options {options - option_names(command)}"


def test_topic_names_agree_with_each_other_and_the_defaults() -> None:
    defaults = TopicSettings()
    for name, service in app_services().items():
        env = service.get("environment") or {}
        for variable, default in {
            "TOPIC_INPUT": defaults.input,
            "TOPIC_PREDICTIONS": defaults.predictions,
            "TOPIC_DEAD_LETTER": defaults.dead_letter,
            "TOPIC_PARTITIONS": str(defaults.partitions),
        }.items():
            if variable in env or name != "train":
                assert env.get(variable) == default, f"{name}: {variable}={env.get(variable)!r}, expected {default!r}"


def test_every_client_reaches_the_broker_on_an_advertised_listener() -> None:
    internal = broker_listeners()["PLAINTEXT"]
    for name, service in services().items():
        env = service.get("environment") or {}
        bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS") or env.get("KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS")
        if name in {BROKER, "train"} | NOT_KAFKA_CLIENTS:
            continue
        assert bootstrap == internal, f"{name} connects to {bootstrap!r}, the broker advertises {internal!r}"


def test_host_port_matches_the_host_listener() -> None:
    host_listener_port = int(broker_listeners()["HOST"].rsplit(":", 1)[1])
    published = {int(p["published"]): int(p["target"]) for p in services()[BROKER]["ports"]}
    assert published.get(host_listener_port) == host_listener_port
    assert "localhost:29092" in (ROOT / "README.md").read_text(), "README names the host port"


def test_clients_wait_for_a_healthy_broker() -> None:
    assert services()[BROKER]["healthcheck"]["test"], "the broker has a health check"
    for name, service in services().items():
        if name in {BROKER, "train"} | NOT_KAFKA_CLIENTS:
            continue
        assert service["depends_on"][BROKER]["condition"] == "service_healthy", name


def test_consumer_scales_and_drains_before_it_is_killed() -> None:
    consumer = services()["consumer"]
    assert "container_name" not in consumer, "a fixed name prevents --scale"
    assert not consumer.get("ports"), "a published port prevents --scale"
    assert consumer["environment"]["SCORER_PROCESSING_GUARANTEE"] == "exactly_once"
    assert "SCORER_INSTANCE_ID" not in consumer["environment"], "each replica's host name must name its transactions"
    grace_s = _seconds(consumer["stop_grace_period"])
    assert grace_s > ScorerSettings().shutdown_timeout_s
    port = consumer["environment"]["SCORER_HTTP_PORT"]
    assert re.search(rf"^EXPOSE {port}$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert "healthcheck" not in consumer or not consumer["healthcheck"].get("disable"), "keeps the image's check"


def test_model_written_by_training_is_the_one_the_consumer_reads() -> None:
    train, consumer = services()["train"], services()["consumer"]
    out = train["command"][train["command"].index("--out") + 1]
    mounts = {v["target"]: v for v in train["volumes"]}
    consumer_mounts = {v["target"]: v for v in consumer["volumes"]}
    assert consumer["environment"]["MODEL_URI"] == out
    assert mounts[out]["source"] == consumer_mounts[out]["source"]
    assert consumer_mounts[out].get("read_only") is True
    assert consumer["depends_on"]["train"]["condition"] == "service_completed_successfully"


def _seconds(duration: str | int | float) -> float:
    if isinstance(duration, int | float):
        return float(duration) / 1e9  # compose-go normalizes durations to nanoseconds
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match.group(1))


def test_ports_are_published_on_loopback_only() -> None:
    """The stack's traffic stays between its containers and this host: nothing listens on other interfaces."""
    published = [(name, port) for name, s in services().items() for port in s.get("ports", [])]
    assert published, "the broker's host listener at least"
    assert all(port["host_ip"] == "127.0.0.1" for _, port in published), published


def test_images_are_the_real_ones_unless_a_variable_substitutes_them() -> None:
    """Users get the published images; a machine without a registry passes stand-ins as variables."""
    app = app_services()["consumer"]
    assert app["build"]["args"] == {
        "PYTHON_IMAGE": "python:3.11.10-slim-bookworm",
        "RUST_IMAGE": "rust:1.95.0-slim-bookworm",
    }
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name, default in app["build"]["args"].items():
        assert f"ARG {name}={default}\n" in dockerfile, "the compose default and the Dockerfile's agree"
    assert services()[BROKER]["image"] == "apache/kafka:4.1.1"
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in ("KAFKA_IMAGE", "PYTHON_IMAGE", "RUST_IMAGE", "FLIGHTDELAY_IMAGE", "PROMETHEUS_IMAGE"):
        assert "${" + variable + ":-" in text, f"{variable} substitutes its image (the docker tests use it)"


def test_every_app_container_runs_read_only_without_capabilities() -> None:
    for name, service in app_services().items():
        assert service.get("read_only") is True, name
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name


def test_the_prometheus_image_is_the_release_the_tests_build() -> None:
    """The Makefile builds Prometheus from its Go module (3.x releases are module versions v0.3xx.y); the image
    the compose stack pulls is that release, so the stand-in the docker tests run is the same server."""
    module = re.search(r"^PROMETHEUS_MODULE_VERSION := v0\.(\d)(\d\d)\.(\d+)$", (ROOT / "Makefile").read_text(), re.M)
    assert module, "the Makefile pins PROMETHEUS_MODULE_VERSION"
    major, minor, patch = module.groups()
    assert services()["prometheus"]["image"] == f"prom/prometheus:v{major}.{int(minor)}.{patch}"


def test_the_model_is_trained_only_into_an_empty_volume() -> None:
    """`up` of a service added later (the observe profile's monitor) starts `train` again: it must not train."""
    assert services()["train"]["command"][-1] == "--if-missing"
    assert "--if-missing" in option_names(cli_command(["training", "fit"]))
