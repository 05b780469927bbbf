"""The CDK stack, synthesized without an AWS account, asserted resource by resource, and linted by cfn-lint."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

# jsii prints a banner for Node 20 (end of life for jsii since 2026-10); synthesis itself works (see the note).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App
from aws_cdk.assertions import Match, Template

from consumer.settings import ScorerSettings
from infra.app import build
from infra.monitor_service import MONITOR_CONTAINER, control_writers
from infra.stack import CONTAINER_NAME, FlightDelayStack
from kafka_common.settings import TopicSettings
from monitor.settings import MonitorSettings
from tests.support.shipping import ROOT, run_tool


@pytest.fixture(scope="module")
def stack() -> FlightDelayStack:
    return build(App(context={"githubRepository": "acme/flightdelay", "imageTag": "abc123"}))


@pytest.fixture(scope="module")
def template(stack: FlightDelayStack) -> Template:
    return Template.from_stack(stack)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def only(template: Template, kind: str) -> dict[str, Any]:
    found = list(resources(template, kind).values())
    assert len(found) == 1, f"{len(found)} {kind}"
    properties: dict[str, Any] = found[0]["Properties"]
    return properties


def scorer_container(template: Template) -> dict[str, Any]:
    return container_named(template, CONTAINER_NAME)


def statements_of(template: Template, role_logical_prefix: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"]["Roles"])
        if role_logical_prefix in roles:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def private_subnets(template: Template) -> set[str]:
    subnets = resources(template, "AWS::EC2::Subnet")
    return {name for name, subnet in subnets.items() if not subnet["Properties"]["MapPublicIpOnLaunch"]}


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_vpc_has_public_and_private_subnets(template: Template) -> None:
    subnets = resources(template, "AWS::EC2::Subnet").values()
    public = [s for s in subnets if s["Properties"].get("MapPublicIpOnLaunch")]
    assert len(public) == 2 and len(subnets) == 4
    template.resource_count_is("AWS::EC2::NatGateway", 1)


def test_msk_serverless_with_iam_auth_in_private_subnets(template: Template) -> None:
    cluster = only(template, "AWS::MSK::ServerlessCluster")
    assert cluster["ClientAuthentication"] == {"Sasl": {"Iam": {"Enabled": True}}}
    private_ids = {
        name
        for name, s in resources(template, "AWS::EC2::Subnet").items()
        if not s["Properties"]["MapPublicIpOnLaunch"]
    }
    assert {ref["Ref"] for ref in cluster["VpcConfigs"][0]["SubnetIds"]} == private_ids
    ingress = list(resources(template, "AWS::EC2::SecurityGroupIngress").values())
    assert sorted(rule["Properties"]["Description"] for rule in ingress) == [
        "Kafka IAM/TLS from the monitor",
        "Kafka IAM/TLS from the scorers",
    ]
    assert all((r["Properties"]["FromPort"], r["Properties"]["ToPort"]) == (9098, 9098) for r in ingress), "IAM/TLS"
    container = scorer_container(template)
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["KAFKA_SASL_MECHANISM"] == "OAUTHBEARER"


def test_ecr_repository_scans_and_keeps_tags_immutable(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECR::Repository",
        {"ImageScanningConfiguration": {"ScanOnPush": True}, "ImageTagMutability": "IMMUTABLE"},
    )


def test_model_bucket_is_versioned_encrypted_private_and_tls_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def service_of(template: Template, task_prefix: str) -> dict[str, Any]:
    found = [
        service["Properties"]
        for service in resources(template, "AWS::ECS::Service").values()
        if service["Properties"]["TaskDefinition"]["Ref"].startswith(task_prefix)
    ]
    assert len(found) == 1, f"{len(found)} services of {task_prefix}"
    return dict(found[0])


def container_named(template: Template, name: str) -> dict[str, Any]:
    for task in resources(template, "AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            if container["Name"] == name:
                return dict(container)
    raise AssertionError(f"no {name} container")


@pytest.mark.parametrize("task_prefix", ["ScorerTask", "MonitorTask"])
def test_fargate_service_in_private_subnets_with_rollback(template: Template, task_prefix: str) -> None:
    service = service_of(template, task_prefix)
    assert service["LaunchType"] == "FARGATE"
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    private_ids = {
        name
        for name, s in resources(template, "AWS::EC2::Subnet").items()
        if not s["Properties"]["MapPublicIpOnLaunch"]
    }
    assert {ref["Ref"] for ref in network["Subnets"]} == private_ids
    circuit = service["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
    assert circuit == {"Enable": True, "Rollback": True}
    assert service["DeploymentConfiguration"]["MinimumHealthyPercent"] == 100


def test_container_health_logs_stop_timeout_and_hardening(template: Template) -> None:
    container = scorer_container(template)
    assert container["HealthCheck"]["Command"] == ["CMD", "python", "-m", "consumer.healthcheck"]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    drain_s = ScorerSettings().shutdown_timeout_s
    assert drain_s < container["StopTimeout"] <= 120, "SIGKILL only after the scorer's own drain limit"
    assert container["User"] == "10001"
    assert container["ReadonlyRootFilesystem"] is True
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    topics = TopicSettings()
    assert (env["TOPIC_INPUT"], env["TOPIC_PREDICTIONS"], env["TOPIC_DEAD_LETTER"]) == (
        topics.input,
        topics.predictions,
        topics.dead_letter,
    )
    assert "SCORER_INSTANCE_ID" not in env, "each task's host name names its transactional id"
    assert json.dumps(env["MODEL_URI"]).count("models/") == 1
    assert container["Image"]["Fn::Join"][1][-1].endswith(":abc123")


def test_scorer_role_is_least_privilege(template: Template) -> None:
    statements = statements_of(template, "ScorerTaskRole")
    actions = sorted(a for s in statements for a in _actions(s))
    assert actions == sorted(
        [
            "kafka-cluster:Connect",
            "kafka-cluster:DescribeCluster",
            "kafka-cluster:WriteDataIdempotently",
            "kafka-cluster:DescribeTopic",
            "kafka-cluster:ReadData",
            "kafka-cluster:DescribeTopic",
            "kafka-cluster:WriteData",
            "kafka-cluster:DescribeGroup",
            "kafka-cluster:AlterGroup",
            "kafka-cluster:DescribeTransactionalId",
            "kafka-cluster:AlterTransactionalId",
            "s3:GetObject",
            "s3:ListBucket",
        ]
    ), "no wildcards, no topic creation, no writes to S3"
    text = json.dumps(statements)
    assert '"Resource": "*"' not in text
    by_action = {a: json.dumps(s["Resource"]) for s in statements for a in _actions(s)}
    topics, group = TopicSettings(), ScorerSettings().group_id
    assert f"/{topics.input}" in by_action["kafka-cluster:ReadData"]
    assert topics.predictions not in by_action["kafka-cluster:ReadData"]
    assert f"/{topics.predictions}" in by_action["kafka-cluster:WriteData"]
    assert f"/{topics.dead_letter}" in by_action["kafka-cluster:WriteData"]
    assert topics.input not in by_action["kafka-cluster:WriteData"]
    assert f"/{topics.model_control}" in by_action["kafka-cluster:ReadData"], "scorers follow the control topic"
    assert f"/{topics.outcomes}" in by_action["kafka-cluster:ReadData"], "scorers read the departures"
    assert topics.outcomes not in by_action["kafka-cluster:WriteData"], "and write none"
    assert by_action["kafka-cluster:ReadData"].count(":topic/") == 3, "input, control and departures only"
    assert topics.model_control not in by_action["kafka-cluster:WriteData"], "only operators write it"
    assert f"/{topics.model_fleet}" in by_action["kafka-cluster:WriteData"], "each scorer says what it serves"
    assert f"/{topics.shadow_predictions}" in by_action["kafka-cluster:WriteData"]
    assert ":group/" in by_action["kafka-cluster:AlterGroup"] and f"/{group}" in by_action["kafka-cluster:AlterGroup"]
    assert f"/{group}-*" in by_action["kafka-cluster:AlterTransactionalId"]
    assert "models/*" in by_action["s3:GetObject"]


def test_autoscaling_on_lag_is_bounded_by_partitions(template: Template) -> None:
    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, TopicSettings().partitions)
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 2, "one to scale out, one to scale in"
    for alarm in alarms:
        properties = alarm["Properties"]
        assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Kafka", "SumOffsetLag")
        dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
        assert dimensions["Consumer Group"] == ScorerSettings().group_id
        assert dimensions["Topic"] == TopicSettings().input
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 2)


def test_github_deploys_through_oidc_limited_to_main(template: Template) -> None:
    only(template, "AWS::IAM::OIDCProvider")
    roles = [
        r["Properties"]
        for r in resources(template, "AWS::IAM::Role").values()
        if "sts:AssumeRoleWithWebIdentity" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert len(roles) == 1
    condition = roles[0]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    assert condition["StringLike"]["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/flightdelay:ref:refs/heads/main",
        "repo:acme/flightdelay:environment:production",
    ]
    workflows = (ROOT / ".github" / "workflows" / "cd.yml").read_text()
    assert "aws-access-key-id" not in workflows and "secrets.AWS" not in workflows


def test_outputs_are_the_variables_cd_reads(template: Template) -> None:
    outputs = {o["Description"] for o in template.find_outputs("*").values()}
    cd = (ROOT / ".github" / "workflows" / "cd.yml").read_text()
    used = set(re.findall(r"vars\.([A-Z_]+)", cd))
    assert used <= outputs, f"cd.yml reads variables the stack does not output: {used - outputs}"
    steps = [s for job in yaml.safe_load(cd)["jobs"].values() for s in job.get("steps", [])]
    render = next(s for s in steps if "render-task-definition" in s.get("uses", ""))
    assert render["with"]["container-name"] == CONTAINER_NAME


def test_cfn_lint_passes_on_the_synthesized_template(template: Template, tmp_path: Path) -> None:
    path = tmp_path / "FlightDelay.template.json"
    path.write_text(json.dumps(template.to_json(), indent=1))
    # W3005 (a DependsOn that a GetAtt already implies) is in CDK's own AwsCustomResource Lambda, not our code.
    result = run_tool("cfn-lint", "--ignore-checks", "W3005", "--", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_catch_a_broken_template(template: Template, tmp_path: Path) -> None:
    broken = template.to_json()
    service = next(k for k, v in broken["Resources"].items() if v["Type"] == "AWS::ECS::Service")
    broken["Resources"][service]["Properties"]["LaunchType"] = "FARGATE_TURBO"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    result = run_tool("cfn-lint", "--", str(path))
    assert result.returncode != 0 and "FARGATE_TURBO" in result.stdout


def test_task_environments_are_made_of_real_settings(template: Template) -> None:
    from tests.support.shipping import environment_variables

    for task in resources(template, "AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            names = {e["Name"] for e in container["Environment"]}
            assert names <= environment_variables(), names - environment_variables()


def by_action(statements: list[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for statement in statements:
        for action in _actions(statement):
            found[action] = found.get(action, "") + json.dumps(statement["Resource"])
    return found


def test_the_monitor_runs_with_its_health_check_and_its_own_role(template: Template) -> None:
    container = container_named(template, MONITOR_CONTAINER)
    assert container["HealthCheck"]["Command"] == ["CMD", "python", "-m", "monitor.healthcheck"]
    assert container["Command"] == ["flightdelay-monitor"]
    assert (container["User"], container["ReadonlyRootFilesystem"]) == ("10001", True)
    settings = MonitorSettings()
    assert container["PortMappings"][0]["ContainerPort"] == settings.http_port
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert (env["MONITOR_GROUP_ID"], env["MONITOR_AUTOPILOT"]) == (settings.group_id, "off"), "the autopilot opt-in"
    granted = by_action(statements_of(template, "MonitorTaskRole"))
    topics = TopicSettings()
    for name in (topics.predictions, topics.shadow_predictions, topics.outcomes, topics.input, topics.model_control):
        assert f"/{name}" in granted["kafka-cluster:ReadData"], name
    for name in (topics.joined, topics.model_metrics):
        assert f"/{name}" in granted["kafka-cluster:WriteData"], name
    assert topics.predictions not in granted["kafka-cluster:WriteData"], "it never writes what the scorers write"
    assert f"/{settings.group_id}" in granted["kafka-cluster:AlterGroup"]
    assert f"/{settings.group_id}-*" in granted["kafka-cluster:AlterTransactionalId"], "its own and -autopilot"
    assert "models/*" in granted["s3:GetObject"] and "s3:PutObject" not in granted
    assert "kafka-cluster:CreateTopic" not in granted and '"Resource": "*"' not in json.dumps(granted)


def control_topic_writers(template: Template) -> set[str]:
    """Logical ids of the roles whose policies allow WriteData on the model-control topic."""
    control = f"/{TopicSettings().model_control}"
    writers = set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "kafka-cluster:WriteData" in _actions(statement) and control in json.dumps(statement["Resource"]):
                writers |= {role["Ref"] for role in policy["Properties"]["Roles"]}
    return writers


@pytest.mark.parametrize("autopilot", ["off", "dry-run", "on"])
def test_only_the_promoting_roles_may_write_the_control_topic(autopilot: str) -> None:
    stack = build(App(context={"githubRepository": "acme/flightdelay", "monitorAutopilot": autopilot}))
    writers = control_topic_writers(Template.from_stack(stack))
    expected = control_writers(autopilot)
    assert {w.rstrip("0123456789ABCDEF") for w in writers} == set(expected), writers
    assert not any(w.startswith(("ScorerTaskRole", "DeployRole", "TopicsTaskRole")) for w in writers)
    assert len(expected) == (2 if autopilot == "on" else 1), "the monitor writes it only when its autopilot acts"


def test_the_promoter_role_reads_and_writes_the_control_topic_and_nothing_else_of_kafka(template: Template) -> None:
    granted = by_action(statements_of(template, "PromoterRole"))
    topics = TopicSettings()
    assert f"/{topics.model_control}" in granted["kafka-cluster:WriteData"]
    assert granted["kafka-cluster:WriteData"].count(":topic/") == 1, "one topic written"
    assert f"/{topics.model_metrics}" in granted["kafka-cluster:ReadData"], "training models reads the verdicts"
    assert "models/*" in granted["s3:PutObject"], "promote publishes a version before naming it"


def test_an_unknown_autopilot_mode_is_refused_at_synthesis() -> None:
    with pytest.raises(SystemExit, match="monitorAutopilot='yes': expected off, dry-run or on"):
        build(App(context={"monitorAutopilot": "yes"}))
