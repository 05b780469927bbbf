"""CDK entry point (`cdk.json` runs `python -m infra.app`); deployment values come from `-c key=value`."""

from __future__ import annotations

from typing import Literal

from aws_cdk import App, Environment

from infra.monitor_service import MonitorDeployment
from infra.stack import FlightDelayStack, ScorerDeployment


def build(app: App) -> FlightDelayStack:
    def context(key: str, default: str) -> str:
        value = app.node.try_get_context(key)
        return str(value) if value is not None else default

    deployment = ScorerDeployment(
        image_tag=context("imageTag", "latest"),
        model_uri=context("modelUri", ""),
        github_repository=context("githubRepository", "owner/flightdelay"),
        monitor=MonitorDeployment(autopilot=_autopilot(context("monitorAutopilot", "off"))),
    )
    account, region = app.node.try_get_context("account"), app.node.try_get_context("region")
    env = Environment(account=account, region=region) if account and region else None
    return FlightDelayStack(app, "FlightDelay", deployment, env=env)


def _autopilot(value: str) -> Literal["off", "dry-run", "on"]:
    if value not in ("off", "dry-run", "on"):
        raise SystemExit(f"-c monitorAutopilot={value!r}: expected off, dry-run or on")
    return value  # type: ignore[return-value]  # checked just above


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
