"""A reference smart data service system under test: an SDS's DIP-facing behaviour, as a process.

It is what a data service's test team points ``mhhs-sit qualify --role SDS`` at to see a green
qualification before their own system is ready, and the model of what their system must do:

* register its webhooks with the DIP (``pubconfig``) for what a smart data service gets;
* accept each delivery that is a ``DIPMessageEgressArray`` (201 ``RCP0000``), verifying the DIP's
  signature when given the DIP's certificate;
* answer a data service appointment request (IF-033 [DSAppSPRequest]) with IF-034
  [DSAppSPResponse] to its sender, under its correlation id, echoing its B012 and B071: accepted
  (``A``, ``SP000 - Proposed Appointment ACCEPTED``) when it holds the contract the request names
  (a contract reference starting with ``--contracts``, default ``SDS-CONTRACT``), whatever the
  appointment scenario (a migration, MCA or MCS, like any other), else rejected (``R``, ``REJ999 -
  ...``: service providers' rejection texts are free, the spec's example code is REJ999);
* keep the MPANs it serves: from an active appointment naming it (IF-036 [DSAppActive]) until its
  de-appointment (IF-037 [DSDeApp], or IF-003 [DSDeAppRM] at a reverse migration);
* sign every request with its own key and certificate, as the DIP requires.

``--wrong`` answers wrongly on purpose, so a qualification run shows the cases that catch it: it
accepts every appointment request, contract or not, and refuses de-appointments (IF-037, 400).

Only the standard library and ``cryptography`` (a dependency of mhhs-sit) are used, and nothing
of mhhs-sit itself: it talks to the DIP as any participant's system would.

    python examples/reference_sds/sds.py make-cert --dip-id 1400000101 --out sds-keys
    MHHS_SDS_API_KEY=... python examples/reference_sds/sds.py run --dip-url http://127.0.0.1:8080 \\
        --dip-id 1400000101 --cert sds-keys/sds.pem --key sds-keys/sds.key
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/: what reference systems share

from reference_participant import Json, ReferenceSystem, make_cert, parser, run

ACCEPTED = "SP000 - Proposed Appointment ACCEPTED"
NO_CONTRACT = "REJ999 - No contract held for the proposed appointment"


# -- the data service's rules ----------------------------------------------------------------------


class DataService(ReferenceSystem):
    """What the data service does with what the DIP delivers, and what it sends back."""

    ROLE = "SDS"
    # What a smart data service gets on the DIP: appointment requests and outcomes, activations,
    # de-appointments (also at a reverse migration).
    WEBHOOKS = ("IF-003", "IF-033", "IF-035", "IF-036", "IF-037")
    READY = "REFERENCE_SDS_READY"

    def __init__(self, args: argparse.Namespace, api_key: str):
        super().__init__(args, api_key)
        self.served: set[str] = set()  # MPAN cores it is the active data service of

    def accept(self, interface_id: str, payloads: list[Json]) -> tuple[int, str]:
        if self.args.wrong and interface_id == "IF-037":
            return 400, "RCP1001 - de-appointment not understood"  # wrong: a data service must take IF-037
        for payload in payloads:
            common, custom = payload.get("CommonBlock", {}), payload.get("CustomBlock") or {}
            event = common.get("S0", {}).get("eventCode")
            mpan = (common.get("M0") or {}).get("MPANCore")
            if interface_id == "IF-033" and event == "[DSAppSPRequest]":
                self.outbox.put(self.appointment_response(payload))
            elif self.names_me(custom.get("B015"), "incomingDataServiceDIPID") and event == "[DSAppActive]":
                self.served.add(mpan)
            elif self.names_me(custom.get("B009"), "deAppointedDataServiceDIPID"):  # IF-037, or IF-003 (RM)
                self.served.discard(mpan)
            print(f"received {interface_id} {event} {mpan}; serving {len(self.served)} MPAN(s)", flush=True)
        return 201, "RCP0000 - Success"

    def names_me(self, block: object, key: str) -> bool:
        return isinstance(block, dict) and block.get(key) == self.args.dip_id

    def holds_contract(self, reference: object) -> bool:
        return isinstance(reference, str) and reference.startswith(tuple(self.args.contracts))

    def appointment_response(self, request: dict[str, Json]) -> dict[str, Json]:
        """IF-034 for an IF-033: to its sender, under its correlation id, with its M0, B012 and B071."""
        common, custom = request["CommonBlock"], request.get("CustomBlock") or {}
        b071 = custom.get("B071") or {}
        ok = self.args.wrong or self.holds_contract(b071.get("contractReferenceDataService"))
        b007 = {"responseCode": "A" if ok else "R", "proposedAppointmentResponseCode": ACCEPTED if ok else NO_CONTRACT}
        s1 = common["S1"]
        return {
            "CommonBlock": {
                "S0": {"interfaceID": "IF-034", "schemaVersion": "011", "eventCode": "[DSAppSPResponse]"},
                "S1": self.s1("IF-034", s1),
                "A0": {"primaryRecipients": [s1["senderDIPID"]], "secondaryRecipients": [], "always": []},
                "M0": common.get("M0"),
            },
            "CustomBlock": {"B007": b007, "B012": custom.get("B012"), "B071": b071},
        }


def main(argv: list[str] | None = None) -> int:
    wrong = "accept any appointment, refuse IF-037"
    top, up = parser(__doc__ or "", "sds", "this data service", "MHHS_SDS_API_KEY", wrong)
    up.add_argument(
        "--contracts",
        action="append",
        default=None,
        metavar="PREFIX",
        help="contract references it holds, by prefix (repeatable; default: SDS-CONTRACT)",
    )
    args = top.parse_args(argv)
    if args.command == "make-cert":
        make_cert(args.dip_id, Path(args.out), "sds")
        return 0
    args.contracts = args.contracts or ["SDS-CONTRACT"]
    return run(args, DataService, "the data service")


if __name__ == "__main__":
    sys.exit(main())
