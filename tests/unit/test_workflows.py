"""GitHub Actions cannot run here: the workflows are linted with actionlint and checked against the project."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from tests.support.shipping import ROOT, cli_command, option_names, run_tool

WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def triggers(name: str) -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    on: dict[str, Any] = loaded[True]  # YAML 1.1 reads the key `on` as a boolean
    return on


def steps(name: str) -> list[dict[str, Any]]:
    return [step for job in workflow(name)["jobs"].values() for step in job.get("steps", [])]


def test_actionlint_passes() -> None:
    result = run_tool("actionlint", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    text = (WORKFLOWS / "cd.yml").read_text().replace("needs.image.outputs.image", "needs.imag.outputs.image")
    (broken / "cd.yml").write_text(text)
    (broken / "ci.yml").write_text((WORKFLOWS / "ci.yml").read_text())
    result = run_tool("actionlint", "-no-color", str(broken / "cd.yml"))
    assert result.returncode != 0 and "imag" in result.stdout


def test_ci_runs_the_readme_test_command_on_pull_requests_and_main() -> None:
    on = triggers("ci.yml")
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    runs = [step.get("run", "") for step in steps("ci.yml")]
    assert "make test" in runs
    makefile = (ROOT / "Makefile").read_text()
    for run in runs:
        for target in re.findall(r"\bmake (\w+)", run):
            assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"no make target {target!r}"


def test_cd_deploys_from_main_with_oidc_only() -> None:
    on = triggers("cd.yml")
    assert on["push"]["branches"] == ["main"]
    jobs = workflow("cd.yml")["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml", "nothing ships untested"
    assert set(jobs["image"]["needs"] if isinstance(jobs["image"]["needs"], list) else [jobs["image"]["needs"]]) == {
        "test"
    }
    for name, job in jobs.items():
        for step in job.get("steps", []):
            if "configure-aws-credentials" in step.get("uses", ""):
                assert set(step["with"]) == {"role-to-assume", "aws-region"}, "no access keys"
                assert job["permissions"]["id-token"] == "write", name
    assert workflow("cd.yml")["permissions"] == {"contents": "read"}


def test_cd_builds_pushes_publishes_renders_and_waits() -> None:
    uses = [step.get("uses", "").split("@")[0] for step in steps("cd.yml")]
    for action in (
        "aws-actions/amazon-ecr-login",
        "docker/build-push-action",
        "aws-actions/amazon-ecs-render-task-definition",
        "aws-actions/amazon-ecs-deploy-task-definition",
    ):
        assert action in uses
    deploy = next(s for s in steps("cd.yml") if "amazon-ecs-deploy-task-definition" in s.get("uses", ""))
    assert deploy["with"]["wait-for-service-stability"] is True
    build = next(s for s in steps("cd.yml") if "build-push-action" in s.get("uses", ""))
    assert build["with"]["push"] is True


def test_cd_model_commands_exist() -> None:
    """The publish and verify lines call real subcommands with real options."""
    publish = next(s for s in steps("cd.yml") if s.get("id") == "publish")["run"]
    checked = []
    for line in publish.splitlines():
        match = re.search(r"\.venv/bin/(training [^)]*)", line)
        if not match:
            continue
        argv = shlex.split(match.group(1))
        command = cli_command(argv)
        options = {token for token in argv if token.startswith("--")}
        assert options <= option_names(command), options - option_names(command)
        checked.append(argv[1])
    assert checked == ["publish", "verify"]
