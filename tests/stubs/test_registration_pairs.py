"""The registration service's less travelled answers over real loopback HTTP, with the test cohorts
of test_participant_simulators: the de-appointed service told of the incoming service's update
(IF-037 [MSDeAppUpdate]/[DSDeAppUpdate]) - the metering one needs two metering services of one
market (the library carries it in cohort C10, SITFT-03-013; it is proved here too) - and the
incumbent metering service told to send its MTD to a new data service (IF-035 [IMS-SendMTD])."""

from __future__ import annotations

from tests.stubs import test_participant_simulators as simulators
from tests.stubs.test_participant_simulators import MSS, MSS_Y, REGS, SDS, SDS_Y, SUP, b070, b071, send, sent

# the module-scoped simulator fixtures (one per spec version) and the MPAN pool of those tests
sim = simulators.sim
pool = simulators.pool


def _appoint(sim, mpan: str, interface_event: str, block: str, body: dict):
    return send(sim, SUP, "SUP", "IF-031", interface_event, {block: body}, mpan=mpan, to=[REGS])


def test_the_de_appointed_metering_service_is_told_the_incoming_ones_updated_start(sim, pool):
    mpan = pool.draw("mpan")
    _appoint(sim, mpan, "MSApp", "B070", b070(MSS, "MSSX", "CSP"))
    replaced = _appoint(sim, mpan, "MSApp", "B070", b070(MSS_Y, "MSSY", "CSP"))
    assert len(sent(sim, replaced, "IF-037", "MSDeApp")) == 1
    assert sent(sim, replaced, "IF-037", "MSDeAppUpdate") == []  # a de-appointment is no update
    later = {**b070(MSS_Y, "MSSY", "USP"), "proposedMeteringServiceDIPEffectiveFromDate": "2030-01-01T00:00:00+00:00"}
    update = _appoint(sim, mpan, "MSApp", "B070", later)
    [told] = sent(sim, update, "IF-037", "MSDeAppUpdate")
    assert told["CommonBlock"]["A0"]["primaryRecipients"] == [MSS, SUP]
    assert told["CustomBlock"]["B010"] == {
        "incomingMeteringServiceDIPID": MSS_Y,
        "incomingMeteringServiceMPID": "MSSY",
        "incomingMeteringServiceEffectiveFromDate": "2030-01-01T00:00:00+00:00",
    }


def test_an_update_of_a_service_that_replaced_no_one_tells_no_one_of_a_de_appointment(sim, pool):
    mpan = pool.draw("mpan")
    _appoint(sim, mpan, "DSApp", "B071", b071(SDS, "SDSX", "CSP"))
    update = _appoint(sim, mpan, "DSApp", "B071", b071(SDS, "SDSX", "USP"))
    assert sent(sim, update, "IF-035", "DSAppAccepted")  # the update itself went through
    assert sent(sim, update, "IF-037") == []


def test_the_de_appointed_data_service_is_told_the_incoming_ones_updated_start(sim, pool):
    mpan = pool.draw("mpan")
    _appoint(sim, mpan, "DSApp", "B071", b071(SDS, "SDSX", "CSP"))
    _appoint(sim, mpan, "DSApp", "B071", b071(SDS_Y, "SDSY", "CSP"))
    update = _appoint(sim, mpan, "DSApp", "B071", b071(SDS_Y, "SDSY", "USP"))
    [told] = sent(sim, update, "IF-037", "DSDeAppUpdate")
    assert told["CommonBlock"]["A0"]["primaryRecipients"] == [SDS, SUP]
    assert told["CustomBlock"]["B011"]["incomingDataServiceDIPID"] == SDS_Y


def test_the_incumbent_metering_service_is_told_to_send_its_mtd_to_a_new_data_service(sim, pool):
    mpan = pool.draw("mpan")
    alone = _appoint(sim, mpan, "DSApp", "B071", b071(SDS, "SDSX", "CSP"))
    assert sent(sim, alone, "IF-035", "IMS-SendMTD") == []  # no metering service on record yet
    _appoint(sim, mpan, "MSApp", "B070", b070(MSS, "MSSX", "CSP"))
    new_ds = _appoint(sim, mpan, "DSApp", "B071", b071(SDS_Y, "SDSY", "CSP"))
    [told] = sent(sim, new_ds, "IF-035", "IMS-SendMTD")
    assert told["CommonBlock"]["A0"]["primaryRecipients"] == [MSS]
    assert told["CustomBlock"]["B071"]["proposedDataServiceDIPID"] == SDS_Y
    assert told["CustomBlock"]["B007"]["responseCode"] == "A"
