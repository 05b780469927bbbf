"""Base images for the docker tests, built here because no image registry can be reached.

A Debian bookworm root filesystem from Debian's packages (`debootstrap`, then `docker import`) carries three
stand-ins: Python 3.11 for the Dockerfile's `PYTHON_IMAGE`, the host's Rust toolchain for `RUST_IMAGE`,
Apache Kafka from the same Maven Central artifacts the local broker runs for `KAFKA_IMAGE`, and the Prometheus
server `make tools` builds for `PROMETHEUS_IMAGE`. Each is saved as a
tar under the project's cache directory, keyed by what it is built from, so only the first run pays for it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from local_stack.broker import default_cache_dir, resolve_classpath

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "containers" / "standins"
BROKER_FILES = ROOT / "local_stack" / "broker_files"  # the local broker's POM and log configuration
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
KEY_LABEL = "flightdelay.standin.key"
LOCAL_CAS = Path("/usr/local/share/ca-certificates")

BASE_IMAGE = "flightdelay-standin/debian:bookworm"
PYTHON_IMAGE = "flightdelay-standin/python:3.11-bookworm"
RUST_IMAGE = "flightdelay-standin/rust:1.95.0-bookworm"
KAFKA_IMAGE = "flightdelay-standin/kafka:4.1.1"
PROMETHEUS_IMAGE = "flightdelay-standin/prometheus:local"  # the .venv build of the Makefile's pinned release
PROJECT_IMAGE = "flightdelay:test"  # not the stack's default tag, so a user's own build is left alone
STEP_LIMIT_S = 1_800  # one build step; a cold one takes up to about 5 min on 2 cores (the image's Rust stage)
HEARTBEAT_S = 30  # how often a long step says it is still working
RUST_RELEASE = "1.95.0"  # the Dockerfile's rust:1.95.0 pin; a host on another release cannot stand in for it


class StandInError(RuntimeError):
    """A stand-in image could not be built; the message says which step failed and its output."""


@dataclass(frozen=True)
class StandIns:
    """The substitutions the docker tests pass to `docker build` and `docker compose` as variables."""

    python: str = PYTHON_IMAGE
    rust: str = RUST_IMAGE
    kafka: str = KAFKA_IMAGE
    prometheus: str = PROMETHEUS_IMAGE

    def environment(self) -> dict[str, str]:
        return {
            "PYTHON_IMAGE": self.python,
            "RUST_IMAGE": self.rust,
            "KAFKA_IMAGE": self.kafka,
            "PROMETHEUS_IMAGE": self.prometheus,
        }


def run(
    command: list[str], what: str, limit_s: float = STEP_LIMIT_S, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run one build step within its own limit, saying every so often that it is still working (with the last line
    it printed); on failure raise with its last output, so a broken build says why."""
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True, **kwargs)  # type: ignore[call-overload]
        while not finished(process):
            elapsed = time.monotonic() - started
            if elapsed > limit_s:
                process.kill()
                process.wait()
                raise StandInError(f"{what} did not finish within {limit_s:.0f} s\n{tail(output)}")
            say(f"  {what}: still working after {elapsed:.0f} s ({last_line(output)})")
        if process.returncode != 0:
            raise StandInError(f"{what} failed (exit {process.returncode}): {' '.join(command)}\n{tail(output)}")
        output.seek(0)
        return subprocess.CompletedProcess(command, process.returncode, output.read(), "")


def finished(process: subprocess.Popen[str]) -> bool:
    try:
        process.wait(timeout=HEARTBEAT_S)
    except subprocess.TimeoutExpired:
        return False
    return True


def tail(output: IO[str]) -> str:
    output.seek(0)
    return output.read()[-4000:]


def last_line(output: IO[str]) -> str:
    """The last non-empty line a running step wrote, shortened: enough to see which stage it is in."""
    output.flush()
    output.seek(0)
    lines = [line.strip() for line in output.read().splitlines() if line.strip()]
    output.seek(0, os.SEEK_END)
    return lines[-1][:100] if lines else "no output yet"


def docker_build(tag: str, context: Path, dockerfile: Path, key: str, build_args: dict[str, str]) -> None:
    """The engine's own (classic) builder: it resolves FROM against local images only and needs no frontend
    image from a registry."""
    args = [f"--build-arg={name}={value}" for name, value in build_args.items()]
    command = ["docker", "build", "-t", tag, "-f", str(dockerfile), f"--label={KEY_LABEL}={key}", *args, str(context)]
    run(command, f"building {tag}", env={**os.environ, "DOCKER_BUILDKIT": "0"})


def image_key(image: str) -> str | None:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{KEY_LABEL}"}}}}', image],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def digest(*parts: str | bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()[:16]


def ensure(image: str, key: str, build: Callable[[str], None], cache_dir: Path) -> None:
    """Present with this key already, else loaded from the cached tar, else built and saved."""
    if image_key(image) == key:
        say(f"{image}: present")
        return
    tar = cache_dir / "docker" / f"{image.replace('/', '_').replace(':', '_')}-{key}.tar"
    started = time.monotonic()
    if tar.is_file():
        run(["docker", "load", "-i", str(tar)], f"loading {image}")
        if image_key(image) == key:
            say(f"{image}: loaded from {tar} in {time.monotonic() - started:.0f} s")
            return
    say(f"{image}: building (once; saved to {tar})")
    build(key)
    tar.parent.mkdir(parents=True, exist_ok=True)
    for stale in tar.parent.glob(f"{tar.name.rsplit('-', 1)[0]}-*.tar"):
        stale.unlink()
    partial = tar.with_suffix(".partial")
    run(["docker", "save", "-o", str(partial), image], f"saving {image}")
    partial.rename(tar)
    say(f"{image}: built and saved in {time.monotonic() - started:.0f} s")


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def build_base(key: str) -> None:
    if shutil.which("debootstrap") is None:
        raise StandInError("debootstrap is not installed (Debian: apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="bookworm-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR], "debootstrap bookworm")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(
            ["docker", "import", "--change", f"LABEL {KEY_LABEL}={key}", "--change", 'CMD ["bash"]', "-", BASE_IMAGE],
            "docker import of the bookworm root filesystem",
            stdin=tar.stdout,
        )
        if tar.wait() != 0:
            raise StandInError("tar of the bookworm root filesystem failed")


def rust_toolchain() -> Path:
    """The host's toolchain directory of the pinned release (rustup's layout), or a clear error."""
    rustc = shutil.which("rustc")
    if rustc is None:
        raise StandInError("rustc is not on PATH: the Rust stand-in copies the host's toolchain")
    version = run([rustc, "--version"], "rustc --version").stdout.split()[1]
    if version != RUST_RELEASE:
        raise StandInError(f"the host's rustc is {version}; the Dockerfile pins {RUST_RELEASE}")
    sysroot = run([rustc, "--print", "sysroot"], "rustc --print sysroot").stdout.strip()
    return Path(sysroot)


def copy_local_cas(context: Path) -> None:
    """The certificate authorities this host added to its trust store (a TLS-inspecting egress proxy's, say)."""
    target = context / "local-ca"
    target.mkdir()
    if LOCAL_CAS.is_dir():
        for cert in LOCAL_CAS.rglob("*.crt"):
            shutil.copy(cert, target / cert.name)


def build_rust(key: str) -> None:
    toolchain = rust_toolchain()
    with tempfile.TemporaryDirectory(prefix="rust-standin-") as tmp:
        context = Path(tmp)
        copy_local_cas(context)
        # bin and lib are the compiler and the standard library; share (docs) and rust-src are not needed to build.
        shutil.copytree(toolchain / "bin", context / "toolchain" / "bin")
        shutil.copytree(toolchain / "lib", context / "toolchain" / "lib", ignore=shutil.ignore_patterns("src"))
        docker_build(RUST_IMAGE, context, STANDINS / "rust.Dockerfile", key, {"BASE_IMAGE": BASE_IMAGE})


def build_python(key: str) -> None:
    with tempfile.TemporaryDirectory(prefix="python-standin-") as tmp:
        copy_local_cas(Path(tmp))
        docker_build(PYTHON_IMAGE, Path(tmp), STANDINS / "python.Dockerfile", key, {"BASE_IMAGE": BASE_IMAGE})


def build_kafka(key: str, cache_dir: Path) -> None:
    """The local broker's own jars (`resolve_classpath`, one POM for both) and its log configuration."""
    with tempfile.TemporaryDirectory(prefix="kafka-standin-") as tmp:
        context = Path(tmp)
        shutil.copytree(STANDINS / "kafka", context, dirs_exist_ok=True)
        (context / "libs").mkdir()
        for jar in resolve_classpath(cache_dir):
            shutil.copy(jar, context / "libs")
        shutil.copy(BROKER_FILES / "log4j2.properties", context / "log4j2.properties")
        docker_build(KAFKA_IMAGE, context, context / "Dockerfile", key, {"BASE_IMAGE": BASE_IMAGE})


def prometheus_binary() -> Path:
    """The server `make tools` built into the virtualenv, or a clear error."""
    binary = Path(sys.executable).parent / "prometheus"
    if not binary.is_file():
        raise StandInError(f"{binary} is missing: `make tools` builds it (`make docker-test` does)")
    return binary


def build_prometheus(key: str) -> None:
    with tempfile.TemporaryDirectory(prefix="prometheus-standin-") as tmp:
        shutil.copy(prometheus_binary(), Path(tmp) / "prometheus")
        docker_build(PROMETHEUS_IMAGE, Path(tmp), STANDINS / "prometheus.Dockerfile", key, {"BASE_IMAGE": BASE_IMAGE})


def files_digest(folder: Path) -> bytes:
    return b"".join(
        p.relative_to(folder).as_posix().encode() + p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    )


def standin_keys() -> dict[str, str]:
    """Each stand-in's key: a digest of everything it is built from."""
    base_key = digest("debootstrap --variant=minbase bookworm", DEBIAN_MIRROR)
    cas = files_digest(LOCAL_CAS) if LOCAL_CAS.is_dir() else b""
    return {
        BASE_IMAGE: base_key,
        PYTHON_IMAGE: digest(base_key, (STANDINS / "python.Dockerfile").read_bytes(), cas),
        RUST_IMAGE: digest(
            base_key, (STANDINS / "rust.Dockerfile").read_bytes(), cas, str(rust_toolchain()), RUST_RELEASE
        ),
        KAFKA_IMAGE: digest(base_key, files_digest(STANDINS / "kafka"), files_digest(BROKER_FILES)),
        PROMETHEUS_IMAGE: digest(
            base_key, (STANDINS / "prometheus.Dockerfile").read_bytes(), prometheus_binary().read_bytes()
        ),
    }


def ensure_standins(cache_dir: Path | None = None) -> StandIns:
    """Every stand-in present in the engine, each rebuilt only when what it is built from changed."""
    cache = cache_dir or default_cache_dir()
    keys = standin_keys()
    ensure(BASE_IMAGE, keys[BASE_IMAGE], build_base, cache)
    ensure(PYTHON_IMAGE, keys[PYTHON_IMAGE], build_python, cache)
    ensure(RUST_IMAGE, keys[RUST_IMAGE], build_rust, cache)
    ensure(KAFKA_IMAGE, keys[KAFKA_IMAGE], lambda key: build_kafka(key, cache), cache)
    ensure(PROMETHEUS_IMAGE, keys[PROMETHEUS_IMAGE], build_prometheus, cache)
    return StandIns()


def build_project_image(tag: str, standins: StandIns) -> None:
    """The project's image as users build it, `docker compose build` (BuildKit), from the stand-in bases."""
    started = time.monotonic()
    say(f"{tag}: docker compose build (cached layers make it quick after the first time)")
    env = {**os.environ, **standins.environment(), "FLIGHTDELAY_IMAGE": tag, "COMPOSE_PROJECT_NAME": "fdtestbuild"}
    run(["docker", "compose", "--progress", "plain", "build", "consumer"], f"building {tag}", cwd=ROOT, env=env)
    say(f"{tag}: built in {time.monotonic() - started:.0f} s")


def missing_images() -> list[str]:
    """What the docker tests need and the build step has not left in the engine, in words."""
    missing = [f"{image} (key {key})" for image, key in standin_keys().items() if image_key(image) != key]
    if image_key(PROJECT_IMAGE) is None:
        missing.append(PROJECT_IMAGE)
    return missing


def main() -> None:
    """The build step of `make docker-test`, before the tests: every image the tests run, each step with its own
    limit and progress, outside the tests' own time-out."""
    started = time.monotonic()
    build_project_image(PROJECT_IMAGE, ensure_standins())
    say(f"docker test images ready in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except StandInError as exc:
        say(f"building the docker test images failed: {exc}")
        raise SystemExit(1) from None
