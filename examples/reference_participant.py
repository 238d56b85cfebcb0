"""What every reference system under test shares: DIP signing, its certificate, talking to the DIP
and a webhook receiver. Each reference system (``reference_ldso/ldso.py``, ``reference_sds/sds.py``)
adds only its role's rules: which webhooks it registers and what it answers.

Standard library plus ``cryptography`` only, and no import of mhhs-sit: it talks to the DIP as any
participant's system would.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import itertools
import json
import os
import queue
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Json = Any  # a parsed JSON value: what json.loads gives


# -- signing (docs/simulator.md#authentication, the DIP's request signature) ---------------------


class Signer:
    """The four X-DIP-* headers over a request, with the system's own RSA key and certificate."""

    def __init__(self, key_file: Path, cert_file: Path):
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SystemExit(f"{key_file}: DIP signatures need an RSA key")
        self.key = key
        self.cert_header = base64.b64encode(cert_file.read_bytes()).decode("ascii")

    def headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        now = dt.datetime.now(dt.UTC)
        date = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        text = f"{method.upper()};{url.lower()};{date};{digest}".encode()
        signature = self.key.sign(text, padding.PKCS1v15(), hashes.SHA256())
        return {
            "X-DIP-Content-Hash": digest,
            "X-DIP-Signature-Date": date,
            "X-DIP-Signature": base64.b64encode(signature).decode("ascii"),
            "X-DIP-Signature-Certificate": self.cert_header,
        }


def dip_signature_ok(dip_cert: x509.Certificate, url: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether a delivery carries the DIP's signature over this body and URL."""
    h = {k.lower(): v for k, v in headers.items()}
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    if h.get("x-dip-content-hash") != digest or "x-dip-signature" not in h:
        return False
    text = f"POST;{url.lower()};{h.get('x-dip-signature-date', '')};{digest}".encode()
    public = dip_cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    try:
        public.verify(base64.b64decode(h["x-dip-signature"]), text, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def make_cert(dip_id: str, out: Path, name: str) -> None:
    """A self-signed RSA signing/mTLS certificate for the DIP ID, as an organisation would hold:
    ``<name>.pem`` and ``<name>.key`` in ``out``."""
    key = rsa.generate_private_key(65537, 2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dip_id)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = out / f"{name}.key"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    print(f"certificate {out / f'{name}.pem'}, key {key_path}")


# -- the system: its DIP connection; a role adds accept() ------------------------------------------


class ReferenceSystem:
    """A participant's system on the DIP: its credentials, an outbox a sender thread empties, and
    ``accept`` (the role's rules) for what the webhooks receive."""

    ROLE = ""
    WEBHOOKS: tuple[str, ...] = ()
    READY = ""

    def __init__(self, args: argparse.Namespace, api_key: str):
        self.args = args
        self.api_key = api_key
        self.signer = Signer(Path(args.key), Path(args.cert))
        self.dip_cert = x509.load_pem_x509_certificate(Path(args.dip_cert).read_bytes()) if args.dip_cert else None
        self.outbox: queue.Queue[dict[str, Json] | None] = queue.Queue()
        self.refs = itertools.count(1)

    def accept(self, interface_id: str, payloads: list[Json]) -> tuple[int, str]:
        """What a delivery is answered with: (HTTP status, message)."""
        raise NotImplementedError

    def s1(self, interface_id: str, request_s1: dict[str, Json]) -> dict[str, Json]:
        """The S1 block of an answer: this system as sender, under the request's correlation id."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        reference = (
            f"S-{interface_id}-{self.args.dip_id}-{self.ROLE}-{now:%Y%m%d}-REF{os.getpid()}{next(self.refs):06d}"
        )
        return {
            "environmentTag": request_s1["environmentTag"],
            "subText": None,
            "senderUniqueReference": reference,
            "senderTimestamp": now.isoformat(),
            "senderDIPID": self.args.dip_id,
            "senderRoleID": self.ROLE,
            "senderCorrelationID": request_s1.get("senderCorrelationID"),
            "DIPConnectionProviderID": None,
        }

    def call(self, path: str, body: Json) -> tuple[int, str]:
        url = self.args.dip_url.rstrip("/") + path
        data = json.dumps(body).encode()
        headers = {"X-API-Key": self.api_key, "Content-Type": "application/json"}
        headers.update(self.signer.headers("POST", url, data))
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def register(self, callback_base: str) -> None:
        for interface_id in self.WEBHOOKS:
            path = f"/dip-channel/{interface_id}/pubconfig/{self.args.dip_id}"
            status, text = self.call(path, {"callbackURL": f"{callback_base}/hook/{interface_id}"})
            if status >= 300:
                raise SystemExit(f"the DIP refused the {interface_id} webhook: {status} {text}")

    def send_loop(self) -> None:
        while (payload := self.outbox.get()) is not None:
            interface_id = payload["CommonBlock"]["S0"]["interfaceID"]
            status, text = self.call(f"/dip-channel/{interface_id}", [{"payload": payload}])
            print(f"sent {interface_id}: {status}" + ("" if status < 300 else f" {text}"), flush=True)


def handler_for(system: ReferenceSystem, public_base: str) -> type[BaseHTTPRequestHandler]:
    class Webhook(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = self.path.strip("/").split("/")
            if len(parts) != 2 or parts[0] != "hook":
                return self.answer(404, "RCP1000 - unknown webhook path")
            url = public_base + self.path
            if system.dip_cert is not None and not dip_signature_ok(system.dip_cert, url, dict(self.headers), raw):
                return self.answer(401, "RCP9999 - Message Signature Invalid")
            try:
                body = json.loads(raw)
            except ValueError:
                return self.answer(400, "RCP1001 - body is not JSON")
            if not isinstance(body, list) or not all(isinstance(m, dict) and "payload" in m for m in body):
                return self.answer(400, "RCP1001 - body is not a DIPMessageEgressArray")
            self.answer(*system.accept(parts[1], [m["payload"] for m in body]))

        def answer(self, status: int, message: str) -> None:
            stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
            data = json.dumps({"messageArray": [{"message": message}], "timestamp": stamp}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Webhook


def run(args: argparse.Namespace, make: Callable[[argparse.Namespace, str], ReferenceSystem], who: str) -> int:
    """Register the webhooks and answer until SIGINT/SIGTERM."""
    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        print(f"set {args.api_key_env} to {who}'s X-API-Key (mhhs-sit qualify prints it)", file=sys.stderr)
        return 2
    system = make(args, api_key)
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port or 0)), handler_for(system, ""))
    public = args.public_url or f"http://{server.server_address[0]}:{server.server_address[1]}"
    server.RequestHandlerClass = handler_for(system, public.rstrip("/"))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = threading.Thread(target=system.send_loop, daemon=True)
    sender.start()
    try:
        system.register(public.rstrip("/"))
        variant = " (--wrong)" if args.wrong else ""
        print(f"{system.READY} webhooks at {public}/hook/<IF> for {', '.join(system.WEBHOOKS)}{variant}", flush=True)
        stop.wait()
    finally:
        system.outbox.put(None)
        sender.join(timeout=5)
        server.shutdown()
        server.server_close()
    return 0


def parser(
    doc: str, name: str, who: str, key_env: str, wrong: str
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The ``make-cert`` and ``run`` commands every reference system has; the role adds its own
    options to the returned ``run`` parser."""
    top = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    cert = sub.add_parser("make-cert", help="make a self-signed signing certificate and key")
    cert.add_argument("--dip-id", required=True)
    cert.add_argument("--out", required=True, help=f"directory for {name}.pem and {name}.key")
    up = sub.add_parser("run", help="register the webhooks and answer until Ctrl-C")
    up.add_argument("--dip-url", required=True, help="the DIP's base URL (mhhs-sit qualify prints it)")
    up.add_argument("--dip-id", required=True, help=f"{who}'s DIP ID")
    up.add_argument("--cert", required=True, help="its signing certificate (PEM)")
    up.add_argument("--key", required=True, help="its signing key (PEM)")
    up.add_argument("--api-key-env", default=key_env, help="the variable holding its X-API-Key")
    up.add_argument("--dip-cert", help="the DIP's signing certificate: deliveries not signed with it are refused")
    up.add_argument("--listen", default="127.0.0.1:0", help="host:port of its webhook receiver")
    up.add_argument("--public-url", help="how the DIP reaches the receiver (default: the listen address)")
    up.add_argument("--wrong", action="store_true", help=f"answer wrongly on purpose ({wrong})")
    return top, up
