"""The DIP client: what a participant's system does to talk to the DIP, on ``requests``.

One session per worker (connection reuse matters: a new TCP connection per message costs more
than the message). Every call has a timeout. Only idempotent operations are retried: webhook
configuration, queries, and message sends, which are made idempotent by re-sending the *same*
body: the DIP refuses a repeated ``senderUniqueReference`` with ``MSG1006``, so a retry after an
ambiguous failure can never deliver twice, and that refusal then means "already accepted".
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import requests
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.utils import get_netrc_auth

from mhhs_sit.core.jsonvalue import JsonValue
from mhhs_sit.dip.envelope import response_code
from mhhs_sit.dip.loopback import LOOPBACK_PREFIXES, LoopbackAdapter, is_loopback_url
from mhhs_sit.dip.signing import SIGNATURE_CERTIFICATE, Signer
from mhhs_sit.errors import EnvironmentBroken

if TYPE_CHECKING:
    from requests.sessions import _Settings  # the stubs' type of merge_environment_settings's answer

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAYBE_PROCESSED = frozenset({500, 502, 504})


@dataclass
class Exchange:
    """One HTTP request and its answer, kept for evidence (secrets are not recorded)."""

    method: str
    url: str
    request_body: object
    status: int | None = None
    response_body: JsonValue = None  # the answer parsed as JSON, else its text
    elapsed_ms: float = 0.0
    attempts: int = 1
    note: str = ""
    recovered: bool = False  # accepted by an earlier attempt whose answer was lost (MSG1006 on the retry)
    accepted_as: str | None = None  # a recovered send's transactionID, where the environment could tell
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "url": self.url,
            "request": {"headers": self.request_headers, "body": self.request_body},
            "response": {"status": self.status, "headers": self.response_headers, "body": self.response_body},
            "elapsed_ms": round(self.elapsed_ms, 2),
            "attempts": self.attempts,
            **({"note": self.note} if self.note else {}),
            **({"recovered": {"transactionID": self.accepted_as}} if self.recovered else {}),
        }


SECRET_HEADERS = frozenset({"x-api-key", "authorization", "x-dip-signature", "cookie"})


def public_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers fit for evidence: secrets masked, the (public but long) signing certificate shortened."""
    out = {}
    for k, v in headers.items():
        if k.lower() in SECRET_HEADERS:
            v = "***"
        elif k.lower() == SIGNATURE_CERTIFICATE.lower() and len(v) > 40:
            v = f"sha256:{hashlib.sha256(v.encode()).hexdigest()[:16]} ({len(v)} chars)"  # tells certificates apart
        out[k] = v
    return out


def _body(response: requests.Response) -> JsonValue:
    if not response.content:
        return None
    try:
        parsed: JsonValue = response.json()
    except ValueError:
        return response.text
    return parsed


class DipClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key_for: Callable[[str], str | None],
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.2,
        cert: tuple[str, str] | None = None,
        verify: bool | str = True,
        session: requests.Session | None = None,
        signer_for: Callable[[str], Signer | None] | None = None,
        cert_for: Callable[[str | None], tuple[str, str] | None] | None = None,
    ):
        """``signer_for(dip_id)`` signs every request sent as that DIP ID (X-DIP-* headers);
        ``cert_for(dip_id)`` is its TLS client certificate, when participants have their own."""
        self.base_url = base_url.rstrip("/")
        self.api_key_for = api_key_for
        self.signer_for = signer_for
        self.cert_for = cert_for
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()
        if is_loopback_url(self.base_url):
            # requests re-reads proxy and CA variables from the environment on every request
            # (~1 ms each); a loopback DIP never goes through a proxy, so skip that.
            self.session.trust_env = False
        if session is None:
            adapter = LoopbackAdapter()  # a DIP on this machine needs no urllib3 (see its module)
            for prefix in LOOPBACK_PREFIXES:
                self.session.mount(prefix, adapter)
        if cert:
            self.session.cert = cert
        self.session.verify = verify

    def close(self) -> None:
        self.session.close()

    # -- the DIP API ---------------------------------------------------------------

    def send(self, interface_id: str, messages: Sequence[Mapping[str, object]], *, dip_id: str) -> Exchange:
        """POST a batch to ``/dip-channel/{IF}``; the same body is re-sent on a retry."""
        body = [{"payload": m} for m in messages]
        return self._call("POST", f"/dip-channel/{interface_id}", dip_id=dip_id, body=body, duplicate_means_done=True)

    def configure_webhook(self, interface_id: str, recipient_dip_id: str, callback_url: str) -> Exchange:
        body = {"callbackURL": callback_url, "maxMessageCount": 100, "maxPayloadSize": 1048576}
        exchange = self._call(
            "POST", f"/dip-channel/{interface_id}/pubconfig/{recipient_dip_id}", dip_id=recipient_dip_id, body=body
        )
        if exchange.status is None or exchange.status >= 300:
            raise EnvironmentBroken(
                f"the DIP refused the webhook for {interface_id} to {recipient_dip_id}: "
                f"HTTP {exchange.status} {_answer_text(exchange.response_body)}"
            )
        return exchange

    def request(
        self,
        method: str,
        url: str,
        *,
        dip_id: str | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
        data: str | None = None,
        timeout: float | None = None,
    ) -> Exchange:
        """Any other HTTP call (the ``http`` step): no retries unless the method is safe.

        ``body`` is sent as JSON, ``data`` as text; ``timeout`` replaces the read timeout."""
        absolute = url if url.startswith(("http://", "https://")) else self.base_url + url
        return self._call(
            method,
            absolute,
            dip_id=dip_id,
            absolute=True,
            body=body,
            headers=headers,
            params=params,
            data=data,
            timeout=timeout,
        )

    # -- plumbing ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        dip_id: str | None,
        body: object = None,
        absolute: bool = False,
        duplicate_means_done: bool = False,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
        data: str | None = None,
        timeout: float | None = None,
    ) -> Exchange:
        url = path if absolute else self.base_url + path
        signer = self._signer(dip_id)
        if signer is not None and params:
            # the signature covers the full URL as sent, query string included
            url = requests.Request(method, url, params=params).prepare().url or url
            params = None
        out = _Outgoing(
            method,
            url,
            self._headers(dip_id, headers, json_body=body is not None),
            _payload(body, data),
            params,
            (self.timeout[0], timeout) if timeout else self.timeout,
            self.cert_for(dip_id) if self.cert_for else None,  # None: the runtime picks one
            signer,
            1 + (self.retries if _idempotent(method, url, duplicate_means_done) else 0),
            duplicate_means_done,
        )
        return self._exchange(out, body if body is not None else data)

    def _signer(self, dip_id: str | None) -> Signer | None:
        """Who signs what is sent as ``dip_id`` (nobody, unless the run signs requests)."""
        return self.signer_for(dip_id) if dip_id and self.signer_for else None

    def _exchange(self, out: _Outgoing, request_body: object) -> Exchange:
        """Send ``out`` with its retries; EnvironmentBroken when no attempt got an answer."""
        exchange = Exchange(out.method, out.url, request_body, request_headers=public_headers(out.headers))
        start = time.perf_counter()
        failure = self._send(out, exchange)
        exchange.elapsed_ms = (time.perf_counter() - start) * 1000
        if exchange.status is None:
            raise EnvironmentBroken(
                f"{out.method} {out.url}: {failure.last_error} (after {exchange.attempts} "
                f"attempt{'s' if exchange.attempts > 1 else ''})"
            )
        return exchange

    def _headers(self, dip_id: str | None, extra: Mapping[str, str] | None, *, json_body: bool) -> dict[str, str]:
        """The request's headers before signing: the caller's, the sender's API key, the body's type."""
        sent: dict[str, str] = {"Accept": "application/json", **(extra or {})}
        key = self.api_key_for(dip_id) if dip_id else None
        if key:
            sent["X-API-Key"] = key
        if json_body:
            sent.setdefault("Content-Type", "application/json")
        return sent

    def _send(self, out: _Outgoing, exchange: Exchange) -> _Failure:
        """Every attempt ``out`` is allowed, until one is final; the answer lands in ``exchange``."""
        failure = _Failure()
        for attempt in range(1, out.attempts + 1):
            exchange.attempts = attempt
            if out.signer is not None:  # signed afresh per attempt: a re-sent old signature reads as a replay
                out.headers.update(out.signer.headers(out.method, out.url, out.payload or b""))
                exchange.request_headers = public_headers(out.headers)
            pause = self._attempt(out, exchange, failure, attempt)
            if pause is None or attempt == out.attempts:
                break
            time.sleep(pause)
        return failure

    def _attempt(self, out: _Outgoing, exchange: Exchange, failure: _Failure, attempt: int) -> float | None:
        """One attempt: the pause before the next one, or None when its answer is final."""
        try:
            r = self._transmit(out)
        except requests.RequestException as exc:
            failure.note(exc, out.timeout[1], retried=attempt > 1)
            return self._backoff(attempt)
        return self._answer(r, out, exchange, failure, attempt)

    def _transmit(self, out: _Outgoing) -> requests.Response:
        """What ``session.request`` does, without its generic merging of per-request settings.

        ``Session.prepare_request`` merges cookies, auth, params, headers and hooks through
        generic helpers whose protocol ``isinstance`` checks cost more than anything else the
        client does per call (a third of its time); a DIP call sets none of them but headers, so
        they are merged here directly with the same precedence: the call's headers over the
        session's (a header the session sets to None dropped), the session's params under the
        call's, its cookies, hooks and credentials (or netrc's, when it trusts the environment).
        The steps are ``PreparedRequest.prepare``'s, in its order, but a URL without parameters
        is prepared once (a DIP client calls few distinct URLs, and preparing one parses it).
        """
        session = self.session
        prepared = requests.PreparedRequest()
        prepared.prepare_method(out.method)
        params = _merged_params(session.params, out.params)
        if params:
            prepared.prepare_url(out.url, params)
        else:
            prepared.url = _prepared_url(out.url)
        prepared.prepare_headers(_merged_headers(session.headers, out.headers))
        if session.cookies:  # an empty jar adds no header: its policy machinery is skipped (see _sent)
            cookies = RequestsCookieJar()  # a copy, as the session's jar is only read here
            cookies.update(session.cookies)
            prepared.prepare_cookies(cookies)
        prepared.prepare_body(out.payload or {}, None)
        auth = _auth(session, out.url)
        if auth is not None or "@" in (prepared.url or ""):  # else prepare_auth finds nothing to add
            prepared.prepare_auth(auth, out.url)
        prepared.prepare_hooks(session.hooks)
        return _sent(session, prepared, out.timeout, _settings(session, prepared.url or "", out.cert))

    def _backoff(self, attempt: int) -> float:
        return self.backoff * 2.0 ** (attempt - 1)

    def _answer(
        self, r: requests.Response, out: _Outgoing, exchange: Exchange, failure: _Failure, attempt: int
    ) -> float | None:
        """Record an answer; the pause before asking again when it is not final, else None."""
        exchange.status = r.status_code
        exchange.response_body = _body(r)
        exchange.response_headers = dict(r.headers)
        if attempt < out.attempts:
            pause = self._pause_before_asking_again(r, out, failure, attempt)
            if pause is not None:
                return pause
        if out.duplicate_means_done and failure.ambiguous and response_code(exchange.response_body) == "MSG1006":
            # The answer as it came (400 MSG1006) is kept: the acceptance it implies has no
            # transaction id of its own, and the caller looks it up where the environment can tell.
            exchange.note = (
                f"accepted by an earlier attempt whose answer was lost ({failure.last_error or 'no answer'}): "
                "the retry was refused as a duplicate senderUniqueReference (MSG1006)"
            )
            exchange.recovered = True
        return None

    def _pause_before_asking_again(
        self, r: requests.Response, out: _Outgoing, failure: _Failure, attempt: int
    ) -> float | None:
        """For an answer that does not settle the call, the pause before the next attempt; else None."""
        if r.status_code in RETRY_STATUSES:
            # 408, 429 and 503 say the request was not processed; after a 500, 502 or 504 it may have been.
            failure.ambiguous = failure.ambiguous or r.status_code in MAYBE_PROCESSED
            failure.last_error = f"HTTP {r.status_code}"
            return _retry_after(r) or self._backoff(attempt)
        if out.duplicate_means_done and not r.content:
            # No StandardResponse at all: the outcome is unknown, so ask again (same body).
            failure.ambiguous = True
            failure.last_error = f"HTTP {r.status_code} with an empty body"
            return self._backoff(attempt)
        return None


def _sent(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    timeout: tuple[float, float] | tuple[float, None],
    settings: _Settings,
) -> requests.Response:
    """What ``Session.send`` does with a prepared call, with its costs paid only when they apply.

    ``Session.send`` runs every answer through the cookie jar's policy machinery and the redirect
    resolver, a third of the client's per-call time for answers that set no cookie and are no
    redirect (every DIP answer). Here the adapter sends (the one ``responses`` replaces in unit
    tests), then hooks run, cookies are kept when the answer sets any, redirects are followed when
    it is one, and the body is read, as ``Session.send`` does.
    """
    stream, cert, proxies = settings["stream"], settings["cert"], settings["proxies"]
    verify = True if settings["verify"] is None else settings["verify"]
    r = session.get_adapter(prepared.url or "").send(
        prepared, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
    )
    for hook in prepared.hooks.get("response", []):
        r = hook(r, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies) or r
    if "set-cookie" in r.headers:
        _keep_cookies(session.cookies, prepared, r.raw)
    if r.is_redirect:
        if not session.cookies:  # resolving a redirect reads the call's jar: the one skipped when empty
            prepared.prepare_cookies(RequestsCookieJar())
        redirected = session.resolve_redirects(
            r,
            prepared,
            stream=stream,
            timeout=timeout,
            verify=verify,  # type: ignore[arg-type]  # the stubs say bool; requests takes a CA path too
            cert=cert,
            proxies=proxies,
        )
        history = [r, *redirected]
        r = history.pop()
        r.history = history
    r.content  # noqa: B018 -- reads the body now, as a non-streamed Session.send does
    return r


# requests leaves this one untyped; its signature is (jar, request, response) -> None
_keep_cookies: Callable[[RequestsCookieJar, requests.PreparedRequest, object], None] = extract_cookies_to_jar


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _idempotent(method: str, url: str, duplicate_means_done: bool) -> bool:
    """Whether a call may be retried: safe methods, sends (the DIP refuses a duplicate), webhooks."""
    return method in _SAFE_METHODS or duplicate_means_done or "/pubconfig/" in url


@dataclass
class _Outgoing:
    """One call as it goes on the wire, the same on every attempt (bar a fresh signature)."""

    method: str
    url: str
    headers: dict[str, str]
    payload: bytes | None
    params: Mapping[str, object] | None
    timeout: tuple[float, float] | tuple[float, None]
    cert: tuple[str, str] | None
    signer: Signer | None
    attempts: int
    duplicate_means_done: bool


@dataclass
class _Failure:
    """What the attempts so far say: the last error, and whether the DIP may have acted on one."""

    last_error: str = ""
    ambiguous: bool = False

    def note(self, exc: requests.RequestException, read_timeout: float | None, *, retried: bool) -> None:
        if isinstance(exc, requests.Timeout):
            self.last_error = f"timed out after {read_timeout:g}s ({type(exc).__name__})"
            self.ambiguous = True
        elif isinstance(exc, requests.ConnectionError):
            self.last_error = f"cannot connect: {_reason(exc)}"
            # "Connection aborted": the request went out and the connection broke (e.g. a reset)
            self.ambiguous = self.ambiguous or retried or "Connection aborted" in str(exc)
        else:
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.ambiguous = True  # e.g. a truncated answer: the request was received, maybe accepted


def _merged_headers(session: Mapping[str, str | bytes | None], call: Mapping[str, str]) -> dict[str, str | bytes]:
    """The session's headers overridden by the call's, as ``Session.prepare_request`` merges them:
    names match ignoring case, a header keeps its first place and takes its last spelling."""
    merged = {name.lower(): (name, value) for name, value in session.items()}
    merged.update((name.lower(), (name, value)) for name, value in call.items())
    return {name: value for name, value in merged.values() if value is not None}


def _merged_params(session: object, call: Mapping[str, object] | None) -> object:
    """The query parameters: the session's (rarely any) under the call's. As in requests, only a
    mapping of the session's merges; another kind gives way to the call's, even to none."""
    if not session or not isinstance(session, Mapping):
        return call
    return {**session, **call} if call else session


@lru_cache(maxsize=512)
def _prepared_url(url: str) -> str:
    """``url`` as requests sends it (quoted, IDNA host); raises as ``prepare_url`` does."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url or url


def _settings(session: requests.Session, url: str, cert: tuple[str, str] | None) -> _Settings:
    """``Session.merge_environment_settings`` for a call that sets none of its own: the session's,
    read straight when it does not trust the environment (a loopback DIP's)."""
    if session.trust_env:
        return session.merge_environment_settings(url, {}, None, None, cert)
    return {
        "proxies": dict(session.proxies),
        "stream": session.stream,
        "verify": session.verify,
        "cert": cert if cert is not None else session.cert,
    }


def _auth(session: requests.Session, url: str) -> object:
    """The session's credentials, else (when it trusts the environment) the netrc file's for ``url``."""
    netrc = get_netrc_auth(url) if session.trust_env and not session.auth else None
    return netrc if netrc is not None else session.auth


def _payload(body: object, data: str | None) -> bytes | None:
    """The bytes sent: a JSON body compactly encoded, else the raw text, else nothing."""
    if body is not None:
        return json.dumps(body, separators=(",", ":")).encode()
    return data.encode() if data is not None else None


def _retry_after(r: requests.Response) -> float | None:
    value = r.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(float(value), 30.0)
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "reset by peer"):
        if marker in text:
            return marker
    return text[:200]


def _answer_text(body: object) -> str:
    """A StandardResponse's first message and help (what names an injected fault), else the body cut short."""
    items = body.get("messageArray") if isinstance(body, Mapping) else None
    first = items[0] if isinstance(items, list) and items else None
    if isinstance(first, Mapping) and first.get("message"):
        return " ".join(str(first[k]) for k in ("message", "help") if first.get(k))[:600]
    return json.dumps(body)[:300]
