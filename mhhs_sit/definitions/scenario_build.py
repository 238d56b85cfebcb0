"""A parsed scenario file -> a validated ``Scenario``, with every problem located by file and line.

Nothing here raises on bad input: ``build_scenario`` returns what it could build plus the list of
problems, and callers decide. What a step's body means is its kind's business (the registry the
caller hands in); this module knows the shape around it: one action per step, ``name``, ``save``,
template names in scope, case data and ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, format_path
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.matchers import PATH_RE
from mhhs_sit.definitions.model import Location, Scenario, Step, TestCase
from mhhs_sit.definitions.schema_check import suggest, type_name
from mhhs_sit.definitions.step_checks import check_templates
from mhhs_sit.definitions.step_verdicts import Verdict, Verdicts
from mhhs_sit.definitions.steps import STANDALONE_SAVE, SpecVersion, StepKind, StepRegistry
from mhhs_sit.definitions.template_names import BUILTIN_SHAPES, Shape, cohort_shape, data_shape
from mhhs_sit.errors import Problem

DrawKinds = Mapping[str, Mapping[str, tuple[object, ...]]]  # kind -> criterion -> allowed values
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _list(value: object) -> list[object]:
    """A list from YAML, or nothing when the schema has already reported a wrong type."""
    return value if isinstance(value, list) else []


def _texts(value: object) -> tuple[str, ...]:
    return tuple(v for v in _list(value) if isinstance(v, str))


@cache  # asked at every case that draws
def draw_kinds() -> DrawKinds:
    from mhhs_sit.data import DRAW_KINDS

    return DRAW_KINDS


def build_scenario(
    doc: YamlDoc, kinds: StepRegistry[StepKind], spec: SpecVersion | None = None
) -> tuple[Scenario | None, list[Problem]]:
    """The file's scenario, or None and every problem; ``spec`` adds the catalogue's checks."""
    problems = list(doc.problems)
    if doc.data is None:
        if not problems:
            problems.append(
                Problem(doc.file, 0, 0, "", "the file is empty; a scenario file starts with 'scenario: <id>'")
            )
        return None, problems
    if not isinstance(doc.data, dict):
        problems.append(
            doc.problem([], f"expected a mapping with 'scenario:', 'title:', 'cases:'…, found {type_name(doc.data)}")
        )
        return None, problems
    builder = _Builder(doc, doc.data, kinds, spec)
    problems += kinds.scenario_schema.problems(doc)
    scenario = builder.build()
    problems += builder.problems
    if problems:
        return None, problems
    if builder.catalogue:  # only once the file itself is right: they would repeat its mistakes
        return None, builder.catalogue
    return scenario, []


def _spec_for(spec: SpecVersion | None, since: str | None) -> SpecVersion | None:
    """What a scenario's messages are checked against: the run's version, or its ``since:``
    version when the run's is older (its cases are skipped there, but still checked)."""
    if spec is None or since is None or spec.dip_spec is not None:
        return spec
    from mhhs_sit.catalogue import load_catalogue

    return SpecVersion(since) if load_catalogue().is_before(spec.version, since) else spec


@dataclass
class _CaseState:
    """What the steps of one case have established so far."""

    scope: set[str]  # names a template may use: built-ins, case data, values saved earlier
    shapes: dict[str, Shape]  # what is below each name whose fields are known (a saved value's are not)
    received: bool = False  # an earlier step takes in a message
    drives: set[str] = field(default_factory=set)  # roles the steps act as
    listens: dict[str, Location] = field(default_factory=dict)  # roles the steps observe -> first step doing so


class _Builder:
    def __init__(
        self, doc: YamlDoc, data: dict[object, object], kinds: StepRegistry[StepKind], spec: SpecVersion | None
    ):
        self.doc, self.data, self.kinds = doc, data, kinds
        self.problems: list[Problem] = []
        self.since = self._since(data.get("since"))
        self.spec = _spec_for(spec, self.since)
        self.roles = _texts(data.get("roles"))
        self.tags = _texts(data.get("tags"))
        self.catalogue: list[Problem] = []
        self._case_lines: dict[str, int] = {}
        self.verdicts = Verdicts(doc, self.roles, self.spec)
        # what a case's data may name (built-ins, the cohort as the scenario's roles see it): the same for all
        self._builtins: dict[str, Shape] = {**BUILTIN_SHAPES, "cohort": cohort_shape(self.roles)}
        self._step_keys = (*kinds.keys, "name")

    def build(self) -> Scenario:
        data = self.data
        cases = [
            case
            for ci, raw in enumerate(_list(data.get("cases")))
            if isinstance(raw, dict) and (case := self._case(["cases", ci], raw)) is not None
        ]
        return Scenario(
            id=str(data.get("scenario")),
            title=str(data.get("title")),
            description=str(data.get("description", "")),
            stage=str(data.get("stage")),
            theme=str(data.get("theme")),
            requirements=tuple(str(r) for r in _list(data.get("requirements"))),
            tags=self.tags,
            roles=self.roles,
            cases=tuple(cases),
            location=Location(self.doc.file, *self.doc.line_of(data)),
            since=self.since,
        )

    def _since(self, given: object) -> str | None:
        """The canonical catalogue version ``since:`` names (a problem at the key when unknown)."""
        if given is None:
            return None
        from mhhs_sit.catalogue import load_catalogue
        from mhhs_sit.errors import ConfigError

        try:
            return load_catalogue().resolve_version(str(given))
        except ConfigError as exc:
            self.problems.append(self.doc.problem(["since"], str(exc)))
            return None

    # -- cases ----------------------------------------------------------------------------

    def _case(self, cpath: list[PathPart], raw: dict[object, object]) -> TestCase:
        doc = self.doc
        case_id = raw.get("id")
        self._note_case_id(cpath, raw, case_id)
        given = raw.get("data")
        case_data = {str(k): v for k, v in given.items()} if isinstance(given, dict) else {}
        self.problems += _data_problems(doc, case_data, [*cpath, "data"])
        # data values may use built-ins and the cohort/env, but not each other
        builtins = self._builtins
        self.problems += check_templates(doc, case_data, [*cpath, "data"], templating.BUILTIN_NAMES, builtins)
        shapes = {
            **builtins,
            **{name: data_shape(value) for name, value in case_data.items()},
        }
        state = _CaseState(scope=set(templating.BUILTIN_NAMES) | set(case_data), shapes=shapes)
        steps = [
            step
            for si, raw_step in enumerate(_list(raw.get("steps")))
            if (step := self._step(raw_step, [*cpath, "steps", si], state)) is not None
        ]
        priority = raw.get("priority", 2)
        return TestCase(
            id=str(case_id),
            title=str(raw.get("title", "")),
            priority=priority if isinstance(priority, int) else 2,
            data=case_data,
            steps=tuple(steps),
            tags=tuple(dict.fromkeys([*self.tags, *_texts(raw.get("tags"))])),
            requirements=tuple(str(r) for r in _list(raw.get("requirements"))),
            location=Location(doc.file, *doc.line_of(raw)),
            path=format_path(cpath),
            drives=frozenset(state.drives),
            listens=dict(state.listens),
        )

    def _note_case_id(self, cpath: list[PathPart], raw: dict[object, object], case_id: object) -> None:
        if not isinstance(case_id, str):
            return
        if case_id in self._case_lines:
            self.problems.append(
                self.doc.problem(
                    [*cpath, "id"],
                    f"case id '{case_id}' is used twice in this file (also on line {self._case_lines[case_id]})",
                )
            )
        else:
            self._case_lines[case_id] = self.doc.line_of(raw)[0]

    # -- steps ----------------------------------------------------------------------------

    def _step(self, raw: object, path: list[PathPart], state: _CaseState) -> Step | None:
        if not isinstance(raw, dict):
            return None  # the schema already reported it
        key = self._action_of(raw, path)
        if key is None:
            return None
        body = raw.get(key)
        sibling = raw.get(STANDALONE_SAVE) if key != STANDALONE_SAVE else None
        written = repr(body)  # what the verdict and the template walk are remembered by
        save = sibling if isinstance(sibling, dict) else {}
        said = self.verdicts.of(self.kinds[key], path, key, body, state.received, save, written)
        # Templates in the action see the names saved *before* this step.
        self.problems += check_templates(self.doc, body, [*path, key], state.scope, state.shapes, written)
        self.problems += said.problems
        self.catalogue += said.catalogue
        location = Location(self.doc.file, *self.doc.line_of(raw))
        _note(state, said, location)
        standalone = key == STANDALONE_SAVE
        saves = self._saves(raw, path, standalone=standalone)
        for name in saves:
            if self._save_name_ok(path, name):
                state.scope.add(str(name))
                state.shapes.pop(str(name), None)  # unknown below, unless the catalogue says
                if str(name) in said.shapes:
                    state.shapes[str(name)] = said.shapes[str(name)]
        return Step(
            kind=key,
            spec=dict(saves) if standalone else body,
            save={} if standalone else {str(k): str(v) for k, v in saves.items()},
            name=str(raw.get("name") or ""),
            location=location,
            path=format_path(path),
            default_title=said.title,
        )

    def _action_of(self, raw: dict[object, object], path: list[PathPart]) -> str | None:
        """The step's one action (a standalone ``save`` when it has none); problems otherwise."""
        actions = [k for k in raw if isinstance(k, str) and k in self.kinds.actions]
        unknown = self._unknown_keys(raw, path)
        if len(actions) > 1:
            self.problems.append(
                self.doc.problem(
                    path, f"this step has {len(actions)} actions ({', '.join(actions)}); give each its own step"
                )
            )
        if actions:
            return actions[0]
        if STANDALONE_SAVE in raw and STANDALONE_SAVE in self.kinds:
            return STANDALONE_SAVE
        if not unknown:
            self.problems.append(
                self.doc.problem(path, f"this step does nothing: add one of {', '.join(self.kinds.actions)}")
            )
        return None

    def _unknown_keys(self, raw: dict[object, object], path: list[PathPart]) -> list[object]:
        known = self._step_keys
        unknown = [k for k in raw if k not in known]
        for key in unknown:
            self.problems.append(
                self.doc.problem(
                    [*path, str(key)],
                    f"unknown key '{key}' in a step{suggest(str(key), known)}; a step "
                    f"has one action ({', '.join(self.kinds.actions)}) and may have 'name' and 'save'",
                    key=True,
                )
            )
        return unknown

    def _saves(self, raw: dict[object, object], path: list[PathPart], *, standalone: bool) -> dict[object, object]:
        """``save:`` beside an action maps name -> path; a standalone ``save`` maps name -> value."""
        given = raw.get(STANDALONE_SAVE)
        if given is None and not standalone:
            return {}
        if not isinstance(given, dict):
            what = "value" if standalone else "path"
            self.problems.append(self.doc.problem([*path, "save"], f"'save' must be a mapping of name: {what}"))
            return {}
        if not standalone:
            for name, target in given.items():
                if not isinstance(target, str) or not PATH_RE.match(target):
                    self.problems.append(
                        self.doc.problem(
                            [*path, "save", str(name)],
                            f"save path {target!r} is not a path such as 'S1.senderCorrelationID' or 'json.id'",
                        )
                    )
        return given

    def _save_name_ok(self, path: list[PathPart], name: object) -> bool:
        if not isinstance(name, str) or not _NAME.match(name):
            self.problems.append(
                self.doc.problem(
                    [*path, "save", str(name)], f"cannot save as {name!r}: use letters, digits and _", key=True
                )
            )
            return False
        if name in templating.BUILTIN_NAMES:
            self.problems.append(
                self.doc.problem(
                    [*path, "save", name], f"'{name}' is a built-in name; choose another name to save as", key=True
                )
            )
            return False
        return True


def _note(state: _CaseState, said: Verdict, location: Location) -> None:
    """What a step establishes for the steps after it: a message to reply to, a role driven."""
    state.received = state.received or said.receives
    if said.acts_as is not None:
        state.drives.add(said.acts_as)
    if said.listens_at is not None:
        state.listens.setdefault(said.listens_at, location)


# --------------------------------------------------------------------------- case data


def _data_problems(doc: YamlDoc, data: Mapping[str, object], path: list[PathPart]) -> list[Problem]:
    """``data:`` entries that draw from a cohort pool must name a known kind and criteria."""
    kinds = draw_kinds()
    return [
        problem
        for name, value in data.items()
        if isinstance(value, dict) and "draw" in value
        for problem in _draw_problems(doc, kinds, value, [*path, name])
    ]


def _draw_problems(doc: YamlDoc, kinds: DrawKinds, value: dict[object, object], path: list[PathPart]) -> list[Problem]:
    kind = value["draw"]
    if not isinstance(kind, str):
        return [doc.problem([*path, "draw"], f"cannot draw {kind!r}: draw must name a kind of test data, such as mpan")]
    if kind not in kinds:
        return [
            doc.problem(
                [*path, "draw"], f"cannot draw {kind!r}{suggest(kind, kinds)}; kinds: {', '.join(sorted(kinds))}"
            )
        ]
    allowed = kinds[kind]
    return [
        problem
        for crit, crit_value in value.items()
        if crit != "draw" and (problem := _criterion_problem(doc, kind, allowed, str(crit), crit_value, path))
    ]


def _criterion_problem(
    doc: YamlDoc,
    kind: str,
    allowed: Mapping[str, Sequence[object]],
    crit: str,
    value: object,
    path: list[PathPart],
) -> Problem | None:
    if crit not in allowed:
        return doc.problem(
            [*path, crit],
            f"'{crit}' is not a criterion of {kind}{suggest(crit, allowed)}; criteria: "
            f"{', '.join(sorted(allowed)) or 'none'}",
            key=True,
        )
    choices = allowed[crit]
    if not choices or (isinstance(value, str) and "{{" in value):
        return None
    if any(type(value) is type(a) and value == a for a in choices):
        return None
    return doc.problem(
        [*path, crit], f"{value!r} is not a {crit} of {kind}; use one of: {', '.join(map(str, choices))}"
    )
