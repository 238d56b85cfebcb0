"""``send``: act as one of the cohort's participants and submit an interface message to the DIP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mhhs_sit.definitions.impact import ANY_USE, EVERY_SEND, reached, writes
from mhhs_sit.definitions.matchers import mismatches
from mhhs_sit.definitions.message_paths import check_message_paths, is_block_path, saved_shapes
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.payloads import carries_custom_block, check_message, expects_refusal, send_problems
from mhhs_sit.definitions.schemas import CHECKS, INTERFACE, ROLE
from mhhs_sit.definitions.step_checks import check_paths, check_role, sub_mapping
from mhhs_sit.definitions.steps import SaveSource, SpecVersion, StepContext
from mhhs_sit.dip.envelope import Sender, build_message, field, gsp_group_for, response_code
from mhhs_sit.errors import EnvironmentBroken, Problem, ScenarioFailure, StepDefinitionError
from mhhs_sit.execution import journal
from mhhs_sit.execution import recipients as routing
from mhhs_sit.execution.case import CaseRun, broken_if_server_error
from mhhs_sit.execution.steps.base import RunnableBase, mapping, optional_text, rendered, text, texts

if TYPE_CHECKING:
    from mhhs_sit.catalogue.model import Change
    from mhhs_sit.definitions.template_names import Shape
    from mhhs_sit.dip.client import Exchange

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["as", "interface", "event"],
    "properties": {
        "as": ROLE,
        "interface": INTERFACE,
        "event": {"type": "string", "minLength": 1},
        "mpan": {"type": "string"},
        "custom": {"type": "object"},
        "common": {"type": "object"},
        "to": {"type": "array", "items": {"type": "string"}},
        "correlation_id": {"type": "string"},
        "reply_to": {"type": "string"},
        "sub_text": {"type": "string"},
        "gsp_group": {"type": "string"},
        "distributor_dip_id": {"type": "string"},
        "sender_dip_id": {"type": "string"},
        "sender_role": {"type": "string"},
        "response": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "json": CHECKS,
            },
        },
    },
}


@dataclass(frozen=True)
class ExpectedResponse:
    """What the DIP must answer: by default 201 with MSG0000 (accepted)."""

    status: int = 201
    code: str | None = "MSG0000"
    json: Mapping[str, object] | None = None

    @classmethod
    def parse(cls, body: Mapping[str, object] | None) -> ExpectedResponse:
        if not body:
            return cls()
        status = body.get("status", 201)
        if not isinstance(status, int):
            raise StepDefinitionError(f"'response.status' must be a whole number, not {status!r}")
        code = optional_text(body, "code") if "code" in body else cls.code
        return cls(status, code, mapping(body, "json"))


@dataclass(frozen=True)
class SendSpec:
    """A rendered ``send`` body."""

    role: str
    interface: str
    event: str
    response: ExpectedResponse
    reply_to: str | Mapping[str, object] | None = None
    mpan: str | None = None
    custom: Mapping[str, object] | None = None
    common: Mapping[str, object] | None = None
    to: tuple[str, ...] | None = None
    correlation_id: str | None = None
    sub_text: str | None = None
    gsp_group: str | None = None
    distributor_dip_id: str | None = None
    sender_dip_id: str | None = None
    sender_role: str | None = None
    refusal_expected: bool = False

    @classmethod
    def parse(cls, body: Mapping[str, object]) -> SendSpec:
        reply_to = body.get("reply_to")
        return cls(
            role=text(body, "as"),
            interface=text(body, "interface"),
            event=text(body, "event"),
            response=ExpectedResponse.parse(mapping(body, "response")),
            reply_to=_reply_to(reply_to),
            mpan=optional_text(body, "mpan"),
            custom=mapping(body, "custom"),
            common=mapping(body, "common"),
            to=texts(body, "to"),
            correlation_id=optional_text(body, "correlation_id"),
            sub_text=optional_text(body, "sub_text"),
            gsp_group=optional_text(body, "gsp_group"),
            distributor_dip_id=optional_text(body, "distributor_dip_id"),
            sender_dip_id=optional_text(body, "sender_dip_id"),
            sender_role=optional_text(body, "sender_role"),
            refusal_expected=expects_refusal(body),
        )


def _reply_to(value: object) -> str | Mapping[str, object] | None:
    if value in (None, ""):
        return None
    if value == "previous":
        return "previous"
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    raise StepDefinitionError(f"reply_to must be 'previous' or a saved message, not {value!r}")


def deep_merge(base: dict[str, object], override: Mapping[str, object]) -> dict[str, object]:
    for key, value in override.items():
        below = base.get(key)
        if isinstance(value, Mapping) and isinstance(below, dict):
            deep_merge(below, value)
        else:
            base[key] = value
    return base


class SendStep(RunnableBase):
    key = "send"
    schema = SCHEMA
    saves_from: SaveSource = "message"

    def check(self, body: object, at: StepContext) -> list[Problem]:
        if not isinstance(body, dict):
            return []
        problems = check_role(at, body, "as")
        if body.get("reply_to") == "previous" and not at.received:
            problems.append(at.problem(["reply_to"], "'reply_to: previous' needs an earlier expect step to reply to"))
        problems += check_paths(at, sub_mapping(body, "response").get("json"), ["response", "json"], "response.json")
        return problems + _refusal_without_code(at, sub_mapping(body, "response"))

    def title(self, body: object) -> str:
        if not isinstance(body, Mapping):
            return f"send {body}"
        return f"{body.get('as')} sends {body.get('interface')} [{body.get('event')}]"

    def acts_as(self, body: object) -> str | None:
        role = body.get("as") if isinstance(body, Mapping) else None
        return role if isinstance(role, str) else None

    def catalogue_problems(self, body: object, at: StepContext, spec: SpecVersion) -> list[Problem]:
        if not isinstance(body, Mapping):
            return []
        problems = send_problems(at.doc, list(at.path), body, spec.version, spec.dip_spec)
        interface, event = body.get("interface"), body.get("event")
        if problems or not isinstance(interface, str) or not isinstance(event, str) or "{{" in interface + event:
            return problems
        sent = {name: path for name, path in at.save.items() if isinstance(path, str) and is_block_path(path)}
        return check_message_paths(
            at.doc, [*at.path[:-1], "save"], sent, interface, (event.strip("[]"),), spec.version, keys=False
        )

    def saved_shapes(self, body: object, at: StepContext, spec: SpecVersion) -> Mapping[str, Shape]:
        interface, event = (body.get("interface"), body.get("event")) if isinstance(body, Mapping) else (None, None)
        if not isinstance(interface, str) or not isinstance(event, str) or "{{" in interface + event:
            return {}
        return saved_shapes(at.save, interface, (event.strip("[]"),), spec.version)

    def affected_by(self, body: object, save: Mapping[str, str], change: Change) -> bool:
        """Any use for a whole-interface change; every send for a new or now required field; else
        a send whose CustomBlock writes the changed field."""
        found = reached(body, change)
        if found is None:
            return False
        given, parts = found
        return change.kind in ANY_USE or change.kind in EVERY_SEND or writes(given.get("custom") or {}, parts)

    def run(self, run: CaseRun, step: Step) -> dict[str, object]:
        spec = SendSpec.parse(rendered(run, step))
        message, dip_id = build(run, spec)
        _check_built(run, spec, message)
        exchange = run.runtime.client.send(spec.interface, [message], dip_id=dip_id)
        if exchange.recovered:
            exchange.accepted_as = journal.original_transaction(run, spec.interface, dip_id, message)
        if run.current is not None:
            run.current.exchanges.append(exchange.as_dict())
        status = _judge(spec, exchange)
        response = _needed_response(run, step, spec, exchange)
        return {**message, "response": response, "status": status}  # the engine names faults in a failure


def _refusal_without_code(at: StepContext, response: Mapping[object, object]) -> list[Problem]:
    """A refusal (``status`` not 2xx) must name the code it expects: left out, the step would
    expect MSG0000, the code of an accepted message, which no refusal carries."""
    status = response.get("status")
    if not isinstance(status, int) or 200 <= status < 300 or "code" in response:
        return []
    return [
        at.problem(
            ["response", "status"],
            f"status {status} with no 'code:' would expect {ExpectedResponse.code} (accepted), which the DIP never "
            f"answers with {status}; name the refusal expected, e.g. {{status: {status}, code: MSG1001}} "
            "(MSG1001 schema failure, MSG1006 duplicated reference; see the DIP spec's response codes)",
        )
    ]


def build(run: CaseRun, spec: SendSpec) -> tuple[dict[str, object], str]:
    """The payload to send and the DIP ID whose credentials send it."""
    cohort = run.cohort
    participant = cohort.participants[spec.role]
    correlation, mpan = _answering(_reply_target(run, spec.reply_to), spec)
    ldso = cohort.participants.get("LDSO")
    message = build_message(
        interface_id=spec.interface,
        event=spec.event,
        sender=Sender(spec.sender_dip_id or participant.dip_id, spec.sender_role or participant.role),
        environment_tag=run.runtime.environment.environment_tag,
        refs=run.runtime.refs,
        custom=spec.custom,
        recipients=routing.primary_recipients(cohort, spec.interface, spec.to, sender_role=spec.role),
        mpan=str(mpan) if mpan is not None else None,
        distributor_dip_id=spec.distributor_dip_id or (ldso.dip_id if ldso else None),
        gsp_group=spec.gsp_group or drawn_gsp_group(run, mpan),
        correlation_id=correlation,
        sub_text=spec.sub_text or f"mhhs-sit {run.claim} run {run.runtime.run_id}",
        custom_block=spec.custom is not None or carries_custom_block(spec.interface, spec.event),
    )
    common = message["CommonBlock"]
    if spec.common and isinstance(common, dict):
        deep_merge(common, spec.common)
    return message, participant.dip_id


def drawn_gsp_group(run: CaseRun, mpan: object) -> str | None:
    """The GSP group of an MPAN this cohort drew: an iDNO's MPAN does not tell it by its first two
    digits, as a DNO's does, so the metering point's own group is the only source."""
    if not isinstance(mpan, str) or len(mpan) != 13 or gsp_group_for(mpan) is not None:
        return None  # not a core, or a DNO's, whose id tells its group (no pool lookup per send)
    point = run.runtime.pool(run.cohort).locate(mpan)
    group = point.get("gsp_group") if point else None
    return group if isinstance(group, str) else None


def _answering(replying: Mapping[str, object] | None, spec: SendSpec) -> tuple[str | None, object]:
    """The correlation id and MPAN: the step's own, else those of the message it replies to."""
    if replying is None:
        return spec.correlation_id, spec.mpan
    correlation = (
        spec.correlation_id
        or field(replying, "D0", "initialCorrelationID")
        or field(replying, "S1", "senderCorrelationID")
    )
    return (str(correlation) if correlation else None), spec.mpan or field(replying, "M0", "MPANCore")


def _reply_target(run: CaseRun, reply_to: str | Mapping[str, object] | None) -> Mapping[str, object] | None:
    if reply_to is None or isinstance(reply_to, Mapping):
        return reply_to
    if run.last_received is None:
        raise StepDefinitionError("'reply_to: previous' but no message has been received yet")
    return run.last_received


def _check_built(run: CaseRun, spec: SendSpec, message: Mapping[str, object]) -> None:
    """Templates are only resolved now: check what they produced before the DIP sees it."""
    version, dip_spec = run.runtime.version, run.runtime.dip_spec
    if not version or spec.refusal_expected:
        return
    violations = check_message(message, spec.interface, version, dip_spec)
    if violations:
        against = f"the DIP spec at {dip_spec}" if dip_spec else f"spec version {version}"
        raise StepDefinitionError(f"the message this step builds breaks {against}: " + "; ".join(violations))


def _accepted_earlier(spec: SendSpec, exchange: Exchange) -> bool:
    """A send the DIP accepted on an attempt whose answer was lost (the retry met MSG1006), where
    the step wanted that acceptance; a step that wants MSG1006 takes the refusal as it came."""
    return exchange.recovered and spec.response.code != "MSG1006"


def _needed_response(run: CaseRun, step: Step, spec: SendSpec, exchange: Exchange) -> object:
    """The answer a ``save:`` reads: for a send accepted earlier, the original transaction where the
    environment's journal names it; when it cannot, a save that reads the answer is broken."""
    if not _accepted_earlier(spec, exchange):
        return exchange.response_body
    reading = sorted(name for name, path in step.save.items() if path.split(".", 1)[0].startswith("response"))
    if exchange.accepted_as is None and reading:
        why = (
            "the simulator journal has no such message"
            if run.runtime.environment.is_local
            else "this DIP offers a sender no lookup of a sent message"
        )
        reason = (
            f"cannot save {', '.join(repr(n) for n in reading)} from the DIP's answer to {spec.interface}: "
            f"accepted earlier, transaction id unknown ({exchange.note}; {why})"
        )
        raise EnvironmentBroken(reason)
    origin = "from the simulator journal" if exchange.accepted_as else "unknown"
    return {
        "messageArray": [
            {
                "transactionID": exchange.accepted_as,
                "message": f"MSG0000 - accepted by an earlier attempt whose answer was lost (transaction id {origin})",
            }
        ],
        "recovered_from": exchange.response_body,
    }


def _judge(spec: SendSpec, exchange: Exchange) -> int | None:
    """The status the step saw, once the answer met what the step expects (else it fails)."""
    expected = spec.response
    body = exchange.response_body
    broken_if_server_error(exchange.status, expected.status, f"the DIP ({spec.interface})", body)
    code, status = response_code(body), exchange.status
    if not isinstance(body, Mapping) and (expected.code or (status or 0) < 300):
        what = "an empty body" if body is None else f"a body that is not JSON ({str(body)[:100]!r})"
        raise EnvironmentBroken(
            f"the DIP answered {spec.interface} with HTTP {status} and {what} after {exchange.attempts} "
            "attempt(s): the outcome cannot be read"
        )
    if _accepted_earlier(spec, exchange):
        # Accepted, though the answer that said so was lost and the retry met MSG1006: what an
        # idempotent participant must conclude. The answer's own fields were lost with it.
        if expected.json:
            raise EnvironmentBroken(
                f"the step checks the DIP's answer to {spec.interface} (response.json), but that answer was "
                f"lost: {exchange.note}"
            )
        return 201 if expected.status == 201 else _wrong_outcome(spec, "accepted it (201, MSG0000)")
    failures = []
    if status != expected.status:
        failures.append(f"HTTP {status}, expected {expected.status}")
    if expected.code and code != expected.code:
        failures.append(f"response code {code}, expected {expected.code}")
    if expected.json:
        failures += mismatches(body, expected.json)
    if failures:
        raise ScenarioFailure(
            f"the DIP answered {spec.interface} from {spec.role} with {'; '.join(failures)}{_describe(body)}"
        )
    return status


def _wrong_outcome(spec: SendSpec, what: str) -> int:
    raise ScenarioFailure(
        f"the DIP {what} for {spec.interface} from {spec.role}; expected HTTP {spec.response.status}"
        f"{' ' + spec.response.code if spec.response.code else ''}"
    )


def _describe(body: object) -> str:
    if isinstance(body, Mapping):
        items = body.get("messageArray") or []
        texts = [
            f"{i.get('message')}{': ' + str(i.get('help')) if i.get('help') else ''}"
            for i in (items if isinstance(items, list) else [])
            if isinstance(i, Mapping)
        ]
        if texts:
            return " — " + " | ".join(texts)[:1500]
    return f" — {str(body)[:300]}" if body else ""


KIND = SendStep()
