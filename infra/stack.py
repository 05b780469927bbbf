"""The production stack: VPC, MSK Serverless (IAM auth, TLS), ECR, a model bucket, the scorer on ECS Fargate
with lag-based autoscaling, the monitor beside it (`infra.monitor_service`), the operators' promoter role, and
the GitHub OIDC role that cd.yml assumes.

Topic names, the group id and the partition count come from the project's own settings classes, so the
infrastructure cannot disagree with the code about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import (
    CfnOutput,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_msk as msk
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from consumer.settings import ScorerSettings
from infra.monitor_service import MonitorDeployment, add_monitor, add_promoter_role
from kafka_common.settings import TopicSettings

CONTAINER_NAME = "scorer"
HTTP_PORT = ScorerSettings().http_port
MSK_IAM_PORT = 9098
MODELS_PREFIX = "models/"
# Fargate allows at most 120 s; the scorer drains within SCORER_SHUTDOWN_TIMEOUT_S (8 s by default).
STOP_TIMEOUT_S = 60


@dataclass(frozen=True)
class ScorerDeployment:
    """What differs between deployments; everything else follows the project's settings."""

    image_tag: str = "latest"
    model_uri: str = ""  # empty: the bucket's models/ root (its `latest` pointer)
    github_repository: str = "owner/flightdelay"
    topics: TopicSettings = field(default_factory=TopicSettings)
    scorer: ScorerSettings = field(default_factory=ScorerSettings)
    cpu: int = 512
    memory_mib: int = 1024
    # Consumer lag (records) that adds or removes scorers; see docs/deploy.md.
    scale_out_lag: int = 5_000
    scale_in_lag: int = 500
    monitor: MonitorDeployment = field(default_factory=MonitorDeployment)


class FlightDelayStack(Stack):
    """Everything the streaming scorer needs in one account and region."""

    def __init__(self, scope: Construct, construct_id: str, deployment: ScorerDeployment, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.deployment = deployment
        topics, scorer = deployment.topics, deployment.scorer

        self._network()
        self._kafka()
        model_uri = self._images_and_models()
        self._scorer_service(topics, scorer, model_uri)
        self.topics_task = self._topics_task(topics)
        self.monitor_service = add_monitor(self, deployment.monitor, topics)
        self.promoter_role = add_promoter_role(self, topics)
        self._autoscale_on_lag(topics, scorer)
        self.deploy_role = self._github_deploy_role()
        self._outputs()

    def _network(self) -> None:
        """Two zones, public subnets for the NAT gateway, private ones for Kafka and the tasks."""
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
            ],
        )

    def _kafka(self) -> None:
        """MSK Serverless, IAM authentication over TLS (port 9098), reachable only from the scorers."""
        private = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.msk_port = MSK_IAM_PORT
        self.kafka_sg = ec2.SecurityGroup(self, "KafkaSg", vpc=self.vpc, description="MSK: IAM/TLS from the scorers")
        self.scorer_sg = ec2.SecurityGroup(self, "ScorerSg", vpc=self.vpc, description="scorer tasks")
        self.kafka_sg.add_ingress_rule(self.scorer_sg, ec2.Port.tcp(MSK_IAM_PORT), "Kafka IAM/TLS from the scorers")
        self.cluster_name = "flightdelay"
        self.kafka = msk.CfnServerlessCluster(
            self,
            "Kafka",
            cluster_name=self.cluster_name,
            client_authentication=msk.CfnServerlessCluster.ClientAuthenticationProperty(
                sasl=msk.CfnServerlessCluster.SaslProperty(iam=msk.CfnServerlessCluster.IamProperty(enabled=True))
            ),
            vpc_configs=[
                msk.CfnServerlessCluster.VpcConfigProperty(
                    subnet_ids=private.subnet_ids, security_groups=[self.kafka_sg.security_group_id]
                )
            ],
        )
        bootstrap = cr.AwsCustomResource(
            self,
            "KafkaBootstrap",
            on_update=cr.AwsSdkCall(
                service="Kafka",
                action="getBootstrapBrokers",
                parameters={"ClusterArn": self.kafka.attr_arn},
                physical_resource_id=cr.PhysicalResourceId.of(self.kafka.attr_arn),
                output_paths=["BootstrapBrokerStringSaslIam"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[self.kafka.attr_arn]),
            install_latest_aws_sdk=False,
        )
        self.bootstrap_servers = bootstrap.get_response_field("BootstrapBrokerStringSaslIam")

    def _images_and_models(self) -> str:
        """The image repository and the models bucket; the URI the scorers load their model from."""
        self.repository = ecr.Repository(
            self,
            "Images",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,  # a tag is a git sha: it never moves
            lifecycle_rules=[ecr.LifecycleRule(max_image_count=50)],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.models = s3.Bucket(
            self,
            "Models",
            versioned=True,  # an overwritten or deleted model can be restored
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(365))],
        )
        return self.deployment.model_uri or f"s3://{self.models.bucket_name}/{MODELS_PREFIX}"

    def _scorer_service(self, topics: TopicSettings, scorer: ScorerSettings, model_uri: str) -> None:
        """The scorers' cluster, role, task definition and service (tasks added by the lag's scaling)."""
        deployment = self.deployment
        self.ecs_cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.task_role = iam.Role(
            self, "ScorerTaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"), description="scorer"
        )
        self._grant_scorer_access(self.task_role, topics, scorer)
        self.task = ecs.FargateTaskDefinition(
            self,
            "ScorerTask",
            family="flightdelay-scorer",
            cpu=deployment.cpu,
            memory_limit_mib=deployment.memory_mib,
            task_role=self.task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.task.add_volume(name="tmp")  # the only writable path: the model is downloaded there
        self.log_group = logs.LogGroup(
            self, "ScorerLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        container = self.task.add_container(
            CONTAINER_NAME,
            container_name=CONTAINER_NAME,
            image=ecs.ContainerImage.from_ecr_repository(self.repository, deployment.image_tag),
            command=["flightdelay-scorer"],
            user="10001",
            readonly_root_filesystem=True,
            environment={
                **self.kafka_environment(topics),
                "MODEL_URI": model_uri,
                "SCORER_GROUP_ID": scorer.group_id,
                "SCORER_PROCESSING_GUARANTEE": "exactly_once",
                "SCORER_HTTP_PORT": str(HTTP_PORT),
                "SCORER_SHUTDOWN_TIMEOUT_S": str(scorer.shutdown_timeout_s),
            },
            port_mappings=[ecs.PortMapping(container_port=HTTP_PORT)],
            health_check=ecs.HealthCheck(
                command=["CMD", "python", "-m", "consumer.healthcheck"],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
            stop_timeout=Duration.seconds(STOP_TIMEOUT_S),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="scorer", log_group=self.log_group),
        )
        container.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False))  # noqa: S108
        self.service = ecs.FargateService(
            self,
            "Scorer",
            cluster=self.ecs_cluster,
            task_definition=self.task,
            desired_count=1,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            security_groups=[self.scorer_sg],
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
        )

    def kafka_environment(self, topics: TopicSettings) -> dict[str, str]:
        """MSK over IAM/TLS and the topic layout (replication 3: MSK Serverless' only choice)."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "OAUTHBEARER",
            "KAFKA_AWS_REGION": self.region,
            **topics.environment(),
            "TOPIC_PARTITIONS": str(topics.partitions),
            "TOPIC_REPLICATION_FACTOR": "3",
        }

    # --- least privilege for the scorer ------------------------------------------------------------------------
    def kafka_arn(self, kind: str, name: str) -> str:
        """`arn:...:cluster/<name>/<uuid>` -> `arn:...:<kind>/<name>/<uuid>/<name of the topic or group>`."""
        parts = Fn.split(":cluster/", self.kafka.attr_arn)
        return Fn.join("", [Fn.select(0, parts), f":{kind}/", Fn.select(1, parts), f"/{name}"])

    def _grant_scorer_access(self, role: iam.Role, topics: TopicSettings, scorer: ScorerSettings) -> None:
        statements = [
            (
                ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"],
                [self.kafka.attr_arn],
            ),
            (
                ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                # the departures: every scorer holds them whole for the stream features
                [self.kafka_arn("topic", name) for name in (topics.input, topics.model_control, topics.outcomes)],
            ),
            (
                ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
                [
                    self.kafka_arn("topic", name)
                    for name in (topics.predictions, topics.dead_letter, topics.shadow_predictions, topics.model_fleet)
                ],
            ),
            (["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], [self.kafka_arn("group", scorer.group_id)]),
            (
                ["kafka-cluster:DescribeTransactionalId", "kafka-cluster:AlterTransactionalId"],
                [self.kafka_arn("transactional-id", f"{scorer.group_id}-*")],
            ),
        ]
        for actions, resources in statements:
            role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
        self.grant_model_reads(role)

    def grant_model_reads(self, role: iam.Role) -> None:
        """Fetch models; listing lets a missing object read as 404 (not 403), so "no model there" is reported
        as such."""
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.models.arn_for_objects(f"{MODELS_PREFIX}*")])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.models.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{MODELS_PREFIX}*"]}},
            )
        )

    def _topics_task(self, topics: TopicSettings) -> ecs.FargateTaskDefinition:
        """A one-shot task (`flightdelay-kafka topics`) with the only role allowed to create the topics."""
        role = iam.Role(self, "TopicsTaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], resources=[self.kafka.attr_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "kafka-cluster:CreateTopic",
                    "kafka-cluster:DescribeTopic",
                    "kafka-cluster:DescribeTopicDynamicConfiguration",
                ],
                resources=[self.kafka_arn("topic", name) for name in topics.names()],
            )
        )
        task = ecs.FargateTaskDefinition(
            self, "TopicsTask", family="flightdelay-topics", cpu=256, memory_limit_mib=512, task_role=role
        )
        task.add_container(
            "topics",
            image=ecs.ContainerImage.from_ecr_repository(self.repository, self.deployment.image_tag),
            command=["flightdelay-kafka", "topics"],
            user="10001",
            readonly_root_filesystem=True,
            environment=self.kafka_environment(topics),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="topics", log_group=self.log_group),
        )
        return task

    # --- autoscaling on consumer lag, bounded by the input topic's partitions -----------------------------------
    def _autoscale_on_lag(self, topics: TopicSettings, scorer: ScorerSettings) -> None:
        lag = cloudwatch.Metric(
            namespace="AWS/Kafka",
            metric_name="SumOffsetLag",
            dimensions_map={
                "Cluster Name": self.cluster_name,
                "Consumer Group": scorer.group_id,
                "Topic": topics.input,
            },
            statistic="Maximum",
            period=Duration.minutes(1),
        )
        scaling = self.service.auto_scale_task_count(min_capacity=1, max_capacity=topics.partitions)
        scaling.scale_on_metric(
            "ScaleOnLag",
            metric=lag,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            scaling_steps=[
                appscaling.ScalingInterval(upper=self.deployment.scale_in_lag, change=-1),
                appscaling.ScalingInterval(lower=self.deployment.scale_out_lag, change=+1),
                appscaling.ScalingInterval(lower=self.deployment.scale_out_lag * 10, change=+3),
            ],
            cooldown=Duration.minutes(2),
            evaluation_periods=2,
        )

    # --- the role cd.yml assumes through GitHub's OIDC provider (no long-lived keys) ---------------------------
    def _github_deploy_role(self) -> iam.Role:
        provider = iam.OidcProviderNative(  # a native AWS::IAM::OIDCProvider, no custom-resource Lambda
            self,
            "GitHubOidc",
            url="https://token.actions.githubusercontent.com",
            client_ids=["sts.amazonaws.com"],
        )
        repository = self.deployment.github_repository
        role = iam.Role(
            self,
            "DeployRole",
            assumed_by=iam.WebIdentityPrincipal(
                provider.oidc_provider_arn,
                conditions={
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {
                        "token.actions.githubusercontent.com:sub": [
                            f"repo:{repository}:ref:refs/heads/main",
                            f"repo:{repository}:environment:production",
                        ]
                    },
                },
            ),
            max_session_duration=Duration.hours(1),
            description="GitHub Actions cd.yml: push images, publish models, roll the scorer service",
        )
        self.repository.grant_pull_push(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"], resources=[self.models.arn_for_objects(f"{MODELS_PREFIX}*")]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.models.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{MODELS_PREFIX}*"]}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], resources=["*"]
            )  # these two actions support no resource-level permissions
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecs:UpdateService", "ecs:DescribeServices"], resources=[self.service.service_arn]
            )
        )
        passed = [self.task_role.role_arn]
        if self.task.execution_role is not None:
            passed.append(self.task.execution_role.role_arn)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=passed,
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        return role

    def _outputs(self) -> None:
        """The values cd.yml reads as repository variables (same names)."""
        values = {
            "AWS_REGION": self.region,
            "AWS_DEPLOY_ROLE_ARN": self.deploy_role.role_arn,
            "ECR_REPOSITORY": self.repository.repository_name,
            "MODEL_BUCKET": self.models.bucket_name,
            "ECS_CLUSTER": self.ecs_cluster.cluster_name,
            "ECS_SERVICE": self.service.service_name,
            "ECS_TASK_FAMILY": self.task.family,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
        }
        for name, value in values.items():
            CfnOutput(self, name.replace("_", ""), key=name.replace("_", ""), value=value, description=name)
