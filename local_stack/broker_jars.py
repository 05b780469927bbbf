"""The local broker's jars: a lock of coordinates and sha256 beside the broker POM, fetched without Maven.

Maven resolves `broker_files/broker-pom.xml` once, by a developer (`flightdelay-kafka lock`), into
`broker_files/broker-jars.lock`: the classpath in Maven's order, each jar with its sha256. At run time the jars
are fetched one by one from the lock (jgo's downloader knows the repository; its own resolver mediates versions
unlike Maven's and is not used) and checked against their sha256, so a machine with Python alone runs the
broker on exactly the bytes Maven chose. A test resolves the POM with Maven and holds the lock to it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

_BROKER_FILES = resources.files("local_stack") / "broker_files"
POM_NAME = "broker-pom.xml"
LOCK_NAME = "broker-jars.lock"
_COLUMNS = "group\tartifact\tversion\tsha256"


class BrokerJarsError(RuntimeError):
    """A locked jar could not be fetched or did not match its sha256; the message says which and why."""


@dataclass(frozen=True)
class LockedJar:
    """One jar of the broker's classpath, as Maven resolved it."""

    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    def path_in(self, repository: Path) -> Path:
        """Where Maven's local repository layout keeps it (so a Maven-filled cache serves too)."""
        return repository.joinpath(*self.group.split("."), self.artifact, self.version, self.file_name)

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"


def pom_bytes() -> bytes:
    return (_BROKER_FILES / POM_NAME).read_bytes()


def pom_sha256() -> str:
    return hashlib.sha256(pom_bytes()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def format_lock(jars: list[LockedJar], pom_digest: str) -> str:
    header = (
        f"# The local broker's classpath, in Maven's order, as Maven resolves {POM_NAME} (sha256 {pom_digest}).\n"
        "# Regenerate after changing the POM: flightdelay-kafka lock\n"
    )
    rows = "".join(f"{j.group}\t{j.artifact}\t{j.version}\t{j.sha256}\n" for j in jars)
    return f"{header}{_COLUMNS}\n{rows}"


def parse_lock(text: str) -> tuple[str, list[LockedJar]]:
    """The POM digest the lock was made from, and its jars."""
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if "(sha256 " not in first:
        raise BrokerJarsError(f"{LOCK_NAME} has no POM digest in its first line; regenerate: flightdelay-kafka lock")
    digest = first.split("(sha256 ", 1)[1].split(")", 1)[0]
    jars = []
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith("#") or line == _COLUMNS:
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise BrokerJarsError(f"{LOCK_NAME} line {number}: expected 4 tab-separated fields, got {line!r}")
        jars.append(LockedJar(*fields))
    return digest, jars


def locked_jars() -> list[LockedJar]:
    """The lock's jars; refused when the POM changed since the lock was made."""
    digest, jars = parse_lock((_BROKER_FILES / LOCK_NAME).read_text())
    if digest != pom_sha256():
        raise BrokerJarsError(f"{POM_NAME} changed since {LOCK_NAME} was made; regenerate: flightdelay-kafka lock")
    return jars


def classpath(repository: Path) -> list[str]:
    """The locked jars in `repository` (Maven's layout), fetching the missing ones; each checked by sha256."""
    jars = locked_jars()
    if any(not _matches(jar, jar.path_in(repository)) for jar in jars):
        with fetching(repository):
            # Asked again under the lock: a broker started beside this one may have fetched them meanwhile.
            missing = [jar for jar in jars if not _matches(jar, jar.path_in(repository))]
            if missing:
                log.warning(
                    "Fetching %d of the local broker's %d jars from Maven Central into %s (once)",
                    len(missing),
                    len(jars),
                    repository,
                )
                _fetch(missing, repository)
    return [str(jar.path_in(repository)) for jar in jars]


@contextmanager
def fetching(repository: Path) -> Iterator[None]:
    """One fetch into `repository` at a time, across processes (brokers started side by side, as the test
    suite's workers do on a cold cache): another's half-written jar would fail its sha256 and be removed."""
    repository.mkdir(parents=True, exist_ok=True)
    with (repository / ".fetch.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _matches(jar: LockedJar, path: Path) -> bool:
    return path.is_file() and file_sha256(path) == jar.sha256


def _fetch(jars: list[LockedJar], repository: Path) -> None:
    from jgo.maven import MavenContext  # imported here: only a cold cache needs it

    context = MavenContext(repo_cache=repository, local_repos=[], timeout=60)
    for done, jar in enumerate(jars, start=1):
        try:
            fetched = Path(context.project(jar.group, jar.artifact).at_version(jar.version).artifact().resolve())
        except Exception as error:  # the downloader raises several kinds; each is reported the same way
            raise BrokerJarsError(f"could not fetch {jar.coordinate}: {error}") from error
        if fetched != jar.path_in(repository):
            fetched.replace(jar.path_in(repository))
        if not _matches(jar, jar.path_in(repository)):
            actual = file_sha256(jar.path_in(repository))
            jar.path_in(repository).unlink()
            raise BrokerJarsError(f"{jar.coordinate}: sha256 {actual} is not the locked {jar.sha256}; file removed")
        if done % 20 == 0 or done == len(jars):
            log.warning("  %d/%d jars fetched", done, len(jars))


def resolve_with_maven(repository: Path) -> list[LockedJar]:
    """Maven's resolution of the POM (the reference the lock is made from and held to); needs `mvn`."""
    with tempfile.TemporaryDirectory(prefix="broker-pom-") as work:
        pom = Path(work) / POM_NAME
        pom.write_bytes(pom_bytes())
        listing = Path(work) / "classpath"
        command = [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            f"-Dmaven.repo.local={repository}",
            "dependency:build-classpath",
            f"-Dmdep.outputFile={listing}",
            "-Dmdep.includeScope=runtime",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not listing.exists():
            raise BrokerJarsError(
                f"Maven could not resolve {POM_NAME} (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}"
            )
        paths = [Path(p) for p in listing.read_text().strip().split(os.pathsep)]
    return [_jar_of(path, repository) for path in paths]


def _jar_of(path: Path, repository: Path) -> LockedJar:
    relative = path.relative_to(repository).parts
    group, artifact, version = ".".join(relative[:-3]), relative[-3], relative[-2]
    jar = LockedJar(group, artifact, version, file_sha256(path))
    if path.name != jar.file_name:
        raise BrokerJarsError(f"{path.name}: a classifier or another file name; the lock holds plain jars only")
    return jar


def write_lock(repository: Path) -> Path:
    """Resolve the POM with Maven and write the lock beside it (a developer's step, in the source tree)."""
    target = Path(str(_BROKER_FILES / LOCK_NAME))
    target.write_text(format_lock(resolve_with_maven(repository), pom_sha256()))
    return target
