"""The smart data service's side of meter data retrieval over real loopback HTTP (sds_mdr.yaml):
the MDR the registration service assigns is started, asked for consumption and readings, stopped
when another is assigned or the data service is de-appointed. The test plays the registration
service; the smart data service and two meter data retrievers are simulated, so the MDR's
answers (meter_data_retriever.yaml) follow in the same process."""

from __future__ import annotations

import pytest

from mhhs_sit.catalogue import load_catalogue
from mhhs_sit.data import CohortPool
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.scaffold import _properties, _tree
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import official_spec_args, written_cohorts
from tests.stubs.test_participant_simulators import journal, send

COHORTS = {
    "C47": """
        cohort: C47
        title: Smart data service and its MDR simulated
        participants:
          REGS: {mpid: REGA, dip_id: "2200005101", distributor: "10"}
          SUP:  {mpid: SUPA, dip_id: "2300005101"}
          LDSO: {mpid: LDSA, dip_id: "2500005101", distributor: "10"}
          SDS:  {mpid: SDSA, dip_id: "1400005101"}
          MDR:  {mpid: MDRA, dip_id: "3800005101"}
        simulated: [SDS, MDR]
    """,
    "C48": """
        cohort: C48
        title: Another meter data retriever
        participants:
          MDR: {mpid: MDRB, dip_id: "3800005202"}
        simulated: [MDR]
    """,
}
REGS, SUP, SDS, MDR_A, MDR_B = "2200005101", "2300005101", "1400005101", "3800005101", "3800005202"
FROM = "2026-06-01T00:00:00+01:00"
PARTIES = {"REGS": REGS, "SUP": SUP, "LDSO": "2500005101", "SDS": SDS, "MDR": MDR_A}
CONTEXT = {
    **templating.builtins(),
    "cohort": {role: {"dip_id": dip_id, "mpid": f"{role[:3]}A"} for role, dip_id in PARTIES.items()},
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), COHORTS)
    spec = official_spec_args()
    with EmbeddedSimulator(config_from_cohorts(cohorts, version="2.1.0", **spec)) as s:
        yield s


@pytest.fixture(scope="module")
def pool():
    return CohortPool("C47", cohort_index=47, distributor_ids=["10"], seed=3)


def scaffold(interface: str, event: str, **blocks: object) -> dict:
    """A custom block valid by the catalogue's 2.1.0, with ``blocks`` written over it."""
    schema = load_catalogue().schema(interface, event, version="2.1.0")
    tree = templating.render_mapping(_tree(_properties(schema)["CustomBlock"], "REGS"), CONTEXT)
    return {**tree, **blocks}


def from_regs(sim, interface: str, event: str, mpan: str, **blocks: object) -> None:
    common = {"R0": {"responseCode": "A", "responseMessages": []}} if interface == "IF-008" else None
    custom = scaffold(interface, event, **blocks)
    send(sim, REGS, "REGS", interface, event, custom, mpan=mpan, to=[SDS], extra_common=common)


def activate(sim, mpan: str, scenario: str = "CSP", **extra: object) -> None:
    b012 = {"serviceProviderAppointmentRequestingSupplierDIPID": SUP}
    b012["serviceProviderAppointmentRequestingSupplierMPID"] = "SUPA"
    b015 = {**scaffold("IF-036", "DSAppActive")["B015"], "incomingDataServiceDIPID": SDS}
    b015 |= {
        "incomingDataServiceMPID": "SDSA",
        "incomingDataServiceEffectiveFromDate": FROM,
        "appointmentScenario": scenario,
    }
    b023 = {"connectionTypeIndicator": "W", "connectionTypeEffectiveFromDate": FROM}
    b023 |= {"energyDirection": "E", "meteredIndicator": True}
    b025 = {"energisationStatus": "E", "energisationStatusEffectiveFromDate": FROM}
    from_regs(sim, "IF-036", "DSAppActive", mpan, B012=b012, B015=b015, B023=b023, B025=b025, **extra)


def assign(sim, mpan: str, mdr: str, mpid: str, code: str = "A") -> None:
    b092 = {"assignedMDRDIPID": mdr, "assignedMDRMPID": mpid, "assignedMDREffectiveFromDate": FROM}
    b099 = {"responseCode": code, "responseMessages": []}
    from_regs(sim, "IF-035", "SDS-MDROutcome", mpan, B092=b092, B099=b099)


def of_mpan(sim, mpan: str) -> list[tuple[str, str, str, list[str], dict]]:
    """(interface, event, sender, recipients, custom block) of every accepted message about ``mpan``."""
    out = []
    for e in journal(sim, kind="accepted", limit=100000):
        common = e["payload"]["CommonBlock"]
        if (common.get("M0") or {}).get("MPANCore") == mpan:
            event = common["S0"]["eventCode"].strip("[]")
            out.append((e["interface"], event, e["sender"], [d["recipient"] for d in e["deliveries"]],
                        e["payload"].get("CustomBlock")))  # fmt: skip
    return out


def sent_by(sim, mpan: str, sender: str) -> list[tuple[str, str, list[str]]]:
    return [(i, ev, to) for i, ev, s, to, _ in of_mpan(sim, mpan) if s == sender]


def test_an_assigned_mdr_is_started_with_what_the_activation_said_and_asked_for_data(sim, pool):
    mpan = str(pool.draw("mpan"))
    activate(sim, mpan)
    assign(sim, mpan, MDR_A, "MDRA")
    [start] = [c for i, _, s, _, c in of_mpan(sim, mpan) if i == "IF-061"]
    assert start["B019"] == {"assignedMDRDIPID": MDR_A, "assignedMDRMPID": "MDRA", "assignedMDREffectiveFromDate": FROM}
    assert start["B078"] == {"energyDirection": "E"}  # the activation's B023
    assert start["B025"] == {"energisationStatus": "E", "energisationStatusEffectiveFromDate": FROM}
    assert start["B012"]["serviceProviderAppointmentRequestingSupplierDIPID"] == SUP
    assert sent_by(sim, mpan, SDS) == [
        ("IF-034", "SDS-MDRUpdate", [REGS]),  # active with no MDR assigned: its cohort's nominated
        ("IF-061", "MDRStart", [MDR_A]),
        ("IF-065", "MDRConsumption", [MDR_A]),
        ("IF-065", "MDRTOU", [MDR_A]),
        ("IF-041", "ReadingRemote", [SUP]),  # the MDR's reading, passed on to the supplier
    ]
    # the MDR accepted the start, then answered both requests
    assert [(i, ev) for i, ev, _ in sent_by(sim, mpan, MDR_A)] == [
        ("IF-062", "MDRStartResponse"), ("IF-064", "MDRConsumption"), ("IF-065", "ReadingRemote"),
    ]  # fmt: skip
    [reading] = [c for i, _, s, _, c in of_mpan(sim, mpan) if i == "IF-065" and s == MDR_A]
    [passed] = [c for i, _, s, _, c in of_mpan(sim, mpan) if i == "IF-041"]
    [given] = reading["B076List"]
    assert passed["B064List"] == [{**given, "readingMethod": "A", "siteVisitCheckCode": None}]


def test_activation_without_an_mdr_nominates_the_cohorts_and_one_with_an_mdr_does_not(sim, pool):
    bare, assigned = str(pool.draw("mpan")), str(pool.draw("mpan"))
    activate(sim, bare)
    [nomination] = [c for i, _, s, _, c in of_mpan(sim, bare) if i == "IF-034"]
    assert nomination["B018"]["SDSNominatedMDRDIPID"] == MDR_A and nomination["B018"]["SDSNominatedMDRMPID"] == "MDRA"
    assert nomination["B012"]["serviceProviderAppointmentRequestingSupplierDIPID"] == SUP
    activate(
        sim, assigned, B019={"assignedMDRDIPID": MDR_B, "assignedMDRMPID": "MDRB", "assignedMDREffectiveFromDate": FROM}
    )
    assert sent_by(sim, assigned, SDS) == []


def test_an_energisation_change_asks_the_mdr_for_an_instantaneous_reading(sim, pool):
    mpan = str(pool.draw("mpan"))
    activate(sim, mpan)
    assign(sim, mpan, MDR_A, "MDRA")
    from_regs(sim, "IF-008", "EnergisationStatusChange", mpan)
    assert ("IF-065", "MDRInstantaneous", [MDR_A]) in sent_by(sim, mpan, SDS)
    assert sent_by(sim, mpan, MDR_A).count(("IF-065", "ReadingRemote", [SDS])) == 2  # TOU, then instantaneous


def test_after_a_change_of_supplier_the_first_reading_is_the_change_of_supplier_reading(sim, pool):
    mpan = str(pool.draw("mpan"))
    activate(sim, mpan, scenario="COS")
    assign(sim, mpan, MDR_A, "MDRA")
    from_regs(sim, "IF-008", "EnergisationStatusChange", mpan)  # a second reading, instantaneous
    readings = [(ev, to) for i, ev, to in sent_by(sim, mpan, SDS) if i == "IF-041"]
    assert readings == [("ReadingCOS", [SUP]), ("ReadingRemote", [SUP])]


def test_a_new_mdr_replaces_the_old_one_and_a_de_appointment_stops_it(sim, pool):
    mpan = str(pool.draw("mpan"))
    activate(sim, mpan)
    assign(sim, mpan, MDR_A, "MDRA")
    assign(sim, mpan, MDR_B, "MDRB")
    sds = sent_by(sim, mpan, SDS)
    stop, start = ("IF-063", "MDRStop", [MDR_A]), ("IF-061", "MDRStart", [MDR_B])
    assert sds.index(stop) < sds.index(start)  # one rule: the old one stopped, then the new one started
    assert sim.sim.participants.recall(MDR_A, f"MDR:{mpan}") is None  # the old MDR stopped retrieving
    b009 = {**scaffold("IF-037", "DSDeApp")["B009"], "deAppointedDataServiceDIPID": SDS}
    b009["deAppointmentReasonCode"] = "CSUPP"
    from_regs(sim, "IF-037", "DSDeApp", mpan, B009=b009)
    [stop] = [c for i, _, s, to, c in of_mpan(sim, mpan) if i == "IF-063" and to == [MDR_B]]
    assert stop["B083"]["assignedMDRDIPID"] == MDR_B and stop["B083"]["assignedMDRMPID"] == "MDRB"
    assert sim.sim.participants.recall(SDS, f"SDSMDR:{mpan}") is None
    assert sim.sim.participants.recall(MDR_B, f"MDR:{mpan}") is None


def test_no_mdr_is_started_where_the_data_service_is_not_appointed_or_the_assignment_refused(sim, pool):
    unserved, refused = str(pool.draw("mpan")), str(pool.draw("mpan"))
    assign(sim, unserved, MDR_A, "MDRA")
    activate(sim, refused)
    assign(sim, refused, MDR_A, "MDRA", code="R")
    from_regs(sim, "IF-008", "EnergisationStatusChange", refused)  # no MDR retrieves: nothing asked
    assert sent_by(sim, unserved, SDS) == [] and sent_by(sim, refused, SDS) == [("IF-034", "SDS-MDRUpdate", [REGS])]
