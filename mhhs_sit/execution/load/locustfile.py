"""The Locust user a load case runs: one participant sending one message template to the DIP.

Loaded only by Locust, in its own processes (``locust_job`` starts them): never import this module
from the framework, as Locust patches the socket module when it is imported. The job (URL,
interface, the message built by the case, pacing) comes from the JSON file named by
``MHHS_SIT_LOAD_JOB``; the API key comes from an environment variable, the signing key from the participant's own key
file (named in the job, as the run found it).
Each send is the template with a fresh ``senderUniqueReference``, timestamp and correlation id,
signed afresh when the participant signs.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import ssl
from collections.abc import Callable
from typing import Any

from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

from mhhs_sit.dip.envelope import ReferenceSource, dip_timestamp, response_code
from mhhs_sit.dip.signing import Signer

JOB: dict[str, Any] = json.loads(open(os.environ["MHHS_SIT_LOAD_JOB"], encoding="utf-8").read())  # noqa: SIM115
API_KEY = os.environ.get("MHHS_SIT_LOAD_API_KEY")
SIGNER = (
    Signer.from_pem(open(JOB["sign_key"], "rb").read(), open(JOB["sign_cert"], "rb").read())  # noqa: SIM115
    if JOB.get("sign_key")
    else None
)
_REFS: dict[int, ReferenceSource] = {}


def refs() -> ReferenceSource:
    """This process's references: Locust forks its workers after loading this module, so a source
    made at import would hand every worker the same tag and counter (duplicates, MSG1006)."""
    pid = os.getpid()
    if pid not in _REFS:
        _REFS[pid] = ReferenceSource()
    return _REFS[pid]


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=JOB.get("ca"))
    if JOB.get("client_cert"):
        context.load_cert_chain(JOB["client_cert"], JOB.get("client_key"))
    return context


def fresh_message() -> dict[str, Any]:
    """The template as a new message: what the DIP requires to be unique is new."""
    message: dict[str, Any] = copy.deepcopy(JOB["template"])
    s1 = message["CommonBlock"]["S1"]
    moment = dt.datetime.now(dt.UTC)
    source = refs()
    s1["senderUniqueReference"] = source.unique_reference(
        JOB["interface"], s1["senderDIPID"], s1["senderRoleID"], moment.date()
    )
    s1["senderTimestamp"] = dip_timestamp(moment)
    s1["senderCorrelationID"] = source.correlation_id(moment.date())
    return message


class DipSender(FastHttpUser):
    host = JOB["url"]
    wait_time = constant_throughput(JOB["rate_per_user"]) if JOB.get("rate_per_user") else constant(0)
    if JOB["url"].startswith("https://"):
        ssl_context_factory = staticmethod(_tls_context)

    @task
    def send(self) -> None:
        text = json.dumps([{"payload": fresh_message()}], separators=(",", ":"))
        body = text.encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if API_KEY:
            headers["X-API-Key"] = API_KEY
        if SIGNER is not None:
            headers.update(SIGNER.headers("POST", JOB["url"] + JOB["path"], body))
        with self.client.post(JOB["path"], data=text, headers=headers, name=JOB["interface"], catch_response=True) as r:
            code = _code(r.text)
            if r.status_code == 0:
                r.failure(f"no answer: {r.error!r}")  # keeps the connection error's name
            elif r.status_code != 201 or code != "MSG0000":
                r.failure(f"HTTP {r.status_code} {code or ''}".strip())


def _code(text: str | None) -> str | None:
    try:
        return response_code(json.loads(text or "null"))
    except ValueError:
        return None


def write_figures(environment: Environment, **_: object) -> None:
    """The final figures, by Locust's own arithmetic, where the job asks (its CSV files are written
    on a timer and can miss the last second; this runs once every worker has reported)."""
    if isinstance(environment.runner, WorkerRunner) or environment.runner is None:
        return
    stats = environment.runner.stats
    total = stats.total
    figures = {
        "sent": total.num_requests,
        "failed": total.num_failures,
        "throughput": total.total_rps - total.total_fail_per_sec,
        "p50": total.get_response_time_percentile(0.5) if total.num_requests else 0,
        "p95": total.get_response_time_percentile(0.95) if total.num_requests else 0,
        "p99": total.get_response_time_percentile(0.99) if total.num_requests else 0,
        "max": total.max_response_time if total.num_requests else 0,
        "errors": sorted(((str(e.error), int(e.occurrences)) for e in stats.errors.values()), key=lambda e: -e[1]),
    }
    with open(JOB["figures"], "w", encoding="utf-8") as f:
        json.dump(figures, f, default=str)


# Locust's event hooks are untyped: ``add_listener(handler) -> handler``
_on_quitting: Callable[[Callable[..., None]], object] = events.quitting.add_listener
_on_quitting(write_figures)
