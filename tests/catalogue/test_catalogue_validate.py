"""Validating messages against the project's catalogue: every fault, precisely located."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from mhhs_sit.catalogue import Catalogue, Violation


def pointers(violations: list[Violation]) -> list[str]:
    return [v.pointer for v in violations]


def test_a_valid_appointment_request_validates_clean(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    assert cat.validate(ds_app, version="2.1.0") == []
    assert cat.validate(ds_app, version="IR8.2", interface_id="IF-031") == []


def test_three_faults_give_three_violations_at_the_faulty_fields(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    s1 = ds_app["CommonBlock"]["S1"]
    s1["senderTimestamp"] = "2024-01-01T10:00:00Z"  # a Z instead of +00:00
    del s1["senderRoleID"]
    ds_app["CustomBlock"]["B071"]["appointmentScenario"] = "XYZ"

    violations = cat.validate(ds_app, version="2.1.0")

    assert [(v.pointer, v.keyword) for v in violations] == [
        ("/CommonBlock/S1/senderRoleID", "required"),
        ("/CommonBlock/S1/senderTimestamp", "minLength"),
        ("/CustomBlock/B071/appointmentScenario", "enum"),
    ]
    missing, timestamp, scenario = (v.message for v in violations)
    assert missing.startswith("CommonBlock.S1 lacks the required field senderRoleID")
    assert "3 to 5 characters, like SUP" in missing
    assert "'2024-01-01T10:00:00Z'" in timestamp and "2022-03-21T19:05:00+00:00" in timestamp
    assert scenario == (
        "CustomBlock.B071.appointmentScenario is 'XYZ'; "
        "expected one of 'COS', 'CSP', 'USP', 'SEG', 'MCA', 'MCS', 'ALG'."
    )


def test_an_unexpected_field_is_named_with_a_suggestion(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    ds_app["CommonBlock"]["M0"]["gspGroupID"] = ds_app["CommonBlock"]["M0"].pop("GSPGroupID")
    ds_app["CommonBlock"]["M0"]["GSPGroupId"] = "_L"  # both spellings: the second cannot be renamed
    found = cat.validate(ds_app, version="2.1.0")
    assert pointers(found) == ["/CommonBlock/M0/GSPGroupId"]
    assert found[0].keyword == "additionalProperties"
    assert found[0].message == ("CommonBlock.M0.GSPGroupId is not a field of CommonBlock.M0; did you mean GSPGroupID?")


def test_field_names_match_case_insensitively_as_on_the_dip(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    text = json.dumps(ds_app)
    for right, wrong in (
        ("interfaceID", "interfaceId"),
        ("senderDIPID", "senderDipId"),
        ("B071", "b071"),
        ("proposedDataServiceMPID", "ProposedDataServiceMpid"),
    ):
        text = text.replace(f'"{right}"', f'"{wrong}"')
    lowered = json.loads(text)
    assert cat.validate(lowered, version="2.1.0") == []
    strict = cat.validate(lowered, version="2.1.0", exact_names=True, interface_id="IF-031")
    assert "/CommonBlock/S1/senderDipId" in pointers(strict)


def test_violations_use_the_senders_spelling(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    ds_app["CustomBlock"]["b071"] = ds_app["CustomBlock"].pop("B071")
    ds_app["CustomBlock"]["b071"]["AppointmentScenario"] = ds_app["CustomBlock"]["b071"].pop("appointmentScenario")
    ds_app["CustomBlock"]["b071"]["AppointmentScenario"] = "NOP"
    assert pointers(cat.validate(ds_app, version="2.1.0")) == ["/CustomBlock/b071/AppointmentScenario"]


def test_nullable_fields_accept_null_and_others_do_not(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    ds_app["CommonBlock"]["S1"]["subText"] = None
    assert cat.validate(ds_app, version="2.1.0") == []
    ds_app["CommonBlock"]["S1"]["senderDIPID"] = None
    (found,) = cat.validate(ds_app, version="2.1.0")
    assert (found.pointer, found.keyword) == ("/CommonBlock/S1/senderDIPID", "type")
    assert found.message.startswith("CommonBlock.S1.senderDIPID is null; expected a string")


def test_an_event_code_of_another_interface_is_reported_with_the_allowed_ones(
    cat: Catalogue, ds_app: dict[str, Any]
) -> None:
    ds_app["CommonBlock"]["S0"]["eventCode"] = "DSApp"  # without the brackets
    (found,) = cat.validate(ds_app, version="2.1.0")
    assert (found.pointer, found.keyword) == ("/CommonBlock/S0/eventCode", "enum")
    assert "expected one of [MSApp], [DSApp]" in found.message


def test_the_interface_comes_from_the_argument_or_from_s0(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    wrong = cat.validate(ds_app, version="2.1.0", interface_id="IF-032")
    assert "/CommonBlock/S0/interfaceID" in pointers(wrong)
    del ds_app["CommonBlock"]["S0"]["interfaceID"]
    (found,) = cat.validate(ds_app, version="2.1.0")
    assert (found.pointer, found.keyword) == ("/CommonBlock/S0/interfaceID", "required")
    (unknown,) = cat.validate(ds_app, version="2.1.0", interface_id="IF-999")
    assert unknown.message == "IF-999 is not an interface of catalogue version 2.1.0."


def test_an_interface_missing_from_the_version_is_a_violation(make_message: Any, cat: Catalogue) -> None:
    ees = make_message("IF-051", "EESRefresh", {}, schema_version="001")
    assert all(v.pointer.startswith("/CustomBlock/") for v in cat.validate(ees, version="2.1.0"))
    (found,) = cat.validate(ees, version="IR8.2")
    assert found.message == "IF-051 is not an interface of catalogue version 1.8.2 (IR8.2) (it exists in 2.1.0)."


def test_every_interface_checks_its_custom_block_as_well_as_the_common_blocks(
    make_message: Any, cat: Catalogue
) -> None:
    gain = make_message("IF-002", "GainMPANInfo", {"anything": {"goes": 1}})
    found = pointers(cat.validate(gain, version="2.1.0"))
    assert "/CustomBlock/anything" in found and "/CustomBlock/B013" in found
    gain["CommonBlock"]["M0"]["GSPGroupID"] = "_I"
    assert "/CommonBlock/M0/GSPGroupID" in pointers(cat.validate(gain, version="2.1.0"))


def test_an_event_code_without_a_custom_block_refuses_one(make_message: Any, cat: Catalogue) -> None:
    remove = make_message("IF-038", "DirectContractMSRemove", {})
    (found,) = cat.validate(remove, version="2.1.0")
    assert (found.pointer, found.keyword) == ("/CustomBlock", "additionalProperties")
    del remove["CustomBlock"]
    assert cat.validate(remove, version="2.1.0") == []
    assert not cat.interface("IF-038").has_custom_block("[DirectContractMSRemove]")
    assert cat.interface("IF-038").has_custom_block("DirectContractMSAdd")


def test_consumption_is_validated_in_full(cat: Catalogue, consumption: dict[str, Any]) -> None:
    assert cat.validate(consumption, version="2.1.0") == []
    day = consumption["CustomBlock"]["B900"]["settlementDayConsumptionPeriods"][0]
    day["consumptionPeriods"][1]["v"] = 0.875  # a number, not a string
    day["settlementDay"]["periodDuration"] = 15
    found = cat.validate(consumption, version="2.1.0")
    assert [(v.pointer, v.keyword) for v in found] == [
        ("/CustomBlock/B900/settlementDayConsumptionPeriods/0/consumptionPeriods/1/v", "type"),
        (
            "/CustomBlock/B900/settlementDayConsumptionPeriods/0/settlementDay/periodDuration",
            "minimum",
        ),
    ]
    assert "exactly 3 after, like 12.345" in found[0].message


def test_readings_are_validated_in_full(make_message: Any, cat: Catalogue) -> None:
    reading = {
        "meterID": "M1",
        "cumulativeRegisterReading": "123.000",
        "cumulativeRegisterReadingDateTime": "2024-01-01T00:00:00+00:00",
        "readingMethod": "A",
        "siteVisitCheckCode": None,
    }
    msg = make_message("IF-041", "ReadingCOS", {"B064List": [reading]})
    assert cat.validate(msg, version="2.1.0") == []
    msg["CustomBlock"]["B064List"][0]["readingMethod"] = "Z"
    assert pointers(cat.validate(msg, version="2.1.0")) == ["/CustomBlock/B064List/0/readingMethod"]


def test_a_payload_that_is_not_an_object_is_one_violation(cat: Catalogue) -> None:
    (found,) = cat.validate(["not", "a", "message"], version="2.1.0", interface_id="IF-031")
    assert found.pointer == "" and found.keyword == "type"


def test_the_message_schema_is_available_for_generators(cat: Catalogue) -> None:
    schema = cat.schema("IF-031", "[DSApp]", version="IR8.2")
    assert schema["properties"]["CommonBlock"]["properties"]["S0"]["properties"]["eventCode"]["enum"] == ["[DSApp]"]
    assert "$ref" not in json.dumps(schema)


def test_validating_one_appointment_message_costs_well_under_half_a_millisecond(
    cat: Catalogue, ds_app: dict[str, Any]
) -> None:
    messages = [copy.deepcopy(ds_app) for _ in range(200)]
    cat.validate(ds_app, version="2.1.0")  # compile once
    best = float("inf")
    for _ in range(5):  # the best of several rounds, so a busy machine does not fail the test
        start = time.perf_counter()
        for m in messages:
            cat.validate(m, version="2.1.0")
        best = min(best, (time.perf_counter() - start) / len(messages))
    assert best < 0.0005, f"{best * 1e6:.0f} µs per message"
