"""Session-wide real Kafka broker: configured, Docker (testcontainers) or a local JVM, in that order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_common.settings import TopicSettings
from kafka_common.topics import ensure_topics, topic_specs, wait_for_topics
from local_stack.provider import BrokerEndpoint, kafka_broker
from tests.support.dataset import DATASET
from tests.support.kafka import MakeTopic
from tests.support.shared_session import made_once
from training.artifact import LoadedModel, load_artifact
from training.lookup import ServingModel, load_serving_model
from training.train import TrainingRun, train


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long_wait` come first (otherwise in collection order): a worker given one late would sleep
    through its minutes after the others had finished."""
    items.sort(key=lambda item: item.get_closest_marker("long_wait") is None)


@pytest.fixture(autouse=True)
def narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test, and every command it runs, sees a 40-column `COLUMNS`: CI has none (rich then takes 80) and a
    shell has its own, so a line a test reads must not depend on it."""
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture(scope="session")
def kafka() -> Iterator[BrokerEndpoint]:
    with kafka_broker() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def bootstrap(kafka: BrokerEndpoint) -> str:
    return kafka.bootstrap_servers


@pytest.fixture(scope="session")
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def make_topic(admin: AdminClient) -> Iterator[MakeTopic]:
    """Create uniquely named topics for one test and delete them afterwards."""
    created: list[str] = []

    def make(prefix: str = "t", partitions: int = 6) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result()
        created.append(name)
        wait_for_topics(admin, [name])
        return name

    yield make
    if created:
        for future in admin.delete_topics(created).values():
            future.result()


@pytest.fixture(scope="session")
def training_run(tmp_path_factory: pytest.TempPathFactory) -> TrainingRun:
    """One real training run on the real dataset, shared by every test that needs a model."""
    if not DATASET.is_file():
        pytest.fail(f"{DATASET} is missing: run `python3 data/fetch_dataset.py` (make test does)")
    return made_once(tmp_path_factory, "models", lambda folder: train(DATASET, folder, version="test-run"))


@pytest.fixture(scope="session")
def stream_training_run(tmp_path_factory: pytest.TempPathFactory) -> TrainingRun:
    """A real training run with the stream features, each event known `DEFAULT_LEAD_MINUTES` ahead."""
    from training.stream_backfill import DEFAULT_LEAD_MINUTES

    return made_once(
        tmp_path_factory,
        "stream-models",
        lambda folder: train(DATASET, folder, version="stream-run", lead_minutes=DEFAULT_LEAD_MINUTES),
    )


@pytest.fixture(scope="session")
def stream_serving_model(stream_training_run: TrainingRun) -> ServingModel:
    """The stream-feature version as a scorer serves it."""
    return load_serving_model(stream_training_run.directory)


@pytest.fixture(scope="session")
def run_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make run`'s two versions, trained by the run's own code on the flights before the ones it replays."""
    from rich.console import Console

    from producer.demo_models import demo_versions

    def make(folder: Path) -> Path:
        demo_versions(DATASET, folder, Console(quiet=True))
        return folder

    return made_once(tmp_path_factory, "run-models", make)


@pytest.fixture(scope="session")
def model_dir(training_run: TrainingRun) -> Path:
    return training_run.directory


@pytest.fixture(scope="session")
def model(model_dir: Path) -> LoadedModel:
    """The pickled pipeline: the reference the scorer is held to."""
    return load_artifact(model_dir)


@pytest.fixture(scope="session")
def serving_model(model_dir: Path) -> ServingModel:
    """The same version as the scorer serves it: lookup tables, no pickle."""
    return load_serving_model(model_dir)


@pytest.fixture
def stream_topics(admin: AdminClient) -> Iterator[TopicSettings]:
    """Fresh topics for one test: input, predictions, dead letters, shadow (6 partitions) and model control."""
    suffix = uuid.uuid4().hex[:8]
    topics = TopicSettings.unique(suffix)
    ensure_topics(admin, topic_specs(topics))
    yield topics
    for future in admin.delete_topics(topics.names()).values():
        future.result()
