"""The image cannot be built here (no Docker engine): the Dockerfile is linted with hadolint and checked for
the properties the deployment relies on; its install step is the one CI's fresh clone runs (`pip -c lock`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from consumer.healthcheck import main as healthcheck_main
from consumer.metrics import ScorerMetrics
from consumer.settings import ScorerSettings
from local_stack.broker import free_port
from stream_runtime.health import HealthState, start_health_server
from tests.support.shipping import ROOT, console_scripts, run_tool

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(keyword: str) -> list[str]:
    """Arguments of each instruction (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{keyword}\s+(.*)$", joined, re.MULTILINE)]


def test_hadolint_passes_at_info_level() -> None:
    result = run_tool("hadolint", "--failure-threshold", "info", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_problem(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.replace("USER 10001:10001", "USER root") + "RUN apt-get install curl\n")
    result = run_tool("hadolint", str(bad))
    assert result.returncode != 0
    assert "DL3008" in result.stdout or "DL3015" in result.stdout


def test_multi_stage_on_a_pinned_slim_base() -> None:
    base = instructions("ARG")[0]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+", base), base
    stages = instructions("FROM")
    assert stages == [
        "${PYTHON_IMAGE} AS maturin",
        "${RUST_IMAGE} AS native",
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]


def test_the_compiled_lane_is_built_from_its_lock_and_installed_as_a_wheel() -> None:
    """The scorer without it would run the Python path alone: correct, but several times the CPU per event."""
    assert any(re.fullmatch(r"RUST_IMAGE=rust:1\.\d+\.\d+-slim-\w+", arg) for arg in instructions("ARG"))
    build = next(run for run in instructions("RUN") if "maturin build" in run)
    assert "--locked" in build and "--release" in build
    install = next(run for run in instructions("RUN") if "/wheels/*.whl" in run)
    assert "-c requirements.lock" in install
    tool = next(run for run in instructions("RUN") if run.endswith(" maturin"))
    assert "requirements.lock" in tool and "--only-binary=:all:" in tool, "the lock's maturin, not compiled here"


def test_dependencies_come_from_the_lock_as_wheels() -> None:
    install = next(run for run in instructions("RUN") if "/wheels/*.whl" in run)
    assert "-c requirements.lock" in install
    assert "--only-binary=:all:" in install, "no compiler is needed, so none is installed"
    final_stage = DOCKERFILE.split("\nFROM ${PYTHON_IMAGE}\n", 1)[1]
    assert not re.search(r"\b(gcc|build-essential|g\+\+|make)\b", final_stage)
    assert "COPY --from=build /opt/venv /opt/venv" in final_stage


def test_runs_as_a_non_root_user() -> None:
    users = instructions("USER")
    assert users and users[-1] not in {"root", "0", "0:0"}
    assert re.fullmatch(r"\d+:\d+", users[-1]), "numeric, so Kubernetes/ECS runAsNonRoot can verify it"


def test_one_image_three_commands_scorer_by_default() -> None:
    assert instructions("CMD")[-1] == '["flightdelay-scorer"]'
    for script in ("flightdelay-scorer", "flightdelay-producer", "training", "flightdelay-kafka"):
        assert script in console_scripts()


def test_health_check_and_port_follow_the_scorer_settings() -> None:
    port = ScorerSettings().http_port
    assert instructions("EXPOSE") == [str(port)]
    assert f"SCORER_HTTP_PORT={port}" in DOCKERFILE
    assert instructions("HEALTHCHECK")[0].endswith('CMD ["python", "-m", "consumer.healthcheck", "--ready"]')
    assert "MODEL_URI=/models" in DOCKERFILE


def test_healthcheck_command_reports_liveness_and_readiness(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HEALTHCHECK's own module against a live health server, not ready, then ready, then against nothing."""
    state = HealthState(("model_loaded",))
    server = start_health_server(0, state, ScorerMetrics().registry)
    try:
        monkeypatch.setenv("SCORER_HTTP_PORT", str(server.server_address[1]))
        assert healthcheck_main([]) == 0, "alive while it waits for a model, partitions and the broker"
        assert healthcheck_main(["--ready"]) == 1
        state.conditions["model_loaded"], state.assigned_partitions = True, 2
        state.report_broker(up=True)
        assert healthcheck_main(["--ready"]) == 0
        state.report_broker(up=False)
        assert healthcheck_main(["--ready"]) == 1, "the broker is gone: not ready"
        assert healthcheck_main([]) == 0
    finally:
        server.shutdown()
    monkeypatch.setenv("SCORER_HTTP_PORT", str(free_port()))
    assert healthcheck_main([]) == 1
    assert healthcheck_main(["--bogus"]) == 2


def test_every_package_of_the_project_is_copied_into_the_build() -> None:
    """A package left out would install without it: its command would fail only when the image runs."""
    import re
    import tomllib

    from tests.support.shipping import ROOT

    included = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = {pattern.rstrip("*") for pattern in included["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", (ROOT / "Dockerfile").read_text(), flags=re.M))
    assert packages <= copied, f"not copied: {sorted(packages - copied)}"
    in_context = set(re.findall(r"^!(\w+)/$", (ROOT / ".dockerignore").read_text(), flags=re.M))
    assert packages <= in_context, f"left out of the build context by .dockerignore: {sorted(packages - in_context)}"
