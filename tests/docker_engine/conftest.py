"""Session fixtures of the docker tests: an engine that answers, the stand-in base images, the project's image."""

from __future__ import annotations

import pytest

from tests.docker_images import StandIns, ensure_standins
from tests.docker_stack import build_project_image, docker

PROJECT_IMAGE = "flightdelay:test"  # not the stack's default tag, so a user's own build is left alone


@pytest.fixture(scope="session")
def standins() -> StandIns:
    if docker("info", check=False).returncode != 0:
        pytest.fail("no Docker engine answers: `make docker-test` installs and starts one")
    return ensure_standins()


@pytest.fixture(scope="session")
def project_image(standins: StandIns) -> str:
    build_project_image(PROJECT_IMAGE, standins)
    return PROJECT_IMAGE
