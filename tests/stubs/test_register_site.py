"""The simulated registration service writes each MPAN's own site data: for an MPAN the data pool
issued, the pool's metering point (the GSP-correct address, segment, connection type, energy
direction, domestic flag, DUoS tariff) in IF-002 and IF-033, as ``draw: metering_point`` gives it to a test; for
a core the pool never issues, the fixed test site."""

from __future__ import annotations

import pytest
import requests

from mhhs_sit.data import CohortPool
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.registry import TEST_SITE, site_of
from tests.helpers import written_cohorts

SUP, REGS, LDSO, MSS = "2300004801", "2200004801", "2500004801", "1200004801"
COHORT = f"""
    cohort: C48
    title: Supplier and metering service under test
    participants:
      SUP:  {{mpid: SUPK, dip_id: "{SUP}"}}
      REGS: {{mpid: LOND, dip_id: "{REGS}", distributor: "12"}}
      LDSO: {{mpid: LOND, dip_id: "{LDSO}", distributor: "12"}}
      MSS:  {{mpid: MSSK, dip_id: "{MSS}"}}
    simulated: [REGS, LDSO]
"""
FOREIGN = "1000000000030"  # a valid core no pool block issues (check digit 0)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), {"C48": COHORT})
    with EmbeddedSimulator(config_from_cohorts(cohorts, version="2.1.0", check_responses=True)) as s:
        yield s


def switch(sim, mpan: str) -> tuple[dict, dict]:
    """A change of supplier's metering appointment; REGS's IF-002 to the supplier and IF-033 to the service."""
    message = build_message(
        interface_id="IF-031", event="MSApp", sender=Sender(SUP, "SUP"), environment_tag="DEV",
        refs=ReferenceSource(), recipients=[REGS], mpan=mpan, distributor_dip_id=LDSO,
        custom={
            "B013": {"CSSRegistrationID": f"CSS-{mpan}"},
            "B070": {"proposedMeteringServiceDIPID": MSS, "proposedMeteringServiceMPID": "MSSK",
                     "proposedMeteringServiceDIPEffectiveFromDate": "2026-06-01T00:00:00+01:00",
                     "contractReferenceMeteringService": "MS-1", "appointmentScenario": "COS"},
        },
    )  # fmt: skip
    r = requests.post(
        f"{sim.url}/dip-channel/IF-031",
        json=[{"payload": message}],
        headers={"X-API-Key": sim.config.api_keys[SUP]},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=10)
    correlation = message["CommonBlock"]["S1"]["senderCorrelationID"]

    def one(interface: str) -> dict:
        params = {"kind": "accepted", "interface": interface, "correlation_id": correlation}
        [entry] = requests.get(
            f"{sim.url}/_sim/messages", headers=sim.control_headers, params=params, timeout=5
        ).json()["messages"]
        return dict(entry["payload"]["CustomBlock"])

    return one("IF-002"), one("IF-033")


@pytest.mark.parametrize("segment", ["smart", "advanced"])
def test_a_pool_mpan_is_described_with_its_own_metering_point(sim, segment):
    point = CohortPool("C48", cohort_index=48, distributor_ids=["12"], seed=5).draw("metering_point", segment=segment)
    assert isinstance(point, dict)
    gain, request = switch(sim, str(point["mpan"]))
    for custom in (gain, request):
        assert custom["B022"]["meteringPointPostcode"] == point["address"]["postcode"]
        assert custom["B022"]["addressLine1"] == point["address"]["lines"][0]
        assert custom["B022"]["addressLine9"] == point["address"]["town"]
        assert custom["B023"]["connectionTypeIndicator"] == point["connection_type"]
        assert custom["B023"]["energyDirection"] == ("E" if point["direction"] == "export" else "I")
        assert custom["B026"]["marketSegmentIndicator"] == {"smart": "S", "advanced": "A"}[segment]
        assert custom["B025"]["energisationStatus"] == "E"
        assert custom["B024"]["DUOSTariffID"] == point["line_loss_factor_class"] == point["full_mpan"][5:8]
    assert site_of(point["mpan"])["gsp_group"] == point["gsp_group"] == "_C"  # London (12): GSP group _C


def test_two_pool_mpans_get_different_addresses_and_a_foreign_core_the_test_site(sim):
    pool = CohortPool("C48", cohort_index=48, distributor_ids=["12"], seed=6)
    first, second = (switch(sim, str(pool.draw("mpan")))[0]["B022"] for _ in range(2))
    assert first != second
    foreign, _ = switch(sim, FOREIGN)
    assert foreign["B022"]["meteringPointPostcode"] == TEST_SITE["postcode"] == "SW1A 2AA"
    assert foreign["B026"]["marketSegmentIndicator"] == "S"
    assert foreign["B024"]["DUOSTariffID"] == TEST_SITE["duos_tariff"] == "101"


def test_the_duos_tariff_is_each_pool_mpans_own():
    pool = CohortPool("C48", cohort_index=48, distributor_ids=["12"], seed=7)
    points = [pool.draw("metering_point") for _ in range(40)]
    tariffs = {site_of(p["mpan"])["duos_tariff"] for p in points if isinstance(p, dict)}
    assert len(tariffs) > 1 and all(isinstance(t, str) and len(t) == 3 for t in tariffs)
