"""The monitor on ECS Fargate and the one operator role that promotes: whoever writes the model-control topic
chooses the code the scorers load, so that write is granted to the promoter role, and to the monitor only when
its autopilot is on; the scorers may only read it.

The monitor runs as one task in its own consumer group (a second would share the partitions, range-assigned),
with its own role: it reads what it joins and the control topic, writes the joined predictions and the
figures, and reads the models' manifests for their reference profiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from kafka_common.settings import TopicSettings
from monitor.settings import MonitorSettings

if TYPE_CHECKING:
    from infra.stack import FlightDelayStack

MONITOR_CONTAINER = "monitor"
MONITOR_STOP_TIMEOUT_S = 60  # the monitor drains within MONITOR_SHUTDOWN_TIMEOUT_S (8 s by default)


@dataclass(frozen=True)
class MonitorDeployment:
    autopilot: Literal["off", "dry-run", "on"] = "off"
    settings: MonitorSettings = field(default_factory=MonitorSettings)
    cpu: int = 512
    memory_mib: int = 2048  # the join state: a day or two of predictions and outcomes


def control_writers(autopilot: str) -> tuple[str, ...]:
    """The roles that may write the model-control topic (logical id prefixes): the rule the tests hold."""
    return ("PromoterRole", "MonitorTaskRole") if autopilot == "on" else ("PromoterRole",)


def add_monitor(stack: FlightDelayStack, deployment: MonitorDeployment, topics: TopicSettings) -> ecs.FargateService:
    settings = deployment.settings
    role = iam.Role(
        stack, "MonitorTaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"), description="monitor"
    )
    reads = [topics.predictions, topics.shadow_predictions, topics.outcomes, topics.input, topics.model_control]
    writes = [topics.joined, topics.model_metrics]
    if "MonitorTaskRole" in control_writers(deployment.autopilot):
        writes.append(topics.model_control)
    statements = [
        (
            ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"],
            [stack.kafka.attr_arn],
        ),
        (["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], [stack.kafka_arn("topic", n) for n in reads]),
        (["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], [stack.kafka_arn("topic", n) for n in writes]),
        (["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], [stack.kafka_arn("group", settings.group_id)]),
        (
            ["kafka-cluster:DescribeTransactionalId", "kafka-cluster:AlterTransactionalId"],
            [stack.kafka_arn("transactional-id", f"{settings.group_id}-*")],  # its own, and `-autopilot`
        ),
    ]
    for actions, resources in statements:
        role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
    stack.grant_model_reads(role)

    task = ecs.FargateTaskDefinition(
        stack,
        "MonitorTask",
        family="flightdelay-monitor",
        cpu=deployment.cpu,
        memory_limit_mib=deployment.memory_mib,
        task_role=role,
    )
    task.add_volume(name="tmp")  # models' manifests are fetched there
    container = task.add_container(
        MONITOR_CONTAINER,
        container_name=MONITOR_CONTAINER,
        image=ecs.ContainerImage.from_ecr_repository(stack.repository, stack.deployment.image_tag),
        command=["flightdelay-monitor"],
        user="10001",
        readonly_root_filesystem=True,
        environment={
            **stack.kafka_environment(topics),
            "MONITOR_GROUP_ID": settings.group_id,
            "MONITOR_HTTP_PORT": str(settings.http_port),
            "MONITOR_AUTOPILOT": deployment.autopilot,
            "MONITOR_SHUTDOWN_TIMEOUT_S": str(settings.shutdown_timeout_s),
        },
        port_mappings=[ecs.PortMapping(container_port=settings.http_port)],
        health_check=ecs.HealthCheck(
            command=["CMD", "python", "-m", "monitor.healthcheck"],
            interval=Duration.seconds(15),
            timeout=Duration.seconds(5),
            retries=3,
            start_period=Duration.seconds(120),  # the join state is rebuilt from the topics before it is ready
        ),
        stop_timeout=Duration.seconds(MONITOR_STOP_TIMEOUT_S),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="monitor", log_group=stack.log_group),
    )
    container.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False))  # noqa: S108
    security_group = ec2.SecurityGroup(stack, "MonitorSg", vpc=stack.vpc, description="monitor task")
    stack.kafka_sg.add_ingress_rule(security_group, ec2.Port.tcp(stack.msk_port), "Kafka IAM/TLS from the monitor")
    return ecs.FargateService(
        stack,
        "Monitor",
        cluster=stack.ecs_cluster,
        task_definition=task,
        desired_count=1,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        assign_public_ip=False,
        security_groups=[security_group],
        circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        min_healthy_percent=100,
        max_healthy_percent=200,  # the new task fences the old one's transactional ids as it starts
    )


def add_promoter_role(stack: FlightDelayStack, topics: TopicSettings) -> iam.Role:
    """The role an operator assumes (from inside the VPC) to run `training promote`, `rollback` and
    `clear-challenger`: read and write the control topic, publish and read models. Nothing else writes it."""
    role = iam.Role(
        stack,
        "PromoterRole",
        assumed_by=iam.AccountRootPrincipal(),  # the account's administrators decide who may assume it
        max_session_duration=Duration.hours(1),
        description="training promote / rollback: the only person-held role that writes the model-control topic",
    )
    control = stack.kafka_arn("topic", topics.model_control)
    for actions, resources in (
        (
            ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"],
            [stack.kafka.attr_arn],
        ),
        (["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData", "kafka-cluster:WriteData"], [control]),
        (
            ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
            # `training models` shows the fleet and the gate's verdicts
            [stack.kafka_arn("topic", name) for name in (topics.model_metrics, topics.model_fleet)],
        ),
        (["s3:PutObject"], [stack.models.arn_for_objects("models/*")]),
    ):
        role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
    stack.grant_model_reads(role)
    return role
