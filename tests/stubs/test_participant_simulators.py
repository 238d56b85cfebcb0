"""Participant simulators over real loopback HTTP: each role answers its process, refuses what it
cannot do, and answers an unknown situation with a rejection (or a visible journal event when the
interface has no response); every message a simulator sends passes the DIP's own schema checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import requests

from mhhs_sit.catalogue import load_catalogue
from mhhs_sit.data import CohortPool
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_sit.dip.receiver import Receiver
from mhhs_sit.errors import DefinitionError
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.registry import mpan_status
from mhhs_stubs.responders import RULES_DIR, ParticipantSimulators, load_rules
from tests.helpers import REPO, written_cohorts
from tests.stubs import messages

# C41: the framework plays the supplier; everyone else it needs is simulated.
# C42: a second supplier (the losing one) and a second set of simulated services.
# C43: the framework plays the registration service and a smart metering service.
# C44: the framework plays a smart data service and the industry standing data publisher.
COHORTS = {
    "C41": """
        cohort: C41
        title: Supplier under test
        participants:
          SUP:  {mpid: SUPX, dip_id: "2300004101", name: Gaining Supply}
          REGS: {mpid: EELC, dip_id: "2200004101", distributor: "10"}
          LDSO: {mpid: EELC, dip_id: "2500004101", distributor: "10"}
          MSS:  {mpid: MSSX, dip_id: "1200004101"}
          SDS:  {mpid: SDSX, dip_id: "1400004101"}
          MDS:  {mpid: MDSX, dip_id: "3100004101"}
          LSS:  {mpid: LSSX, dip_id: "3200004101"}
        simulated: [REGS, LDSO, MSS, SDS, MDS, LSS]
    """,
    "C42": """
        cohort: C42
        title: Losing supplier and other services
        participants:
          SUP:  {mpid: SUPY, dip_id: "2300004202", name: Losing Supply}
          MSS:  {mpid: MSSY, dip_id: "1200004202"}
          SDS:  {mpid: SDSY, dip_id: "1400004202"}
        simulated: [MSS, SDS]
    """,
    "C43": """
        cohort: C43
        title: Registration service under test
        participants:
          REGS:  {mpid: YELG, dip_id: "2200004303", distributor: "23"}
          MSS:   {mpid: MSSZ, dip_id: "1200004303"}
          SUP:   {mpid: SUPZ, dip_id: "2300004303"}
          MSA:   {mpid: MSAZ, dip_id: "1300004303"}
          UMSO:  {mpid: UMSZ, dip_id: "1500004303"}
          SDS:   {mpid: SDSZ, dip_id: "1400004303"}
          ADS:   {mpid: ADSZ, dip_id: "1600004303"}
          UMSDS: {mpid: UMDZ, dip_id: "1700004303"}
          LDSO:  {mpid: YELG, dip_id: "2500004303", distributor: "23"}
          EES:   {mpid: EESZ, dip_id: "3600004303"}
          DCC:   {mpid: DCCZ, dip_id: "3700004303"}
        simulated: [SUP, MSA, UMSO, SDS, ADS, UMSDS, LDSO, EES, DCC]
    """,
    "C44": """
        cohort: C44
        title: Data service under test, central systems simulated
        participants:
          SDS: {mpid: SDSW, dip_id: "1400004404"}
          ISD: {mpid: ISDW, dip_id: "3300004404"}
          LSS: {mpid: LSSW, dip_id: "3200004404"}
          MDS: {mpid: MDSW, dip_id: "3100004404"}
          VAS: {mpid: VASW, dip_id: "3400004404"}
          ECS: {mpid: ECSW, dip_id: "3500004404"}
          MDR: {mpid: MDRW, dip_id: "3800004404"}
        simulated: [LSS, MDS, VAS, ECS, MDR]
    """,
}

SUP, REGS, LDSO, MSS, SDS, MDS, LSS = (
    "2300004101",
    "2200004101",
    "2500004101",
    "1200004101",
    "1400004101",
    "3100004101",
    "3200004101",
)
SUP_Y, MSS_Y, SDS_Y = "2300004202", "1200004202", "1400004202"
REGS_Z, MSS_Z, SUP_Z, MSA_Z, UMSO_Z, SDS_Z, ADS_Z, UMSDS_Z, LDSO_Z = (
    "2200004303",
    "1200004303",
    "2300004303",
    "1300004303",
    "1500004303",
    "1400004303",
    "1600004303",
    "1700004303",
    "2500004303",
)
SDS_W, ISD_W, LSS_W, MDS_W, VAS_W, ECS_W = (
    "1400004404",
    "3300004404",
    "3200004404",
    "3100004404",
    "3400004404",
    "3500004404",
)
MIDNIGHT = messages.MIDNIGHT


SPEC = Path(__file__).resolve().parents[3] / "shared" / "dip-api-spec"


@pytest.fixture(scope="module", params=["1.8.2", "2.1.0", "official-spec"])
def sim(request, tmp_path_factory):
    """The simulator validating against a catalogue version, or against the official DIP spec."""
    spec: dict[str, str] = {}
    if request.param == "official-spec":
        if not (SPEC / "SubmitEvents-unresolved.yaml").is_file():
            pytest.skip(f"the official DIP spec is not at {SPEC}")
        spec = {"dip_spec": str(SPEC)}
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), COHORTS)
    version = "2.1.0" if spec else request.param
    with EmbeddedSimulator(config_from_cohorts(cohorts, version=version, **spec)) as s:
        yield s


@pytest.fixture(scope="module")
def pool():
    return CohortPool("C41", cohort_index=41, distributor_ids=["10"], seed=7)


def journal(sim, **params) -> list[dict]:
    requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=10)
    return requests.get(f"{sim.url}/_sim/messages", headers=sim.control_headers, params=params, timeout=5).json()[
        "messages"
    ]


def send(sim, sender: str, role: str, interface: str, event: str, custom: dict, *, mpan: str | None, to=(), **kw):
    message = build_message(
        interface_id=interface,
        event=event,
        sender=Sender(sender, role),
        environment_tag="DEV",
        refs=ReferenceSource(),
        custom=custom,
        recipients=list(to),
        mpan=mpan,
        distributor_dip_id="2500004101" if mpan else None,
        **kw,
    )
    r = requests.post(
        f"{sim.url}/dip-channel/{interface}",
        json=[{"payload": message}],
        headers={"X-API-Key": sim.config.api_keys[sender]},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return message


def chain(sim, message) -> list[tuple[str, str, str, list[str]]]:
    """(interface, event, sender, recipients) of every message in the process ``message`` started."""
    corr = message["CommonBlock"]["S1"]["senderCorrelationID"]
    out = []
    for e in journal(sim, correlation_id=corr, kind="accepted"):
        common = e["payload"]["CommonBlock"]
        out.append(
            (
                e["interface"],
                common["S0"]["eventCode"].strip("[]"),
                e["sender"],
                [d["recipient"] for d in e["deliveries"]],
            )
        )
    return out


def sent(sim, message, interface: str, event: str | None = None) -> list[dict]:
    corr = message["CommonBlock"]["S1"]["senderCorrelationID"]
    return [
        e["payload"]
        for e in journal(sim, correlation_id=corr, kind="accepted", interface=interface)
        if event is None or e["payload"]["CommonBlock"]["S0"]["eventCode"] == f"[{event}]"
    ]


def notes(sim, participant: str) -> list[str]:
    return [e["note"] for e in journal(sim, kind="event", participant=participant)]


def b070(ms: str, mpid: str, scenario: str = "COS", contract: str = "MS-1") -> dict:
    return {
        "proposedMeteringServiceDIPID": ms,
        "proposedMeteringServiceMPID": mpid,
        "proposedMeteringServiceDIPEffectiveFromDate": MIDNIGHT,
        "contractReferenceMeteringService": contract,
        "appointmentScenario": scenario,
    }


def b071(ds: str, mpid: str, scenario: str = "COS", contract: str = "DS-1") -> dict:
    return messages.b071(ds, mpid, scenario, contract)


SITE = {
    "B012": {
        "serviceProviderAppointmentRequestingSupplierDIPID": SUP_Z,
        "serviceProviderAppointmentRequestingSupplierMPID": "SUPZ",
    },
    "B022": {"meteringPointPostcode": "LS1 1AA", **{f"addressLine{i}": None for i in range(1, 10)}},
    "B023": {
        "connectionTypeIndicator": "W",
        "connectionTypeEffectiveFromDate": MIDNIGHT,
        "energyDirection": "I",
        "meteredIndicator": True,
    },
    "B024": {"DUOSTariffID": "101", "DUOSTariffIDEffectiveFromDate": MIDNIGHT},
    "B025": {"energisationStatus": "E", "energisationStatusEffectiveFromDate": MIDNIGHT},
    "B026": {"marketSegmentIndicator": "S", "marketSegmentIndicatorEffectiveFromDate": MIDNIGHT},
}


def r0_texts(payload: dict) -> list[str]:
    return payload["CommonBlock"]["R0"]["responseMessages"]


# ---- REGS, MSS, SDS, LDSO: change of supplier with agent appointments --------------------------


def test_change_of_supplier_is_answered_by_registration_services_and_ldso_over_webhooks(sim, pool):
    mpan = pool.draw("mpan")
    receiver = Receiver()
    try:
        key = {"X-API-Key": sim.config.api_keys[SUP]}
        for interface in ("IF-001", "IF-002", "IF-032", "IF-035", "IF-036"):
            requests.post(
                f"{sim.url}/dip-channel/{interface}/pubconfig/{SUP}",
                json={"callbackURL": receiver.callback_url(SUP, interface)},
                headers=key,
                timeout=5,
            ).raise_for_status()
        css = {"CSSRegistrationID": f"CSS-{mpan}"}
        first = send(sim, SUP, "SUP", "IF-031", "MSApp", {"B013": css, "B070": b070(MSS, "MSSX")}, mpan=mpan, to=[REGS])
        got = receiver.inbox.wait_for(
            lambda m: (
                m.payload["CommonBlock"]["S0"]["interfaceID"] == "IF-036"
                and m.payload["CommonBlock"]["M0"]["MPANCore"] == mpan
            ),
            since=0,
            timeout=10,
        )
        assert got is not None, "the supplier's webhook never received IF-036"
        assert got.payload["CustomBlock"]["B014"]["incomingMeteringServiceDIPID"] == MSS
        steps = chain(sim, first)
        assert [s[:3] for s in steps] == [
            ("IF-031", "MSApp", SUP),
            ("IF-001", "ChangeOfSupplier", REGS),
            ("IF-002", "GainMPANInfo", REGS),
            ("IF-032", "MSAppInitialResp", REGS),
            ("IF-033", "MSAppSPRequest", REGS),
            ("IF-034", "MSAppSPResponse", MSS),
            ("IF-035", "MSAppAccepted", REGS),
            ("IF-036", "MSAppActive", REGS),
        ]
        assert steps[1][3] == [SUP, LDSO, MDS]  # IF-001 to the gaining supplier, the LDSO and the MDS
        assert set(steps[7][3]) == {SUP, MSS, LDSO, MDS}
        if001 = sent(sim, first, "IF-001")[0]["CustomBlock"]
        assert if001["B002"]["incomingSupplierDIPID"] == SUP
        assert if001["B003"]["outgoingSupplierDIPID"] not in (SUP, None)  # another configured supplier

        second = send(
            sim, SUP, "SUP", "IF-031", "DSApp", {"B013": css, "B071": b071(SDS, "SDSX")}, mpan=mpan, to=[REGS]
        )
        assert [s[:2] for s in chain(sim, second)] == [
            ("IF-031", "DSApp"),
            ("IF-032", "DSAppInitialResp"),
            ("IF-033", "DSAppSPRequest"),
            ("IF-034", "DSAppSPResponse"),
            ("IF-035", "IMS-SendMTD"),  # the metering service appointed first sends the new data service its MTD
            ("IF-035", "DSAppAccepted"),
            ("IF-036", "DSAppActive"),
        ]  # no second IF-001: the switch was notified once
        regs = sim.sim.participants
        register = regs.recall(REGS, f"REG:{mpan}")
        assert {k: register[k] for k in ("supplier_dip_id", "ms_dip_id", "ds_dip_id", "ldso_dip_id")} == {
            "supplier_dip_id": SUP,
            "ms_dip_id": MSS,
            "ds_dip_id": SDS,
            "ldso_dip_id": LDSO,
        }
        # the LDSO learnt the registration from the notifications it received
        assert regs.recall(LDSO, f"REG:{mpan}") == {
            "supplier_dip_id": SUP,
            "supplier_mpid": "SUPX",
            "ms_dip_id": MSS,
            "ds_dip_id": SDS,
        }
        assert regs.recall(SDS, f"APPT:{mpan}")["supplier_dip_id"] == SUP
    finally:
        receiver.close()


def test_a_second_switch_names_the_supplier_on_record_and_de_appoints_its_metering_service(sim, pool):
    mpan = pool.draw("mpan")
    first = {"CSSRegistrationID": f"CSS-A-{mpan}"}
    send(sim, SUP, "SUP", "IF-031", "MSApp", {"B013": first, "B070": b070(MSS, "MSSX")}, mpan=mpan, to=[REGS])
    journal(sim)  # waits until the simulators are idle
    assert sim.sim.participants.recall(MSS, f"APPT:{mpan}") is not None
    second = {"CSSRegistrationID": f"CSS-B-{mpan}"}
    m = send(sim, SUP_Y, "SUP", "IF-031", "MSApp", {"B013": second, "B070": b070(MSS_Y, "MSSY")}, mpan=mpan, to=[REGS])
    b003 = sent(sim, m, "IF-001", "ChangeOfSupplier")[0]["CustomBlock"]["B003"]
    assert (b003["outgoingSupplierDIPID"], b003["outgoingSupplierMPID"]) == (SUP, "SUPX")  # from the register
    [deapp] = sent(sim, m, "IF-037", "MSDeApp")
    assert deapp["CommonBlock"]["A0"]["primaryRecipients"] == [MSS, SUP_Y]
    assert deapp["CustomBlock"]["B008"]["deAppointedMeteringServiceDIPID"] == MSS
    assert deapp["CustomBlock"]["B008"]["deAppointmentReasonCode"] == "CSUPP"
    assert sim.sim.participants.recall(MSS, f"APPT:{mpan}") is None
    assert sim.sim.participants.recall(MSS_Y, f"APPT:{mpan}")["supplier_dip_id"] == SUP_Y
    assert sim.sim.participants.recall(REGS, f"REG:{mpan}")["supplier_dip_id"] == SUP_Y


def test_regs_refuses_a_switch_without_or_with_someone_elses_css_id(sim, pool):
    mpan = pool.draw("mpan")
    no_css = send(sim, SUP, "SUP", "IF-031", "MSApp", {"B070": b070(MSS, "MSSX")}, mpan=mpan, to=[REGS])
    [resp] = sent(sim, no_css, "IF-032")
    assert resp["CommonBlock"]["R0"]["responseCode"] == "R"
    assert r0_texts(resp) == ["REG0005 - CSS Registration Request ID is invalid or does not exist"]
    assert [s[0] for s in chain(sim, no_css)] == ["IF-031", "IF-032"]  # nothing reached the service

    css = {"CSSRegistrationID": f"CSS-OTHER-{mpan}"}
    send(sim, SUP_Y, "SUP", "IF-031", "MSApp", {"B013": css, "B070": b070(MSS_Y, "MSSY")}, mpan=mpan, to=[REGS])
    stolen = send(sim, SUP, "SUP", "IF-031", "MSApp", {"B013": css, "B070": b070(MSS, "MSSX")}, mpan=mpan, to=[REGS])
    [resp] = sent(sim, stolen, "IF-032")
    assert r0_texts(resp) == ["REG0006 - CSS Registration Request ID is associated to another Supplier"]


def test_regs_rejects_an_mpan_it_does_not_hold_with_reg0000(sim, pool):
    unknown = pool.draw("mpan", registered=False)
    assert mpan_status(unknown) == "unregistered"
    for core in (unknown, "1000000000011"):  # never loaded; wrong check digit
        m = send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS, "SDSX", "CSP")}, mpan=core, to=[REGS])
        [resp] = sent(sim, m, "IF-032", "DSAppInitialResp")
        assert resp["CommonBlock"]["R0"] == {
            "responseCode": "R",
            "responseMessages": ["REG0000 - MPAN Invalid or does not exist"],
        }
        assert [s[0] for s in chain(sim, m)] == ["IF-031", "IF-032"]


def test_regs_de_appoints_the_replaced_data_service_and_refuses_csp_of_the_current_one(sim, pool):
    mpan = pool.draw("mpan")
    first = send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS, "SDSX", "CSP")}, mpan=mpan, to=[REGS])
    assert ("IF-036", "DSAppActive") in [s[:2] for s in chain(sim, first)]
    second = send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS_Y, "SDSY", "CSP")}, mpan=mpan, to=[REGS])
    steps = chain(sim, second)
    deapp = [s for s in steps if s[0] == "IF-037"]
    # REGS names the replaced service and the supplier; the DIP adds the MPAN's LDSO (secondary
    # routing) and the MDS (IF-037's always role).
    assert deapp == [("IF-037", "DSDeApp", REGS, [SDS, SUP, LDSO, MDS])]
    b009 = sent(sim, second, "IF-037")[0]["CustomBlock"]["B009"]
    assert b009["deAppointedDataServiceDIPID"] == SDS and b009["deAppointmentReasonCode"] == "CSERV"
    assert sim.sim.participants.recall(SDS, f"APPT:{mpan}") is None  # the old data service forgot the MPAN
    assert any("de-appointed" in n for n in notes(sim, SDS))
    again = send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS_Y, "SDSY", "CSP")}, mpan=mpan, to=[REGS])
    [outcome] = sent(sim, again, "IF-035")
    assert outcome["CustomBlock"]["B007"]["proposedAppointmentResponseCode"].startswith("REG1026")
    # USP updates the current appointment only: the old data service is refused, the current one accepted
    old = send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS, "SDSX", "USP")}, mpan=mpan, to=[REGS])
    assert r0_texts(sent(sim, old, "IF-032")[0])[0].startswith("REG1025")
    current = send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS_Y, "SDSY", "USP")}, mpan=mpan, to=[REGS])
    assert sent(sim, current, "IF-035")[0]["CommonBlock"]["S0"]["eventCode"] == "[DSAppAccepted]"
    fresh = send(sim, SUP, "SUP", "IF-031", "MSApp", {"B070": b070(MSS, "MSSX", "USP")}, mpan=pool.draw("mpan"),
                 to=[REGS])  # fmt: skip
    assert r0_texts(sent(sim, fresh, "IF-032")[0])[0].startswith("REG1025")


def test_regs_supplier_updates_follow_the_register(sim, pool):
    mpan = pool.draw("mpan")
    css = {"CSSRegistrationID": f"CSS-UPD-{mpan}"}
    send(sim, SUP, "SUP", "IF-031", "MSApp", {"B013": css, "B070": b070(MSS, "MSSX")}, mpan=mpan, to=[REGS])
    custom = {"B068": {"consentGranularity": "H", "consentGranularityEffectiveFromDate": MIDNIGHT}}
    ok = send(sim, SUP, "SUP", "IF-025", "ConsentGranularity", custom, mpan=mpan, to=[REGS])
    [notified] = sent(sim, ok, "IF-026")
    assert notified["CommonBlock"]["R0"]["responseCode"] == "A"
    assert {SUP, MSS, LDSO} <= set(notified["CommonBlock"]["A0"]["primaryRecipients"])
    wrong = send(sim, SUP_Y, "SUP", "IF-025", "ConsentGranularity", custom, mpan=mpan, to=[REGS])
    assert r0_texts(sent(sim, wrong, "IF-026")[0]) == ["REG1021 - Requesting Supplier is not the Current Supplier"]


def test_regs_answers_an_unmodelled_request_with_a_rejection_not_silence(sim, pool):
    """A data service's answer to an appointment nobody asked it for: no rule covers it, so the
    registration service's ``otherwise`` rejection answers (IF-035 B007 R) and the journal says why."""
    mpan = pool.draw("mpan")
    custom = {
        "B007": {"responseCode": "A", "proposedAppointmentResponseCode": "SP000 - Proposed Appointment ACCEPTED"},
        "B012": {
            "serviceProviderAppointmentRequestingSupplierDIPID": SUP,
            "serviceProviderAppointmentRequestingSupplierMPID": "SUPX",
        },
        "B071": b071(SDS, "SDSX", "CSP"),
    }
    m = send(sim, SDS, "SDS", "IF-034", "DSAppSPResponse", custom, mpan=mpan, to=[REGS])
    [resp] = sent(sim, m, "IF-035")
    assert resp["CommonBlock"]["S0"]["eventCode"] == "[DSAppRejected]"
    assert resp["CustomBlock"]["B007"]["responseCode"] == "R"
    assert any(n.startswith("REJECTED (no REGS rule covers IF-034 [DSAppSPResponse])") for n in notes(sim, REGS))


def test_regs_gives_the_one_answer_to_a_relationship_request(sim, pool):
    """IF-019 to the registration service and the LDSO: the registration service answers (with its
    REG code), the LDSO leaves the answer to it; addressed to the LDSO alone, the LDSO answers."""
    m1 = {"principalMPAN": pool.draw("mpan"), "distributorDIPID": LDSO, "GSPGroupID": "_A"}
    custom = {"B090List": [{"subsidiaryMPAN": pool.draw("mpan")}]}
    m = send(sim, SUP, "SUP", "IF-019", "LinkedImportExportCreate", custom, mpan=None, to=[REGS, LDSO],
             extra_common={"M1": m1})  # fmt: skip
    [resp] = sent(sim, m, "IF-020")
    assert resp["CommonBlock"]["S1"]["senderDIPID"] == REGS
    assert r0_texts(resp)[0].startswith("REG1050")  # the supplier has not switched to either MPAN
    assert any("answered by the registration service" in n for n in notes(sim, LDSO))


@pytest.mark.parametrize("event", ["DirectContractMSRemove", "DirectContractDSRemove"])
def test_a_direct_contract_removal_is_answered_without_a_custom_block(sim, pool, event):
    """IF-038/IF-039 *Remove carry no CustomBlock (the spec forbids one): the DIP delivers the
    request as sent and REGS answers without one, and the answer passes the DIP's own checks."""
    m = send(sim, MSS_Z, "MSS", "IF-038", event, {}, mpan=pool.draw("mpan"), to=[REGS], custom_block=False)
    [request] = [
        e["payload"]
        for e in journal(sim, kind="accepted", interface="IF-038")
        if e["payload"]["CommonBlock"]["S1"]["senderUniqueReference"] == m["CommonBlock"]["S1"]["senderUniqueReference"]
    ]
    assert "CustomBlock" not in request
    [answer] = sent(sim, m, "IF-039")
    assert answer["CommonBlock"]["S0"]["eventCode"] == f"[{event}]"
    assert "CustomBlock" not in answer
    assert answer["CommonBlock"]["R0"]["responseCode"] == "R"
    assert not [n for n in notes(sim, REGS) if "DEFECT" in n]


# ---- metering and data services ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "event", "block", "body"),
    [
        (MSA_Z, "MSAppSPRequest", "B070", b070(MSA_Z, "MSAZ", "CSP")),
        (UMSO_Z, "MSAppSPRequest", "B070", b070(UMSO_Z, "UMSZ", "CSP")),
        (SDS_Z, "DSAppSPRequest", "B071", b071(SDS_Z, "SDSZ", "CSP")),
        (ADS_Z, "DSAppSPRequest", "B071", b071(ADS_Z, "ADSZ", "CSP")),
        (UMSDS_Z, "DSAppSPRequest", "B071", b071(UMSDS_Z, "UMDZ", "CSP")),
    ],
)
def test_each_service_accepts_declines_and_refuses_the_wrong_request(sim, pool, service, event, block, body):
    response = event.replace("Request", "Response")
    contract = "contractReferenceMeteringService" if block == "B070" else "contractReferenceDataService"
    mpan = pool.draw("mpan")
    ok = send(sim, REGS_Z, "REGS", "IF-033", event, {**SITE, block: body}, mpan=mpan, to=[service])
    [answer] = sent(sim, ok, "IF-034")
    assert answer["CommonBlock"]["S1"]["senderDIPID"] == service
    assert answer["CustomBlock"]["B007"] == {
        "responseCode": "A",
        "proposedAppointmentResponseCode": "SP000 - Proposed Appointment ACCEPTED",
    }
    assert answer["CommonBlock"]["S0"]["eventCode"] == f"[{response}]"

    no = send(
        sim, REGS_Z, "REGS", "IF-033", event, {**SITE, block: {**body, contract: "REJECT-X"}}, mpan=mpan, to=[service]
    )
    assert sent(sim, no, "IF-034")[0]["CustomBlock"]["B007"]["responseCode"] == "R"

    other_event, other_block, other_body = (
        ("DSAppSPRequest", "B071", b071(service, "XXXX", "CSP"))
        if block == "B070"
        else ("MSAppSPRequest", "B070", b070(service, "XXXX", "CSP"))
    )
    wrong = send(sim, REGS_Z, "REGS", "IF-033", other_event, {**SITE, other_block: other_body}, mpan=mpan, to=[service])
    [refusal] = sent(sim, wrong, "IF-034")
    assert refusal["CustomBlock"]["B007"]["responseCode"] == "R"
    assert f"rule covers IF-033 [{other_event}]" in refusal["CustomBlock"]["B007"]["proposedAppointmentResponseCode"]


def test_metering_service_remembers_activation_and_de_appointment(sim, pool):
    mpan = pool.draw("mpan")
    b014 = {
        "incomingMeteringServiceDIPID": MSA_Z,
        "incomingMeteringServiceEffectiveFromDate": MIDNIGHT,
        "incomingMeteringServiceMPID": "MSAZ",
        "contractReferenceMeteringService": "C",
        "appointmentScenario": "CSP",
    }
    site = {k: v for k, v in SITE.items()} | {
        "B028": {"domesticPremiseIndicator": True, "domesticPremiseIndicatorEffectiveFromDate": MIDNIGHT}
    }
    send(sim, REGS_Z, "REGS", "IF-036", "MSAppActive", {**site, "B014": b014}, mpan=mpan, to=[MSA_Z])
    assert journal(sim) and sim.sim.participants.recall(MSA_Z, f"APPT:{mpan}")["supplier_dip_id"] == SUP_Z
    b008 = {
        "deAppointedMeteringServiceDIPID": MSA_Z,
        "deAppointedMeteringServiceMPID": "MSAZ",
        "meteringServiceEffectiveFromDate": MIDNIGHT,
        "meteringServiceEffectiveToDate": MIDNIGHT,
        "deAppointmentReasonCode": "CSUPP",
    }
    send(sim, REGS_Z, "REGS", "IF-037", "MSDeApp", {"B008": b008}, mpan=mpan, to=[MSA_Z])
    assert journal(sim) and sim.sim.participants.recall(MSA_Z, f"APPT:{mpan}") is None
    assert any(f"de-appointed from {mpan} (CSUPP)" in n for n in notes(sim, MSA_Z))


def test_data_service_amends_consumption_only_where_appointed_and_central_systems_answer(sim, pool):
    mpan = pool.draw("mpan")
    send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS, "SDSX", "CSP")}, mpan=mpan, to=[REGS])
    journal(sim)
    amend = send(sim, SUP, "SUP", "IF-027", "ConsumptionAmendment", {"B902List": []}, mpan=mpan, to=[SDS])
    steps = chain(sim, amend)
    assert [s[:3] for s in steps if s[0] != "IF-027"][:2] == [
        ("IF-028", "ConsumptionAmendment", SDS),
        ("IF-021", "ActivePower", SDS),
    ]
    if021 = next(s for s in steps if s[0] == "IF-021")
    assert if021[3] == [SUP, LDSO, LSS, MDS]
    # the load shaping service answers the consumption with period and totals data to the data service
    assert ("IF-022", "LSSPeriodData", LSS, [SDS]) in steps and ("IF-023", "LSSTotalsData", LSS, [SDS]) in steps
    assert any(f"ActivePower accepted for {mpan}" in n for n in notes(sim, MDS))
    assert sent(sim, amend, "IF-028")[0]["CommonBlock"]["R0"]["responseCode"] == "A"

    stranger = send(
        sim, SUP, "SUP", "IF-027", "ConsumptionAmendment", {"B902List": []}, mpan=pool.draw("mpan"), to=[SDS]
    )
    assert [s[0] for s in chain(sim, stranger)] == ["IF-027", "IF-028"]
    assert r0_texts(sent(sim, stranger, "IF-028")[0]) == [
        "RCP1062 - PUB Unexpected given MPAN Process Status/Condition"
    ]


@pytest.mark.parametrize(("mqid", "event"), [("RI", "ReactivePower"), ("AE", "ActivePower")])
def test_an_amendment_is_resubmitted_as_the_consumption_of_its_quantity(sim, pool, mqid, event):
    mpan = pool.draw("mpan")
    send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS, "SDSX", "CSP")}, mpan=mpan, to=[REGS])
    journal(sim)
    request = {"consumptionAmendmentSupplierReference": "AMEND-1", "grossRevisedConsumption": "0.420", "arc": "M"}
    request |= {"consumptionAmendmentPeriodStartDate": MIDNIGHT, "consumptionAmendmentPeriodEndDate": MIDNIGHT}
    b902 = [{"MQID": {"measurementQuantityID": mqid}, "supplierConsumptionAmendmentRequests": [request]}]
    amend = send(sim, SUP, "SUP", "IF-027", "ConsumptionAmendment", {"B902List": b902}, mpan=mpan, to=[SDS])
    [resubmitted] = sent(sim, amend, "IF-021")
    assert resubmitted["CommonBlock"]["S0"]["eventCode"] == f"[{event}]"
    b900 = resubmitted["CustomBlock"]["B900"]
    assert b900["MQID"] == {"measurementQuantityID": mqid}
    period = b900["settlementDayConsumptionPeriods"][0]["consumptionPeriods"][0]
    assert (period["v"], period["arc"]) == ("0.420", "M")
    assert sent(sim, amend, "IF-014") == []  # the MDS takes it: the event fits the quantity (no ECS1002)


# ---- supplier ---------------------------------------------------------------------------------------


def test_simulated_supplier_appoints_its_services_when_it_gains_an_mpan(sim, pool):
    mpan = pool.draw("mpan")
    site = {k: v for k, v in SITE.items() if k != "B012"}
    custom = {
        "B013": {"CSSRegistrationID": "CSS-Z-1"},
        "B002": {"incomingSupplierDIPID": SUP_Z, "incomingSupplierMPID": "SUPZ", "supplierEffectiveFromDate": MIDNIGHT},
        "B003": {"outgoingSupplierDIPID": SUP_Y, "outgoingSupplierMPID": "SUPY", "supplierEffectiveToDate": MIDNIGHT},
        "B004": {"domesticPremiseIndicator": True, "domesticPremiseIndicatorEffectiveFromDate": MIDNIGHT},
        **site,
    }
    notice = send(sim, REGS_Z, "REGS", "IF-001", "ChangeOfSupplier", custom, mpan=mpan, to=[SUP_Z, LDSO_Z])
    steps = chain(sim, notice)
    appointments = [(s[0], s[1], s[3]) for s in steps if s[2] == SUP_Z]
    assert appointments == [("IF-031", "MSApp", [REGS_Z]), ("IF-031", "DSApp", [REGS_Z])]
    ms_app, ds_app = sent(sim, notice, "IF-031")
    assert ms_app["CustomBlock"]["B070"]["proposedMeteringServiceDIPID"] == MSS_Z  # the cohort's own
    assert ds_app["CustomBlock"]["B071"]["proposedDataServiceDIPID"] == SDS_Z
    assert ms_app["CustomBlock"]["B013"] == {"CSSRegistrationID": "CSS-Z-1"}
    assert ds_app["CustomBlock"]["B071"]["appointmentScenario"] == "COS"
    assert sim.sim.participants.recall(LDSO_Z, f"REG:{mpan}")["supplier_dip_id"] == SUP_Z


def test_simulated_supplier_records_a_refusal_and_journals_what_it_cannot_answer(sim, pool):
    mpan = pool.draw("mpan")
    refusal = send(
        sim,
        REGS_Z,
        "REGS",
        "IF-032",
        "MSAppInitialResp",
        {"B070": b070(MSS_Z, "MSSZ", "CSP")},
        mpan=mpan,
        to=[SUP_Z],
        extra_common={"R0": {"responseCode": "R", "responseMessages": ["REG0000 - x"]}},
    )
    assert [s[0] for s in chain(sim, refusal)] == ["IF-032"]  # a supplier has nothing to answer with
    assert sim.sim.participants.recall(SUP_Z, f"OUTCOME:{mpan}:MSAppInitialResp")["responseCode"] == "R"
    assert any(f"appointment refused at once for {mpan}" in n for n in notes(sim, SUP_Z))
    # IF-004 comms hub information: recorded; a supplier has no interface to answer it with
    hub = {"commsHubActivity": "5", "commsHubSerialNumber": "CH-1", "commsHubGUID": "00-00-00-00-00-00-00-01",
           "GPFGasGUID": None, "commsHubInstallationDate": MIDNIGHT, "commsHubFWVersion": None}  # fmt: skip
    info = send(sim, MSS_Z, "MSS", "IF-004", "CommsHubInfo", {"B093": hub}, mpan=mpan, to=[SUP_Z])
    assert [s[0] for s in chain(sim, info)] == ["IF-004"]
    assert any("CommsHubInfo received" in n for n in notes(sim, SUP_Z))


def test_simulated_supplier_corrects_a_consent_granularity_the_registration_service_finds_invalid(sim, pool):
    why = {"B060": {"additionalInformation": "consent D is invalid for the advanced segment"}}
    told = send(sim, REGS_Z, "REGS", "IF-045", "ConsentGranularityInvalid", why, mpan=pool.draw("mpan"), to=[SUP_Z])
    [update] = sent(sim, told, "IF-025", "ConsentGranularity")
    assert update["CommonBlock"]["S1"]["senderDIPID"] == SUP_Z
    assert update["CustomBlock"]["B068"]["consentGranularity"] == "H"


def test_a_message_no_rule_covers_and_no_response_exists_for_is_journalled_not_dropped(pool, tmp_path):
    """A test team's own rules (here: REGS knowing only DSApp) still never swallow a message."""
    (tmp_path / "regs.yaml").write_text(
        "role: REGS\nrules:\n  - when: {interface: IF-031, event: DSApp}\n    note: data service request\n"
    )
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    with EmbeddedSimulator(config_from_cohorts(cohorts.values(), version="1.8.2")) as small:
        ParticipantSimulators(small.sim.dip, rules=load_rules(tmp_path))
        mpan = pool.draw("mpan")
        m = send(small, "2300000101", "SUP", "IF-031", "MSApp", {"B070": b070("1200000101", "MSSA", "CSP")},
                 mpan=mpan, to=["2200000101"])  # fmt: skip
        assert [s[0] for s in chain(small, m)] == ["IF-031"]
        [note] = notes(small, "2200000101")
        assert note.startswith("UNANSWERED: no REGS rule covers IF-031 [MSApp] and IF-031 has no response REGS sends")


def test_every_interface_a_simulated_role_receives_is_covered_by_a_rule():
    catalogue = load_catalogue()
    rules = load_rules(RULES_DIR)
    for role, role_rules in rules.items():
        covered = {i for rule in role_rules for i in rule.interfaces}
        received = {i.id for i in catalogue.interfaces if role in i.recipients}
        assert received <= covered, (role, sorted(received - covered))


# ---- LDSO ---------------------------------------------------------------------------------------------


def test_ldso_answers_relationship_requests_and_refuses_an_unknown_mpan(sim, pool):
    def request(core):
        m1 = {"principalMPAN": core, "distributorDIPID": LDSO, "GSPGroupID": "_A"}
        return send(
            sim, SUP, "SUP", "IF-019", "RelatedCreate", {"B090List": []}, mpan=None, to=[LDSO], extra_common={"M1": m1}
        )

    ok = request(pool.draw("mpan"))
    [resp] = sent(sim, ok, "IF-020")
    assert resp["CommonBlock"]["R0"]["responseCode"] == "A" and resp["CommonBlock"]["S1"]["senderDIPID"] == LDSO
    assert "M0" not in resp["CommonBlock"] and resp["CommonBlock"]["M1"]["distributorDIPID"] == LDSO
    bad = request(pool.draw("mpan", registered=False))
    assert r0_texts(sent(sim, bad, "IF-020")[0]) == ["RCP1061 - MPAN Invalid or Unknown"]


# ---- Elexon central systems ---------------------------------------------------------------------------


def consumption(mpan_day: str = "2026-01-01") -> dict:
    return {
        "B044": {"issuingDataServiceDIPID": SDS_W},
        "B067": {"connectionTypeIndicator": "W", "connectionTypeEffectiveFromDate": MIDNIGHT},
        "B900": {
            "MQID": {"measurementQuantityID": "AI"},
            "settlementDayConsumptionPeriods": [
                {
                    "settlementDay": {"settlementDayDate": f"{mpan_day}T00:00:00+00:00", "periodDuration": 30},
                    "consumptionPeriods": [
                        {"sp": f"{mpan_day}T00:30:00+00:00", "v": "1.000", "q": "A", "e": None, "arc": None}
                    ],
                }
            ],
        },
    }


def test_mds_rejects_consumption_for_an_unknown_mpan_and_lss_shapes_it(sim, pool):
    known = send(sim, SDS_W, "SDS", "IF-021", "ActivePower", consumption(), mpan=pool.draw("mpan"), to=[LSS_W, MDS_W])
    steps = chain(sim, known)
    assert [s[:3] for s in steps[1:]] == [("IF-022", "LSSPeriodData", LSS_W), ("IF-023", "LSSTotalsData", LSS_W)]
    assert "M0" not in sent(sim, known, "IF-022")[0]["CommonBlock"]
    unknown = pool.draw("mpan", registered=False)
    bad = send(sim, SDS_W, "SDS", "IF-021", "ActivePower", consumption(), mpan=unknown, to=[MDS_W])
    [rejected] = sent(sim, bad, "IF-014")
    assert rejected["CommonBlock"]["S0"]["eventCode"] == "[ActivePowerRejected]"
    assert rejected["CommonBlock"]["R0"] == {
        "responseCode": "R",
        "responseMessages": ["RCP1061 - MPAN Invalid or Unknown"],
    }
    assert rejected["CustomBlock"]["B900"] == consumption()["B900"]


def test_mdr_accepts_a_start_naming_it_and_refuses_one_naming_another(sim, pool):
    mdr = "3800004404"

    def start(named: str):
        custom = {
            "B019": {"assignedMDRDIPID": named, "assignedMDRMPID": "MDRW", "assignedMDREffectiveFromDate": MIDNIGHT},
            "B078": {"energyDirection": "I"},
            "B025": {"energisationStatus": "E", "energisationStatusEffectiveFromDate": MIDNIGHT},
            "B068": {"consentGranularity": "H", "consentGranularityEffectiveFromDate": MIDNIGHT},
        }
        return send(sim, SDS_W, "SDS", "IF-061", "MDRStart", custom, mpan=pool.draw("mpan"), to=[mdr])

    ok = start(mdr)
    [resp] = sent(sim, ok, "IF-062", "MDRStartResponse")
    assert resp["CommonBlock"]["R0"]["responseCode"] == "A" and resp["CommonBlock"]["S1"]["senderDIPID"] == mdr
    assert resp["CustomBlock"] == ok["CustomBlock"]
    bad = start("3899999999")
    assert r0_texts(sent(sim, bad, "IF-062")[0]) == ["RCP1064 - MDR provided not valid"]
    mpan = ok["CommonBlock"]["M0"]["MPANCore"]
    assert sim.sim.participants.recall(mdr, f"MDR:{mpan}")["sds_dip_id"] == SDS_W
    stop = {"B083": {"assignedMDRDIPID": mdr, "assignedMDRMPID": "MDRW", "assignedMDREffectiveToDate": MIDNIGHT}}
    send(sim, SDS_W, "SDS", "IF-063", "MDRStop", stop, mpan=mpan, to=[mdr])
    assert any(f"retrieval stopped for {mpan}" in n for n in notes(sim, mdr))
    assert sim.sim.participants.recall(mdr, f"MDR:{mpan}") is None


def test_ees_and_dcc_record_what_they_receive(sim, pool):
    mpan = pool.draw("mpan")
    b023 = SITE["B023"]
    send(sim, REGS_Z, "REGS", "IF-043", "ConnectionTypeChange", {"B023": b023}, mpan=mpan, to=["3700004303"])
    send(sim, REGS_Z, "REGS", "IF-018", "EnergyDirection", {"B023": b023}, mpan=mpan, to=["3600004303"])
    assert any("ConnectionTypeChange received" in n for n in notes(sim, "3700004303"))
    assert any("EnergyDirection received" in n for n in notes(sim, "3600004303"))


def test_vas_and_ecs_record_publications(sim):
    send(sim, ISD_W, "ISD", "IF-047", "ISD", {}, mpan=None, to=[VAS_W, ECS_W])
    assert any("ISD received" in n for n in notes(sim, VAS_W))
    assert any("ISD received" in n for n in notes(sim, ECS_W))


def test_simulator_memory_is_bounded_and_an_eviction_is_journalled(pool):
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    with EmbeddedSimulator(config_from_cohorts(cohorts.values(), version="1.8.2")) as small:
        small.sim.participants.memory_limit = 2
        c1_sup, c1_regs, c1_sds = "2300000101", "2200000101", "1400000101"
        for _ in range(3):  # each appointment leaves REGS's register entry and a pending request
            send(small, c1_sup, "SUP", "IF-031", "DSApp", {"B071": b071(c1_sds, "SDSA", "CSP")}, mpan=pool.draw("mpan"),
                 to=[c1_regs])  # fmt: skip
        full = [n for n in notes(small, c1_regs) + notes(small, c1_sds) if "memory full (2 keys)" in n]
        assert full and small.sim.participants.forgotten > 0 and len(small.sim.participants.memory) <= 2


# ---- rule files are validated when loaded -------------------------------------------------------------


def load_bad(tmp_path: Path, text: str) -> str:
    (tmp_path / "bad.yaml").write_text(textwrap.dedent(text).lstrip())
    with pytest.raises(DefinitionError) as info:
        load_rules(tmp_path)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("role: SUP\nrules:\n  - when: {interface: IF-032}\n    sned: []\n", ":4:", "unknown rule key 'sned'"),
        ("role: SUPP\nrules: []\n", ":1:", "unknown role 'SUPP'"),
        ("role: SUP\nrule: []\n", ":2:", "unknown key 'rule'"),
        (
            "role: SUP\nrules:\n  - when: {interface: IF-032}\n    send:\n      - {interface: IF-033, event: MSAppSPRequest}\n",  # noqa: E501
            ":5:",
            "role SUP may not send IF-033",
        ),
        ("role: SDS\nrules:\n  - when: {interface: IF-031}\n", ":3:", "role SDS never receives IF-031"),
        ("role: SDS\nrules:\n  - when: {interface: IF-033, event: Nope}\n", ":3:", "IF-033 has no event code 'Nope'"),
        ("role: SDS\nrules:\n  - when: {interface: IF-033}\n    note: '{{ msg. }}'\n", ":4:", "template error"),
        (
            "role: SDS\nrules:\n  - when: {interface: IF-033}\n    note: '{{ msgs.B071 }}'\n",
            ":4:",
            "names 'msgs', which rules do not define",
        ),
        (
            "role: SDS\nrules:\n  - when: {interface: IF-033}\n    note: '{{ msg.x | shout }}'\n",
            ":4:",
            "unknown filter",
        ),
        (
            "role: SDS\nrules:\n  - when: {interface: IF-033}\n    send:\n      - {interface: IF-034, event: DSAppSPResponse, too: x}\n",  # noqa: E501
            ":5:",
            "unknown key 'too'",
        ),
        ("role: SDS\nrules:\n  - when: {interface: IF-033, if: x}\n", ":3:", "unknown key 'if' under 'when'"),
        ("roles: [SDS, UMSDS]\nrules:\n  - when: {interface: IF-027}\n", ":3:", "role UMSDS never receives IF-027"),
        (
            "role: SDS\nrules:\n  - when:\n      interface: IF-033\n      where: {B071.x: {startwith: R}}\n",
            ":5:",
            "unknown matcher operator 'startwith'",
        ),
    ],
    ids=[
        "rule key",
        "role",
        "file key",
        "may not send",
        "never receives",
        "event",
        "template syntax",
        "template name",
        "filter",
        "send key",
        "when key",
        "family member",
        "operator",
    ],
)
def test_rule_file_errors_name_file_and_line(tmp_path, text, where, message):
    error = load_bad(tmp_path, text)
    assert f"bad.yaml{where}" in error and message in error, error


def test_the_shipped_rule_files_load_and_cover_every_role_a_cohort_can_lack():
    rules = load_rules(RULES_DIR)
    every = {"REGS", "SUP", "MSS", "MSA", "UMSO", "SDS", "ADS", "UMSDS", "LDSO", "LSS", "MDS", "VAS", "ECS"}
    assert every | {"MDR", "EES", "DCC"} <= set(rules)
    for role, role_rules in rules.items():
        fallback_seen = False
        for rule in role_rules:  # otherwise-rules come after every ordinary rule of the role
            fallback_seen = fallback_seen or rule.fallback
            assert rule.fallback or not fallback_seen, (role, rule.source)


def test_every_message_the_simulators_sent_was_accepted_by_the_dips_own_checks(sim):
    """Runs after the over-the-wire tests of its simulator (same module-scoped fixture)."""
    accepted = journal(sim, kind="accepted", limit=100000)
    assert len({e["sender"] for e in accepted}) >= 12  # most simulated roles did send something
    assert journal(sim, kind="refused") == []  # a simulator's invalid message is journalled as refused
    assert [e["note"] for e in journal(sim, kind="event") if "DEFECT" in e["note"]] == []


def test_every_message_a_simulated_role_sent_validates_against_the_official_spec(sim):
    """Checked again outside the simulator, as ``--dip-spec`` checks a message: each message a
    simulated role sent (its blocks as sent: the DIP's D0 taken off) against the official spec."""
    if sim.config.version != "2.1.0":
        pytest.skip("the official spec is v2.1.0; this simulator ran another version")
    if not (SPEC / "SubmitEvents-unresolved.yaml").is_file():
        pytest.skip(f"the official DIP spec is not at {SPEC}")
    from mhhs_sit.definitions.payloads import check_message

    simulated = {d for d, p in sim.config.participants.items() if p.simulated}
    by_simulated = [e for e in journal(sim, kind="accepted", limit=100000) if e["sender"] in simulated]
    assert len({(e["interface"], e["eventCode"]) for e in by_simulated}) >= 20
    problems = []
    for e in by_simulated:
        sent = {**e["payload"], "CommonBlock": {k: v for k, v in e["payload"]["CommonBlock"].items() if k != "D0"}}
        problems += [
            f"{e['interface']} {e['eventCode']}: {p}" for p in check_message(sent, e["interface"], "2.1.0", str(SPEC))
        ]
    assert problems == []


def test_validate_checks_the_simulator_rule_files(tmp_path):
    """`mhhs-sit validate` of a local environment reports a broken rule file at its line."""
    from mhhs_sit.cli.app import simulator_rule_problems
    from mhhs_stubs.responders import RULES_DIR

    assert simulator_rule_problems() == []  # the shipped rules
    for f in RULES_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text())
    broken = sorted(tmp_path.glob("*.yaml"))[0]
    broken.write_text(broken.read_text() + "\n  - name: typo\n    wen: {interface: IF-031}\n")
    problems = simulator_rule_problems(tmp_path)
    assert problems and all(p.file.endswith(broken.name) for p in problems)
    assert any(p.line > 0 for p in problems)
