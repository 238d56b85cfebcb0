import datetime as dt
import re

from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message, dip_timestamp

SUR = re.compile(r"^S-((IF|REP)-)?\d{3,4}-[0-9a-fA-F]{10}-[A-Z]{3,5}-\d{8}-[a-zA-Z0-9]+$")  # DT-995


def test_common_blocks_are_filled_as_the_spec_requires():
    refs = ReferenceSource("t")
    msg = build_message(
        interface_id="IF-031",
        event="DSApp",
        sender=Sender("2300000101", "SUP"),
        environment_tag="DEV",
        refs=refs,
        custom={"B071": {}},
        recipients=["2200000101", "2200000101"],
        mpan="1000000000011",
        distributor_dip_id="2500000101",
        now=dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC),
    )
    cb = msg["CommonBlock"]
    assert cb["S0"] == {"interfaceID": "IF-031", "schemaVersion": "011", "eventCode": "[DSApp]"}
    s1 = cb["S1"]
    assert set(s1) == {
        "environmentTag",
        "subText",
        "senderUniqueReference",
        "senderTimestamp",
        "senderDIPID",
        "senderRoleID",
        "senderCorrelationID",
        "DIPConnectionProviderID",
    }
    assert SUR.match(s1["senderUniqueReference"]), s1["senderUniqueReference"]
    assert s1["senderTimestamp"] == "2026-03-01T12:00:00+00:00"
    assert cb["A0"] == {"primaryRecipients": ["2200000101"], "secondaryRecipients": [], "always": []}
    assert cb["M0"] == {"MPANCore": "1000000000011", "distributorDIPID": "2500000101", "GSPGroupID": "_A"}
    assert msg["CustomBlock"] == {"B071": {}}


def test_references_are_unique_and_correlation_ids_fit_dt011():
    refs = ReferenceSource()
    day = dt.date(2026, 1, 1)
    surs = {refs.unique_reference("IF-021", "1400000101", "SDS", day) for _ in range(1000)}
    assert len(surs) == 1000
    corr = refs.correlation_id(day)
    assert 1 <= len(corr) <= 60 and corr.startswith("CI-20260101-")


def test_timestamp_is_25_characters_in_utc():
    moment = dt.datetime(2026, 7, 1, 1, 2, 3, 999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert dip_timestamp(moment) == "2026-07-01T00:02:03+00:00"


def test_an_event_code_without_a_custom_block_is_built_without_one():
    msg = build_message(
        interface_id="IF-038",
        event="DirectContractMSRemove",
        sender=Sender("2300000101", "MSS"),
        environment_tag="DEV",
        refs=ReferenceSource("t"),
        custom_block=False,
    )
    assert set(msg) == {"CommonBlock"}


def test_a_reports_unique_reference_keeps_to_the_spec_pattern():
    refs = ReferenceSource("t")
    reference = refs.unique_reference("REP-002A", "2300000101", "ECS", dt.date(2026, 3, 1))
    assert SUR.match(reference) and reference.startswith("S-REP-002-2300000101-ECS-20260301-")
