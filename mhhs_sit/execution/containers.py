"""The simulator in a container (``stubs: container``), started and stopped through testcontainers.

No image registry is assumed: the image is built from ``stubs/Dockerfile`` on a base made from
Debian's packages (``.ci/docker-base``), with this project's wheels built on the host and
installed offline. Wheels and image are cached by content hash, so only a change to the source,
the dependencies or the base image builds anything. The container uses host networking and
binds 127.0.0.1 only; its config (with the run's credentials) is mounted read-only from a
per-run 0600 file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from mhhs_sit.errors import EnvironmentBroken
from mhhs_stubs.config import CONTROL_HEADER, SimulatorConfig
from mhhs_stubs.config_file import READY, write_config

if TYPE_CHECKING:
    from docker.errors import BuildError
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.docker_client import DockerClient

log = logging.getLogger(__name__)

BASE_IMAGE = "local/debian-python:bookworm"
IMAGE_REPO = "mhhs-sit/simulator"
LABEL = "mhhs-sit.simulator"  # on every image and container we make, with the owner's pid on containers
EMBEDDED_HINT = "use the embedded simulator instead: --env local (pytest --mhhs-env local)"
CONTAINER_PYTHON = "3.11"  # Debian bookworm's python3, what the image installs wheels into
SOURCES = ("pyproject.toml", "README.md", "mhhs_sit", "stubs")


class NoDockerEngine(EnvironmentBroken):
    """No Docker engine answered; the message says where it was looked for."""


class PortTaken(EnvironmentBroken):
    """The simulator's port was taken between choosing it and binding it."""


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mhhs-sit" / "containers"


def project_root() -> Path:
    """The source tree the image is built from (an editable install or a checkout)."""
    root = Path(__file__).resolve().parents[2]  # mhhs_sit/execution/containers.py
    if not (root / "pyproject.toml").is_file() or not (root / "stubs" / "Dockerfile").is_file():
        raise EnvironmentBroken(
            f"stubs: container builds the simulator image from the mhhs-sit source tree, and {root} is not one "
            f"(install with pip install -e from a checkout); {EMBEDDED_HINT}"
        )
    return root


# -- the engine --------------------------------------------------------------------------------


def _engine_address() -> str:
    from testcontainers.core.docker_client import get_docker_host

    return get_docker_host() or "unix:///var/run/docker.sock"


def _how_looked_for() -> str:
    if os.environ.get("DOCKER_HOST"):
        return "from DOCKER_HOST"
    return "DOCKER_HOST unset: the current docker context, else the default socket"


def _reason(exc: BaseException) -> str:
    """The root cause of a docker-py connection error, in a few words."""
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(x) for x in seen)
    for probe, words in (
        ("FileNotFoundError", "no such socket"),
        ("No such file or directory", "no such socket"),
        ("Connection refused", "connection refused"),
        ("Permission denied", "permission denied (is this user in the docker group?)"),
        ("timed out", "timed out"),
        ("Name or service not known", "unknown host"),
    ):
        if probe in text or any(type(x).__name__ == probe for x in seen):
            return words
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def docker_client() -> DockerClient:
    """The testcontainers Docker client, or one clear line saying no engine is there."""
    try:
        from docker.errors import DockerException
        from testcontainers.core.docker_client import DockerClient
    except ImportError as exc:  # pragma: no cover - testcontainers is a dependency
        raise NoDockerEngine(
            f"no Docker engine: the testcontainers package is missing ({exc}); {EMBEDDED_HINT}"
        ) from None
    try:
        return DockerClient()
    except DockerException as exc:
        failure = NoDockerEngine(
            f"no Docker engine reachable at {_engine_address()} ({_how_looked_for()}): {_reason(exc)}; {EMBEDDED_HINT}"
        )
    _collect_abandoned_sockets()  # out of the except block: its traceback no longer holds the socket
    raise failure from None


def _collect_abandoned_sockets() -> None:
    """docker-py leaves the socket of a refused first request open: finalised here, quietly, rather
    than as a ResourceWarning in whatever code the garbage collector happens to interrupt later."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def close_client(client: DockerClient) -> None:
    """Its connections to the engine closed (left open, each is an unclosed socket)."""
    with contextlib.suppress(Exception):
        client.client.close()


def _base_image_id(client: DockerClient) -> str:
    from docker.errors import ImageNotFound

    try:
        return str(client.client.images.get(BASE_IMAGE).id)
    except ImageNotFound:
        raise EnvironmentBroken(
            f"the simulator image's base {BASE_IMAGE} is missing from the Docker engine: build it once with "
            f"'sudo .ci/docker-base' (debootstrap + docker import, about a minute); {EMBEDDED_HINT}"
        ) from None


# -- wheels ------------------------------------------------------------------------------------


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
            )
    return files


def source_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in _source_files(root):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _dependencies(root: Path) -> list[str]:
    with (root / "pyproject.toml").open("rb") as fh:
        return list(tomllib.load(fh)["project"].get("dependencies", []))


def _pip(args: list[str], what: str, python: str = sys.executable) -> None:
    cmd = [python, "-m", "pip", "--disable-pip-version-check", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise EnvironmentBroken(f"building {what} for the simulator image failed (pip exit {done.returncode}): {tail}")


def _cached(directory: Path, build: Callable[[Path], object]) -> Path:
    """``directory`` filled by ``build(tmp)``, or as left by an earlier complete build."""
    if directory.is_dir():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        build(tmp)
        try:
            tmp.rename(directory)  # atomic: a half-built wheelhouse is never reused
        except OSError:  # another process finished first
            if not directory.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def _host_matches() -> bool:
    """Wheels built by this Python install in the image's (same minor version, Linux)."""
    return sys.version_info[:2] == tuple(int(x) for x in CONTAINER_PYTHON.split(".")) and sys.platform == "linux"


def dependency_key(root: Path) -> str:
    return "deps-" + _digest(
        "with requirements.txt",
        json.dumps(_dependencies(root)),
        CONTAINER_PYTHON,
        platform.machine(),
        str(_host_matches()),
    )


def project_key(root: Path) -> str:
    return f"project-{source_digest(root)}"


def dependency_wheels(root: Path, cache: Path) -> Path:
    """Wheels of the project's dependencies, for the image's Python; rebuilt when pyproject changes."""
    deps = _dependencies(root)
    host_matches = _host_matches()

    def build(out: Path) -> None:
        reqs = out / "requirements.txt"
        reqs.write_text("\n".join(deps) + "\n")
        if host_matches:
            _pip(["wheel", "-q", "-w", str(out), "-r", str(reqs)], "the dependency wheelhouse")
        else:  # another Python on the host: fetch ready-made wheels for the image's
            # pip matches --platform tags exactly: name every glibc up to bookworm's 2.36
            platforms = [
                f"--platform=manylinux_2_{v}_{platform.machine()}" for v in (36, 35, 34, 31, 28, 27, 24, 17, 12, 5)
            ]
            _pip(
                ["download", "-q", "--only-binary=:all:", "--python-version", CONTAINER_PYTHON, *platforms,
                 "-d", str(out), "-r", str(reqs)],
                "the dependency wheelhouse",
            )  # fmt: skip

    return _cached(cache / dependency_key(root), build)


def project_wheel(root: Path, cache: Path) -> Path:
    """This project's own wheel, rebuilt when any source file changes; built from a copy of the
    sources so the checkout gets no build/ or egg-info."""

    def build(out: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="mhhs-sit-src-") as src:
            for path in _source_files(root):
                target = Path(src) / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            python = _build_python(root, cache)
            _pip(
                ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), src], "the mhhs-sit wheel", python
            )

    return _cached(cache / project_key(root), build)


def _build_python(root: Path, cache: Path) -> str:
    """A Python with the project's build backend, made once: each wheel then builds in about a
    second, where pip's isolated build env takes several (it installs setuptools every time)."""
    with (root / "pyproject.toml").open("rb") as fh:
        requires = list(tomllib.load(fh).get("build-system", {}).get("requires", ["setuptools", "wheel"]))

    def build(out: Path) -> None:
        venv.create(out, with_pip=True, symlinks=True)
        _pip(["install", "-q", *requires], "the wheel build environment", str(out / "bin" / "python"))

    env = _cached(cache / f"buildenv-{_digest(json.dumps(requires), sys.version)}", build)
    return str(env / "bin" / "python")


# -- the image ---------------------------------------------------------------------------------


def simulator_image(client: DockerClient, *, root: Path | None = None, cache: Path | None = None) -> str:
    """The tag of an image that runs this source tree's simulator, building it only if needed."""
    root = root or project_root()
    cache = cache or cache_dir()
    base = _base_image_id(client)
    dockerfile = (root / "stubs" / "Dockerfile").read_bytes()
    # named by what goes into it, so an image already built is found without building any wheel
    tag = f"{IMAGE_REPO}:{_digest(dockerfile, base, dependency_key(root), project_key(root))}"
    from docker.errors import BuildError, ImageNotFound

    with contextlib.suppress(ImageNotFound):
        client.client.images.get(tag)
        return tag
    deps = dependency_wheels(root, cache)
    own = project_wheel(root, cache)
    with tempfile.TemporaryDirectory(prefix="mhhs-sit-image-") as ctx:
        # two layers: the dependencies' (reused by Docker while they do not change), then ours
        for source, name in ((deps, "deps"), (own, "project")):
            (Path(ctx) / name).mkdir()
            for f in source.iterdir():
                try:
                    os.link(f, Path(ctx) / name / f.name)
                except OSError:
                    shutil.copy2(f, Path(ctx) / name / f.name)
        (Path(ctx) / "Dockerfile").write_bytes(dockerfile)
        started = time.monotonic()
        try:
            # the build steps need no network (offline pip); host mode because dockerd may run with --bridge=none
            client.client.images.build(
                path=ctx, tag=tag, network_mode="host", rm=True, forcerm=True, labels={LABEL: "image"}
            )
        except BuildError as exc:
            raise EnvironmentBroken(f"building the simulator image {tag} failed: {_build_error(exc)}") from None
    log.info("built %s in %.1f s", tag, time.monotonic() - started)
    _remove_older_images(client, keep=tag)
    _prune_wheels(cache, keep=own)
    return tag


def _build_error(exc: BuildError) -> str:
    """The build's own error lines, without colour codes or Docker's step bookkeeping."""
    lines = []
    for entry in exc.build_log:
        for line in str(entry.get("stream") or entry.get("error") or "").splitlines():
            line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            if line and not line.startswith(("--->", "Removing intermediate", "Step ", "Sending build context")):
                lines.append(line)
    return " | ".join(dict.fromkeys(lines[-4:])) or str(exc.msg)


def _remove_older_images(client: DockerClient, keep: str, spare: int = 2) -> None:
    """Builds of older sources are of no further use; the newest few are spared for other checkouts."""
    from docker.errors import APIError

    images = sorted(client.client.images.list(name=IMAGE_REPO), key=lambda i: i.attrs.get("Created", ""), reverse=True)
    older = [i for i in images if keep not in i.tags][spare:]
    for image in older:
        with contextlib.suppress(APIError):  # still used by a container: keep it
            client.client.images.remove(image.id, force=False)


def _prune_wheels(cache: Path, keep: Path, spare: int = 2) -> None:
    """Project wheels of older sources, but the newest few (other checkouts may use them)."""
    older = sorted((p for p in cache.glob("project-*") if p != keep), key=lambda p: p.stat().st_mtime, reverse=True)[
        spare:
    ]
    for path in older:
        shutil.rmtree(path, ignore_errors=True)


# -- the container -----------------------------------------------------------------------------


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _reap_orphans(client: DockerClient) -> None:
    """Containers left by an mhhs-sit process that died (no Ryuk to remove them here)."""
    from docker.errors import APIError

    for c in client.client.containers.list(all=True, filters={"label": LABEL}):
        pid = c.labels.get(LABEL, "")
        host = c.labels.get(f"{LABEL}.host", "")
        if host != socket.gethostname() or not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(APIError):
            c.remove(force=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _no_ryuk_unless_present(client: DockerClient) -> None:
    """testcontainers' Ryuk reaper must be pulled from a registry; where it is not already
    there, do without it (containers are removed by ``stop()`` and by ``_reap_orphans``)."""
    from docker.errors import ImageNotFound
    from testcontainers.core.config import testcontainers_config as tc

    if tc.ryuk_disabled:
        return
    try:
        client.client.images.get(tc.ryuk_image)
    except ImageNotFound:
        log.info("%s is not available locally: containers are removed by mhhs-sit itself", tc.ryuk_image)
        tc.ryuk_disabled = True


def _container_config(config: SimulatorConfig) -> tuple[SimulatorConfig, dict[str, str]]:
    """The config as the container sees it: host paths it names are mounted read-only."""
    mounts: dict[str, str] = {}
    if config.dip_spec:
        spec = Path(config.dip_spec).resolve()
        directory = spec if spec.is_dir() else spec.parent
        mounts[str(directory)] = "/dip-spec"
        inside = "/dip-spec" if spec.is_dir() else f"/dip-spec/{spec.name}"
        config = dataclasses.replace(config, dip_spec=inside)
    for p in config.participants.values():  # participants' own key files: mounted where they are
        for named in (p.key_file, p.cert_file):
            if named:
                folder = str(Path(named).resolve().parent)
                mounts[folder] = folder
    return config, mounts


class ContainerSimulator:
    """The simulator in a container: ``url`` once ``start`` returns, removed by ``stop``."""

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0):
        self.config = config
        self.host = host
        self.port = port
        self._fixed_port = bool(port)
        self.container: DockerContainer | None = None
        self.image: str | None = None
        self._rundir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def control_headers(self) -> dict[str, str]:
        """The header that opens the simulator's ``/_sim`` control API."""
        return {CONTROL_HEADER: self.config.control_key}

    def start(self, timeout: float = 60.0, attempts: int = 3) -> ContainerSimulator:
        try:
            client = docker_client()
            try:
                _reap_orphans(client)
                self.image = simulator_image(client)
                _no_ryuk_unless_present(client)
            finally:
                close_client(client)
            inside, mounts = _container_config(self.config)
            self._rundir = Path(tempfile.mkdtemp(prefix="mhhs-stubs-"))  # 0700
            write_config(inside, self._rundir / "sim.json")
            for attempt in range(1, attempts + 1):
                if not self._fixed_port:  # chosen now: one chosen before an image build may be taken by then
                    self.port = _free_port(self.host)
                try:
                    self._run(mounts, timeout)
                    return self
                except PortTaken:
                    self._remove_container()
                    if self._fixed_port or attempt == attempts:
                        raise
        except BaseException:
            self.stop()
            raise
        return self  # pragma: no cover - the loop returns or raises

    def _run(self, mounts: dict[str, str], timeout: float) -> None:
        from testcontainers.core.container import DockerContainer

        assert self.image is not None and self._rundir is not None
        container = (
            DockerContainer(self.image)
            .with_env("PORT", str(self.port))
            .with_env("HOST", self.host)
            .with_volume_mapping(str(self._rundir), "/config", "ro")
            .with_kwargs(
                network_mode="host",
                labels={LABEL: str(os.getpid()), f"{LABEL}.host": socket.gethostname()},
            )
        )
        for source, target in mounts.items():
            container.with_volume_mapping(source, target, "ro")
        self.container = container  # so that stop() removes it even when start() fails half-way
        container.start()
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        """Until the ready line is logged and ``/_sim/health`` answers 200."""
        deadline = time.monotonic() + timeout
        assert self.container is not None  # start() sets it before waiting
        wrapped = self.container.get_wrapped_container()
        while True:
            out = wrapped.logs(stdout=True, stderr=False).decode(errors="replace")
            if READY in out:
                break
            wrapped.reload()
            if wrapped.status in ("exited", "dead"):
                if "address already in use" in self._log_tail():
                    raise PortTaken(f"port {self.port} on {self.host} is in use: {self._log_tail()}")
                raise EnvironmentBroken(
                    f"the simulator container exited before it was ready: {self._log_tail()}"
                )  # fmt: skip
            if time.monotonic() > deadline:
                raise EnvironmentBroken(
                    f"the simulator container was not ready within {timeout:.0f} s: {self._log_tail()}"
                )
            time.sleep(0.05)
        while True:
            try:
                answer = requests.get(f"{self.url}/_sim/health", headers=self.control_headers, timeout=2)
                if answer.status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise EnvironmentBroken(
                    f"the simulator container logged ready but {self.url}/_sim/health did not answer"
                )
            time.sleep(0.05)

    def _log_tail(self) -> str:
        with contextlib.suppress(Exception):
            assert self.container is not None
            text = self.container.get_wrapped_container().logs().decode(errors="replace").strip()
            return " | ".join(text.splitlines()[-5:]) or "(no output)"
        return "(no logs)"

    def logs(self) -> str:
        if self.container is None:
            return ""
        return str(self.container.get_wrapped_container().logs().decode(errors="replace"))

    def _remove_container(self) -> None:
        container, self.container = self.container, None
        if container is not None:
            with contextlib.suppress(Exception):  # already gone: nothing left to stop
                container.stop()
            close_client(container.get_docker_client())

    def stop(self) -> None:
        try:
            self._remove_container()
        finally:
            if self._rundir is not None:
                shutil.rmtree(self._rundir, ignore_errors=True)
                self._rundir = None

    def __enter__(self) -> ContainerSimulator:
        return self if self.container is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_container(config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 0) -> ContainerSimulator:
    return ContainerSimulator(config, host=host, port=port).start()
