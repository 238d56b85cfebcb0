"""YAML files -> validated model objects, with every problem located by file, line and column.

Each file is parsed and checked once (and cached by path and modification time), so collecting
10,000 cases costs one pass over the files, not one per item. Nothing here raises on bad input:
functions return what they could build plus the list of problems, and callers decide.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import pickle
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, format_path, load_yaml, parse_yaml
from mhhs_sit.definitions import schemas as file_schemas
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.faults import validate_specs
from mhhs_sit.definitions.matchers import OPERATOR_NAMES, PATH_RE, is_operator_mapping
from mhhs_sit.definitions.model import (
    STEP_KINDS,
    Location,
    Scenario,
    Step,
    TestCase,
)
from mhhs_sit.errors import Problem

if TYPE_CHECKING:
    import jsonschema

_SCHEMAS = {
    "scenario": file_schemas.SCENARIO,
    "cohort": file_schemas.COHORT,
    "environment": file_schemas.ENVIRONMENT,
}


# Each made on first use, once: the fast check answers "is this file valid?"; only an invalid file
# pays for jsonschema's full list of errors (and for importing it). Compiling all of them when this
# module was imported cost every command a tenth of a second, ``--help`` included.
@cache
def _fast_check(kind: str) -> Any:
    return fastjsonschema.compile(_SCHEMAS[kind])


@cache
def _full_validator(kind: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(_SCHEMAS[kind])


ACTION_KINDS = tuple(k for k in STEP_KINDS if k != "save")


def _list(value: Any) -> list[Any]:
    """A list from YAML, or nothing when the schema has already reported a wrong type."""
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def suggest(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "empty",
    }.get(type(value), type(value).__name__)


def explain(error: jsonschema.ValidationError) -> list[tuple[list[PathPart], str, bool]]:
    """jsonschema error -> [(yaml path, sentence, points-at-key)]."""
    path: list[PathPart] = list(error.absolute_path)
    schema, value, kind = error.schema, error.instance, error.validator
    where = format_path(path) or "the document"
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        return [
            ([*path, key], f"unknown key '{key}'{suggest(key, allowed)}; allowed here: {', '.join(allowed)}", True)
            for key in value
            if key not in allowed
        ]
    if kind == "required":
        missing = [k for k in error.validator_value if k not in value]
        return [(path, f"'{k}' is required in {where} but missing", False) for k in missing]
    if kind == "enum":
        return [
            (
                path,
                f"{value!r} is not allowed here{suggest(str(value), map(str, error.validator_value))}; "
                f"use one of: {', '.join(map(str, error.validator_value))}",
                False,
            )
        ]
    if kind == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        want = " or ".join(
            {
                "object": "a mapping",
                "array": "a list",
                "string": "text",
                "integer": "a whole number",
                "number": "a number",
                "boolean": "true/false",
                "null": "empty",
            }.get(n, str(n))
            for n in names
        )
        return [(path, f"expected {want}, found {_type_name(value)} ({value!r})", False)]
    if kind == "pattern":
        return [(path, f"{value!r} does not have the required form (regex {error.validator_value})", False)]
    if kind == "propertyNames":
        return [(path, f"{error.message}", False)]
    if kind in ("minItems", "minProperties") and not value:
        return [(path, f"{where} must not be empty", False)]
    if kind == "oneOf" and "description" in schema:
        return [(path, f"{value!r} is not {schema['description']}", False)]
    if kind in ("minimum", "maximum"):
        return [(path, f"{value!r} is out of range ({kind} {error.validator_value})", False)]
    return [(path, error.message, False)]


def schema_problems(doc: YamlDoc, kind: str) -> list[Problem]:
    try:
        _fast_check(kind)(doc.data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    import jsonschema

    problems = []
    for error in _full_validator(kind).iter_errors(doc.data):
        if error.validator == "propertyNames":
            # report the offending key itself rather than the mapping
            bad = [k for k in error.instance if not jsonschema.Draft202012Validator(error.validator_value).is_valid(k)]
            for key in bad:
                allowed = error.validator_value.get("enum")
                hint = (
                    f"; use one of: {', '.join(allowed)}"
                    if allowed
                    else " (names are letters, digits and _ and may not start with a digit)"
                )
                problems.append(
                    doc.problem([*error.absolute_path, key], f"'{key}' is not a valid name here{hint}", key=True)
                )
            continue
        for path, message, key in explain(error):
            problems.append(doc.problem(path, message, key=key))
    return problems


# --------------------------------------------------------------------------- scenarios


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value
    try:  # one C-speed pass instead of a Python walk over every value
        return "{{" in json.dumps(value, default=str)
    except (TypeError, ValueError):
        return True


def _check_templates(doc: YamlDoc, value: Any, path: list[PathPart], scope: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    if not _has_template(value):
        return problems
    for sub, source in templating.expressions(value):
        try:
            expr = templating.parse_expression(source)
        except ValueError as exc:
            problems.append(doc.problem([*path, *sub], str(exc)))
            continue
        if expr.root not in scope:
            problems.append(
                doc.problem(
                    [*path, *sub],
                    f"'{{{{ {source} }}}}' names '{expr.root}', which is neither case data, a value saved "
                    f"by an earlier step nor a built-in{suggest(expr.root, scope)}",
                )
            )
    return problems


def _check_paths(doc: YamlDoc, mapping: Any, path: list[PathPart], what: str) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(mapping, dict):
        return problems
    for key, expected in mapping.items():
        if not isinstance(key, str) or not PATH_RE.match(key):
            problems.append(
                doc.problem(
                    [*path, key],
                    f"{what} key {key!r} is not a path such as 'M0.MPANCore' or 'json.items[0].id'",
                    key=True,
                )
            )
        if isinstance(expected, dict) and expected and not is_operator_mapping(expected):
            unknown = [k for k in expected if k not in OPERATOR_NAMES]
            if (unknown and any(k in OPERATOR_NAMES for k in expected)) or (
                len(unknown) == 1 and suggest(unknown[0], OPERATOR_NAMES)
            ):
                problems.append(
                    doc.problem(
                        [*path, key, unknown[0]],
                        f"unknown check '{unknown[0]}'{suggest(unknown[0], OPERATOR_NAMES)}; checks are: "
                        f"{', '.join(sorted(OPERATOR_NAMES))}",
                        key=True,
                    )
                )
    return problems


def _check_step(
    doc: YamlDoc,
    raw: Any,
    path: list[PathPart],
    scope: set[str],
    roles: Sequence[str],
    state: dict[str, Any],
) -> tuple[Step | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, []  # the schema already reported it
    problems: list[Problem] = []
    actions = [k for k in raw if k in ACTION_KINDS]
    unknown = [k for k in raw if k not in (*STEP_KINDS, "name")]
    for key in unknown:
        problems.append(
            doc.problem(
                [*path, key],
                f"unknown key '{key}' in a step{suggest(key, (*STEP_KINDS, 'name'))}; a step "
                f"has one action ({', '.join(ACTION_KINDS)}) and may have 'name' and 'save'",
                key=True,
            )
        )
    if len(actions) > 1:
        problems.append(
            doc.problem(path, f"this step has {len(actions)} actions ({', '.join(actions)}); give each its own step")
        )
    if not actions and "save" not in raw:
        if not unknown:
            problems.append(doc.problem(path, f"this step does nothing: add one of {', '.join(ACTION_KINDS)}"))
        return None, problems
    kind = actions[0] if actions else "save"
    body = raw.get(kind)
    save = raw.get("save") if kind != "save" else {}
    # Templates in the action see the names saved *before* this step.
    problems += _check_templates(doc, body, [*path, kind], scope)
    if kind in ("send", "expect") and isinstance(body, dict):
        role = body.get("as" if kind == "send" else "at")
        if isinstance(role, str) and role in file_schemas.ROLES and role not in roles:
            problems.append(
                doc.problem(
                    [*path, kind, "as" if kind == "send" else "at"],
                    f"role '{role}' is not among the scenario's roles ({', '.join(roles)}); add it to 'roles:'",
                )
            )
    if kind == "send" and isinstance(body, dict):
        if body.get("reply_to") == "previous" and not state.get("received"):
            problems.append(
                doc.problem(
                    [*path, "send", "reply_to"], "'reply_to: previous' needs an earlier expect step to reply to"
                )
            )
        problems += _check_paths(
            doc, _dict(body.get("response")).get("json"), [*path, "send", "response", "json"], "response.json"
        )
    if kind == "expect" and isinstance(body, dict):
        state["received"] = True
        problems += _check_paths(doc, body.get("where"), [*path, "expect", "where"], "where")
        if isinstance(body.get("fail_if"), dict):
            problems += _check_paths(doc, body["fail_if"].get("where"), [*path, "expect", "fail_if", "where"], "where")
    if kind == "http" and isinstance(body, dict):
        for part in ("json", "headers"):
            problems += _check_paths(doc, _dict(body.get("expect")).get(part), [*path, "http", "expect", part], part)
    if kind == "fault" and isinstance(body, dict):
        problems += _fault_step_problems(doc, body, [*path, "fault"])
    if kind == "assert" and isinstance(body, list):
        for i, check in enumerate(body):
            if isinstance(check, dict):
                ops = [k for k in check if k != "value"]
                for op in ops:
                    if op not in OPERATOR_NAMES:
                        problems.append(
                            doc.problem(
                                [*path, "assert", i, op],
                                f"unknown check '{op}'"
                                f"{suggest(op, OPERATOR_NAMES)}; checks are: "
                                f"{', '.join(sorted(OPERATOR_NAMES))}",
                                key=True,
                            )
                        )
    # save: sibling save maps name -> path; a standalone save maps name -> value/template.
    if save is not None and not isinstance(save, dict):
        problems.append(doc.problem([*path, "save"], "'save' must be a mapping of name: path"))
        save = {}
    if kind == "save":
        save_map = body if isinstance(body, dict) else {}
        if not isinstance(body, dict):
            problems.append(doc.problem([*path, "save"], "'save' must be a mapping of name: value"))
    else:
        save_map = save or {}
        for name, target in save_map.items():
            if not isinstance(target, str) or not PATH_RE.match(target):
                problems.append(
                    doc.problem(
                        [*path, "save", name],
                        f"save path {target!r} is not a path such as 'S1.senderCorrelationID' or 'json.id'",
                    )
                )
    for name in save_map:
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            problems.append(
                doc.problem([*path, "save", name], f"cannot save as {name!r}: use letters, digits and _", key=True)
            )
        elif name in templating.BUILTIN_NAMES:
            problems.append(
                doc.problem(
                    [*path, "save", name], f"'{name}' is a built-in name; choose another name to save as", key=True
                )
            )
        else:
            scope.add(name)
    line, col = doc.line_of(raw)
    step = Step(
        kind=kind,
        spec=body,
        save=dict(save_map) if kind != "save" else {},
        name=str(raw.get("name") or ""),
        location=Location(doc.file, line, col),
        path=format_path(path),
    )
    if kind == "save":
        step = Step("save", dict(save_map), {}, step.name, step.location, step.path)
    return step, problems


def _check_data(doc: YamlDoc, data: Any, path: list[PathPart]) -> list[Problem]:
    """``data:`` entries that draw from a cohort pool must name a known kind and criteria."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return problems
    kinds = _draw_kinds()
    for name, value in data.items():
        if not (isinstance(value, dict) and "draw" in value):
            continue
        kind = value["draw"]
        if not isinstance(kind, str):
            problems.append(
                doc.problem(
                    [*path, name, "draw"], f"cannot draw {kind!r}: draw must name a kind of test data, such as mpan"
                )
            )
            continue
        if kinds is None:
            continue
        if kind not in kinds:
            problems.append(
                doc.problem(
                    [*path, name, "draw"],
                    f"cannot draw {kind!r}{suggest(str(kind), kinds)}; kinds: {', '.join(sorted(kinds))}",
                )
            )
            continue
        for crit, crit_value in value.items():
            if crit == "draw":
                continue
            allowed = kinds[kind]
            if crit not in allowed:
                problems.append(
                    doc.problem(
                        [*path, name, crit],
                        f"'{crit}' is not a criterion of "
                        f"{kind}{suggest(crit, allowed)}; criteria: "
                        f"{', '.join(sorted(allowed)) or 'none'}",
                        key=True,
                    )
                )
            elif (
                allowed[crit]
                and not any(type(crit_value) is type(a) and crit_value == a for a in allowed[crit])
                and not (isinstance(crit_value, str) and "{{" in crit_value)
            ):
                problems.append(
                    doc.problem(
                        [*path, name, crit],
                        f"{crit_value!r} is not a {crit} of {kind}; use one of: {', '.join(map(str, allowed[crit]))}",
                    )
                )
    return problems


def _draw_kinds() -> Mapping[str, Mapping[str, tuple[Any, ...]]] | None:
    try:
        from mhhs_sit.data import DRAW_KINDS
    except ImportError:  # pragma: no cover - data package not installed
        return None
    return DRAW_KINDS


def build_scenario(doc: YamlDoc) -> tuple[Scenario | None, list[Problem]]:
    problems = list(doc.problems)
    if doc.data is None:
        if not problems:
            problems.append(
                Problem(doc.file, 0, 0, "", "the file is empty; a scenario file starts with 'scenario: <id>'")
            )
        return None, problems
    if not isinstance(doc.data, dict):
        problems.append(
            doc.problem([], f"expected a mapping with 'scenario:', 'title:', 'cases:'…, found {_type_name(doc.data)}")
        )
        return None, problems
    problems += schema_problems(doc, "scenario")
    data = doc.data
    roles = [r for r in _list(data.get("roles")) if isinstance(r, str)]
    scenario_tags = tuple(t for t in _list(data.get("tags")) if isinstance(t, str))
    cases: list[TestCase] = []
    seen_case_ids: dict[str, int] = {}
    given_cases = data.get("cases")
    raw_cases = given_cases if isinstance(given_cases, list) else []
    for ci, raw_case in enumerate(raw_cases):
        cpath: list[PathPart] = ["cases", ci]
        if not isinstance(raw_case, dict):
            continue
        case_id = raw_case.get("id")
        if isinstance(case_id, str):
            if case_id in seen_case_ids:
                problems.append(
                    doc.problem(
                        [*cpath, "id"],
                        f"case id '{case_id}' is used twice in this file (also on line {seen_case_ids[case_id]})",
                    )
                )
            else:
                seen_case_ids[case_id] = doc.line_of(raw_case)[0]
        given_data = raw_case.get("data")
        case_data = given_data if isinstance(given_data, dict) else {}
        problems += _check_data(doc, case_data, [*cpath, "data"])
        scope = set(templating.BUILTIN_NAMES) | set(case_data)
        # data values may use built-ins and the cohort/env, but not each other
        problems += _check_templates(doc, case_data, [*cpath, "data"], set(templating.BUILTIN_NAMES))
        steps: list[Step] = []
        state: dict[str, Any] = {}
        given_steps = raw_case.get("steps")
        raw_steps = given_steps if isinstance(given_steps, list) else []
        for si, raw_step in enumerate(raw_steps):
            step, step_problems = _check_step(doc, raw_step, [*cpath, "steps", si], scope, roles, state)
            problems += step_problems
            if step is not None:
                steps.append(step)
        line, col = doc.line_of(raw_case)
        priority = raw_case.get("priority", 2)
        cases.append(
            TestCase(
                id=str(case_id),
                title=str(raw_case.get("title", "")),
                priority=priority if isinstance(priority, int) else 2,
                data=dict(case_data),
                steps=tuple(steps),
                tags=tuple(
                    dict.fromkeys([*scenario_tags, *(t for t in _list(raw_case.get("tags")) if isinstance(t, str))])
                ),
                requirements=tuple(str(r) for r in _list(raw_case.get("requirements"))),
                location=Location(doc.file, line, col),
                path=format_path(cpath),
                drives=frozenset(
                    s.spec["as"]
                    for s in steps
                    if s.kind == "send" and isinstance(s.spec, dict) and isinstance(s.spec.get("as"), str)
                ),
            )
        )
    if problems:
        return None, problems
    return Scenario(
        id=data["scenario"],
        title=data["title"],
        description=str(data.get("description", "")),
        stage=data["stage"],
        theme=str(data["theme"]),
        requirements=tuple(str(r) for r in _list(data.get("requirements"))),
        tags=scenario_tags,
        roles=tuple(roles),
        cases=tuple(cases),
        location=Location(doc.file, *doc.line_of(data)),
    ), []


_CACHE: dict[tuple[str, float, int, str, str], tuple[Scenario | None, list[Problem]]] = {}
DEFAULT_CACHE_DIR = ".mhhs-sit-cache"  # parsed scenario files, under the project root (pytest's mhhs_cache)


def _spec_stamp(dip_spec: str | None) -> str:
    """An official spec's identity for the cache: its path and the times its files changed."""
    if not dip_spec:
        return ""
    root = Path(dip_spec)
    files = sorted(root.rglob("*.yaml")) if root.is_dir() else [root]
    return f"{root.resolve()}:" + ",".join(f"{f.name}@{f.stat().st_mtime_ns}" for f in files if f.exists())


@lru_cache(maxsize=1)
def _loader_fingerprint() -> bytes:
    """Changes whenever the checks change, so a disk cache never hides a new problem."""
    h = hashlib.sha256()
    from mhhs_sit.definitions import payloads

    for module in (file_schemas, templating, payloads, sys.modules[__name__]):
        h.update(Path(str(module.__file__)).read_bytes())
    from mhhs_sit.catalogue.loader import DATA_DIR as catalogue_data

    for f in sorted(catalogue_data.glob("*.yaml")):
        h.update(f.read_bytes())
    kinds = _draw_kinds()
    h.update(repr(sorted((k, sorted(v)) for k, v in (kinds or {}).items())).encode())
    return h.digest()


def load_scenario_file(
    path: Path,
    display: str | None = None,
    *,
    cache_dir: Path | None = None,
    version: str | None = None,
    dip_spec: str | None = None,
) -> tuple[Scenario | None, list[Problem]]:
    """One scenario file, parsed and validated once per change.

    In memory the result is kept per path and modification time; with ``cache_dir`` a valid
    file's model is also kept on disk, keyed by its content, so the next session skips YAML
    parsing and validation of unchanged files (the bulk of collection time).
    """
    name = display or str(path)
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime, st.st_size, name, f"{version}|{dip_spec}")
    except OSError as exc:
        return None, [Problem(name, 0, 0, "", f"cannot read file: {exc}")]
    if key in _CACHE:
        return _CACHE[key]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(name, 0, 0, "", f"cannot read file: {exc}")]
    cached = None
    if cache_dir is not None:
        salt = f"{name}\0{version or ''}\0{_spec_stamp(dip_spec)}\0".encode()
        digest = hashlib.sha256(_loader_fingerprint() + salt + raw).hexdigest()
        cached = cache_dir / f"{digest}.pickle"
        try:
            with cached.open("rb") as fh:
                _CACHE[key] = (pickle.load(fh), [])
            return _CACHE[key]
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError):
            pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, 0, 0, "", f"the file is not UTF-8 text: {exc}")]
    doc = parse_yaml(text, name)
    result = build_scenario(doc)
    if result[0] is not None and version:
        from mhhs_sit.definitions.payloads import payload_problems

        found = payload_problems(result[0], doc, version, dip_spec)
        if found:
            result = (None, found)
    _CACHE[key] = result
    if cached is not None and result[0] is not None:
        _write_atomically(cached, pickle.dumps(result[0], protocol=pickle.HIGHEST_PROTOCOL))
    return result


def _write_atomically(target: Path, blob: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, target)
    except OSError:
        pass  # a cache that cannot be written only costs speed


def is_scenario_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml")


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and is_scenario_file(f))
        elif p.exists():
            out.append(p)
    return out


class IdRegistry:
    """Scenario and case ids seen so far, across files: a repeat is a problem where it repeats."""

    def __init__(self) -> None:
        self.scenarios: dict[str, Location] = {}
        self.cases: dict[str, Location] = {}

    def add(self, scenario: Scenario, source: Path | None = None) -> list[Problem]:
        problems: list[Problem] = []
        first = self.scenarios.setdefault(scenario.id, scenario.location)
        if first.file != scenario.file:
            problems.append(
                _at_key(scenario.file, source, ["scenario"], f"scenario id '{scenario.id}' is also defined at {first}")
            )
        for case in scenario.cases:
            first = self.cases.setdefault(case.id, case.location)
            if first.file != scenario.file:
                problems.append(
                    _at_key(
                        scenario.file,
                        source,
                        [*_parse_path(case.path), "id"],
                        f"case id '{case.id}' is also defined at {first}; case ids must be unique across all files",
                    )
                )
        return problems


def _parse_path(path: str) -> list[PathPart]:
    return [int(i) if i else k for k, i in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)]


def _at_key(display: str, source: Path | None, path: list[PathPart], message: str) -> Problem:
    """A problem at the exact key (the file is parsed again: this only happens on an error)."""
    if source is not None:
        return load_yaml(source, display=display).problem(path, message, key=True)
    return Problem(display, 0, 0, format_path(path), message)


def load_scenarios(
    paths: Iterable[Path],
    root: Path | None = None,
    *,
    version: str | None = None,
    dip_spec: str | None = None,
    cache_dir: Path | None = None,
) -> tuple[list[Scenario], list[Problem]]:
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    ids = IdRegistry()
    for f in scenario_files(paths):
        sc, pr = load_scenario_file(
            f, display=display_path(f, root), version=version, dip_spec=dip_spec, cache_dir=cache_dir
        )
        problems += pr
        if sc:
            scenarios.append(sc)
            problems += ids.add(sc, f)
    return scenarios, problems


def display_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


# --------------------------------------------------------------------------- cohorts


def _fault_step_problems(doc: YamlDoc, spec: dict[str, Any], path: list[PathPart]) -> list[Problem]:
    """A fault step's spec, checked now unless templates fill it in at run time."""
    if "{{" in repr(spec):
        return []
    problems = []
    if "tag" in spec:
        problems.append(doc.problem([*path, "tag"], "a fault step's tag is the case itself; leave 'tag' out", key=True))
    rest = {k: v for k, v in spec.items() if k != "tag"}
    return problems + [doc.problem([*path, *exc.field], exc.message) for _, exc in validate_specs([rest])]
