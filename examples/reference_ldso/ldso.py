"""A reference LDSO system under test: an LDSO's DIP-facing behaviour, as a process of its own.

It is what a distributor's test team points ``mhhs-sit qualify --role LDSO`` at to see a green
qualification before their own system is ready, and the model of what their system must do:

* register its webhooks with the DIP (``pubconfig``) for the notifications an LDSO gets;
* accept each delivery that is a ``DIPMessageEgressArray`` (201 ``RCP0000``), verifying the DIP's
  signature when given the DIP's certificate;
* answer an MPAN relationship request (IF-019) with IF-020 to its sender: accepted (``A``) for an
  MPAN core of its own distribution area with a valid check digit, else rejected (``R``,
  ``RCP1061 - MPAN Invalid or Unknown``);
* sign every request with its own key and certificate, as the DIP requires.

``--wrong`` answers wrongly on purpose, so a qualification run shows the cases that catch it: it
refuses change-of-supplier notifications (IF-001, 400) and accepts every relationship request.

Only the standard library and ``cryptography`` (a dependency of mhhs-sit) are used, and nothing
of mhhs-sit itself: it talks to the DIP as any participant's system would.

    python examples/reference_ldso/ldso.py make-cert --dip-id 2500000101 --out ldso-keys
    MHHS_LDSO_API_KEY=... python examples/reference_ldso/ldso.py run --dip-url http://127.0.0.1:8080 \\
        --dip-id 2500000101 --distributor 10 --cert ldso-keys/ldso.pem --key ldso-keys/ldso.key
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/: what reference systems share

from reference_participant import Json, ReferenceSystem, make_cert, parser, run

WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
UNKNOWN_MPAN = "RCP1061 - MPAN Invalid or Unknown"


# -- the LDSO's rules ------------------------------------------------------------------------------


def mpan_in_area(core: object, distributor: str) -> bool:
    """A 13-digit MPAN core of this distribution area with a valid check digit."""
    if not isinstance(core, str) or len(core) != 13 or not core.isdigit() or core[:2] != distributor:
        return False
    return sum(int(d) * w for d, w in zip(core, WEIGHTS, strict=False)) % 11 % 10 == int(core[12])


class Ldso(ReferenceSystem):
    """What the LDSO does with what the DIP delivers, and what it sends back."""

    ROLE = "LDSO"
    # The notifications an LDSO gets on the DIP, and the request it answers.
    WEBHOOKS = ("IF-001", "IF-003", "IF-019", "IF-021", "IF-036", "IF-037")
    READY = "REFERENCE_LDSO_READY"

    def __init__(self, args: argparse.Namespace, api_key: str):
        super().__init__(args, api_key)
        self.received: list[str] = []

    def accept(self, interface_id: str, payloads: list[Json]) -> tuple[int, str]:
        if self.args.wrong and interface_id == "IF-001":
            return 400, "RCP1001 - change of supplier not understood"  # wrong: an LDSO must take IF-001
        for payload in payloads:
            common = payload.get("CommonBlock", {})
            self.received.append(f"{interface_id} {common.get('S0', {}).get('eventCode')}")
            if interface_id == "IF-019":
                self.outbox.put(self.relationship_response(payload))
        return 201, "RCP0000 - Success"

    def relationship_response(self, request: dict[str, Json]) -> dict[str, Json]:
        """IF-020 for an IF-019: to its sender, under its correlation id, with the M1 block it gave."""
        common = request["CommonBlock"]
        m1 = common.get("M1") or {}
        ok = self.args.wrong or mpan_in_area(m1.get("principalMPAN"), self.args.distributor)
        r0 = {"responseCode": "A" if ok else "R", "responseMessages": [] if ok else [UNKNOWN_MPAN]}
        s1 = common["S1"]
        return {
            "CommonBlock": {
                "S0": {"interfaceID": "IF-020", "schemaVersion": "011", "eventCode": common["S0"]["eventCode"]},
                "S1": self.s1("IF-020", s1),
                "A0": {"primaryRecipients": [s1["senderDIPID"]], "secondaryRecipients": [], "always": []},
                "M1": m1,
                "R0": r0,
            },
            "CustomBlock": request.get("CustomBlock", {}),
        }


def main(argv: list[str] | None = None) -> int:
    top, up = parser(__doc__ or "", "ldso", "this LDSO", "MHHS_LDSO_API_KEY", "refuse IF-001, accept any IF-019")
    up.add_argument("--distributor", required=True, help="its distributor id: the first two digits of its MPANs")
    args = top.parse_args(argv)
    if args.command == "make-cert":
        make_cert(args.dip_id, Path(args.out), "ldso")
        return 0
    return run(args, Ldso, "the LDSO")


if __name__ == "__main__":
    sys.exit(main())
