"""Session fixtures of the docker tests: an engine that answers and the images the build step left in it.

The images are built before the tests (`python -m tests.support.docker_images`, the first step of `make docker-test`):
a cold build takes minutes, longer than one test's time-out, so it has limits and progress of its own."""

from __future__ import annotations

import pytest

from tests.support.docker_images import PROJECT_IMAGE, StandIns, missing_images
from tests.support.docker_stack import docker


@pytest.fixture(scope="session")
def standins() -> StandIns:
    if docker("info", check=False).returncode != 0:
        pytest.fail("no Docker engine answers: `make docker-test` installs and starts one")
    missing = missing_images()
    if missing:
        pytest.fail(
            f"not built: {', '.join(missing)}: run `make docker-test` (or `python -m tests.support.docker_images`)"
        )
    return StandIns()


@pytest.fixture(scope="session")
def project_image(standins: StandIns) -> str:
    return PROJECT_IMAGE
