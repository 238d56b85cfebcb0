"""Scenario files read, checked and kept: in memory per change, and on disk across sessions.

Each file is parsed and checked once (per path, modification time and step registry), so
collecting 10,000 cases costs one pass over the files, not one per item. With a cache directory a
valid file's model is also kept on disk, keyed by its content and by everything that checks it
(the loader's modules, the step kinds', the catalogue's data), so the next session skips YAML
parsing and validation of unchanged files (the bulk of collection time) and a change to a check
is never hidden by an old entry.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from functools import lru_cache
from pathlib import Path

from mhhs_sit.core.yamlsrc import parse_yaml, too_large
from mhhs_sit.definitions import (
    matchers,
    message_paths,
    model,
    payloads,
    scenario_build,
    schema_check,
    schemas,
    step_checks,
    step_verdicts,
    template_names,
    templating,
)
from mhhs_sit.definitions.model import Scenario
from mhhs_sit.definitions.steps import SpecVersion, StepKind, StepRegistry
from mhhs_sit.errors import Problem

Loaded = tuple[Scenario | None, list[Problem]]
DEFAULT_CACHE_DIR = ".mhhs-sit-cache"  # parsed scenario files, under the project root (pytest's mhhs_cache)
_MEMORY: dict[tuple[str, float, int, str, str, bytes], Loaded] = {}


def _spec_stamp(dip_spec: str | None) -> str:
    """An official spec's identity for the cache: its path and the times its files changed."""
    if not dip_spec:
        return ""
    root = Path(dip_spec)
    files = sorted(root.rglob("*.yaml")) if root.is_dir() else [root]
    return f"{root.resolve()}:" + ",".join(f"{f.name}@{f.stat().st_mtime_ns}" for f in files if f.exists())


@lru_cache(maxsize=1)
def _checks_fingerprint() -> bytes:
    """Changes whenever the checks around the steps change (the kinds hash their own modules)."""
    h = hashlib.sha256()
    modules = (schemas, schema_check, templating, template_names, matchers, message_paths, payloads, model)
    for module in (*modules, scenario_build, step_checks, step_verdicts):
        h.update(Path(str(module.__file__)).read_bytes())
    from mhhs_sit.catalogue.data import DATA_DIR as catalogue_data

    for f in sorted(catalogue_data.glob("*.yaml")):
        h.update(f.read_bytes())
    kinds = scenario_build.draw_kinds()
    h.update(repr(sorted((k, sorted(v)) for k, v in kinds.items())).encode())
    return h.digest()


def load_scenario_file(
    path: Path,
    kinds: StepRegistry[StepKind],
    display: str | None = None,
    *,
    cache_dir: Path | None = None,
    version: str | None = None,
    dip_spec: str | None = None,
    remember: bool = True,
) -> Loaded:
    """One scenario file, parsed and validated once per change; ``remember``: kept in memory for
    the next read in this process (a pytest session reads each file at collection and again for
    its items; ``mhhs-sit validate`` reads it once, and a process ending with 600,000 values kept
    spends a tenth of a second in the collector's last pass)."""
    name = display or str(path)
    try:
        st = path.stat()
        # by the kinds' fingerprint, not the registry's id: an id is reused once a registry is gone
        where = str(path if path.is_absolute() else path.resolve())  # a link's two spellings: two entries, no harm
        key = (where, st.st_mtime, st.st_size, name, f"{version}|{dip_spec}", kinds.fingerprint)
        if key in _MEMORY:
            return _MEMORY[key]
        large = too_large(name, st.st_size)
        if large is not None:  # refused before reading it
            return None, [large]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(name, 0, 0, "", f"cannot read file: {exc}")]
    cached = None
    if cache_dir is not None:
        salt = f"{name}\0{version or ''}\0{_spec_stamp(dip_spec)}\0".encode()
        digest = hashlib.sha256(_checks_fingerprint() + kinds.fingerprint + salt + raw).hexdigest()
        cached = cache_dir / f"{digest}.pickle"
        found = _read_cached(cached)
        if found is not None:
            if remember:
                _MEMORY[key] = (found, [])
            return found, []
    result = _check(raw, name, kinds, SpecVersion(version, dip_spec) if version else None)
    if remember:
        _MEMORY[key] = result
    if cached is not None and result[0] is not None:
        _write_atomically(cached, pickle.dumps(result[0], protocol=pickle.HIGHEST_PROTOCOL))
    return result


def _check(raw: bytes, name: str, kinds: StepRegistry[StepKind], spec: SpecVersion | None) -> Loaded:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, 0, 0, "", f"the file is not UTF-8 text: {exc}")]
    return scenario_build.build_scenario(parse_yaml(text, name), kinds, spec)


def _read_cached(path: Path) -> Scenario | None:
    try:
        with path.open("rb") as fh:
            found = pickle.load(fh)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return found if isinstance(found, Scenario) else None


def _write_atomically(target: Path, blob: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, target)
    except OSError:
        pass  # a cache that cannot be written only costs speed
