"""Versions differ for real: each kind of change shows in diff() and in validate()."""

from __future__ import annotations

import copy
from typing import Any

from mhhs_sit.catalogue import Catalogue, Change


def kinds(changes: list[Change], interface_id: str) -> dict[str, list[Change]]:
    out: dict[str, list[Change]] = {}
    for c in changes:
        if c.interface_id == interface_id:
            out.setdefault(c.kind, []).append(c)
    return out


def carrying_b013(cat: Catalogue) -> set[str]:
    """The interfaces of IR8 and 2.1.0 some event code of which carries the CSS registration block B013."""
    out = set()
    for interface in cat.interfaces:
        if not interface.event_codes("IR8"):
            continue
        for code in interface.event_codes("2.1.0"):
            custom = cat.schema(interface.id, code, version="2.1.0")["properties"].get("CustomBlock", {})
            if "B013" in custom.get("properties", {}):
                out.add(interface.id)
    return out


def test_a_field_added(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    (change,) = kinds(cat.diff("IR8", "IR8.2"), "IF-031")["field-added"]
    assert (change.event_code, change.path, change.before, change.after, change.source) == (
        "DSApp",
        "/CustomBlock/B071/traditionalFallBackReadFrequency",
        None,
        "required",
        "modelled",
    )
    old = copy.deepcopy(ds_app)  # an IR8 message: the CSS id had its old name and the field was absent
    old["CustomBlock"]["B013"] = {"CSSRegistrationRequestID": "a1b2c3"}
    del old["CustomBlock"]["B071"]["traditionalFallBackReadFrequency"]
    assert cat.validate(old, version="IR8") == []
    with_field = copy.deepcopy(old)
    with_field["CustomBlock"]["B071"]["traditionalFallBackReadFrequency"] = "M"
    (unknown,) = cat.validate(with_field, version="IR8")
    assert (unknown.pointer, unknown.keyword) == (
        "/CustomBlock/B071/traditionalFallBackReadFrequency",
        "additionalProperties",
    )
    assert ("/CustomBlock/B071/traditionalFallBackReadFrequency", "required") in [
        (v.pointer, v.keyword) for v in cat.validate(old, version="IR8.2")
    ]


def test_a_field_renamed(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    renamed = [c for c in cat.diff("IR8", "2.1.0") if c.kind == "field-renamed"]
    assert {c.interface_id for c in renamed} == carrying_b013(cat)
    assert {"IF-031", "IF-001", "IF-018"} <= carrying_b013(cat)
    change = next(c for c in renamed if c.interface_id == "IF-031")
    assert (change.event_code, change.path, change.before, change.after) == (
        None,
        "/CustomBlock/B013/CSSRegistrationID",
        "CSSRegistrationRequestID",
        "CSSRegistrationID",
    )
    assert "renamed" in change.description and "DIN-864" in change.description
    old = copy.deepcopy(ds_app)
    old["CustomBlock"]["B013"] = {"CSSRegistrationRequestID": "a1b2c3"}
    old["CustomBlock"]["B071"].pop("traditionalFallBackReadFrequency")
    assert cat.validate(old, version="IR8") == []
    # B013 is open in the spec, so the old name is tolerated; the new one is what it requires
    assert ("/CustomBlock/B013/CSSRegistrationID", "required") in [
        (v.pointer, v.keyword) for v in cat.validate(old, version="2.1.0")
    ]


def test_an_event_code_removed(make_message: Any, cat: Catalogue) -> None:
    removed = kinds(cat.diff("IR8", "IR8.2"), "IF-003")["event-removed"]
    assert sorted((c.event_code, c.before, c.after, c.source) for c in removed) == [
        ("DSDeAppUpdateRM", "[DSDeAppUpdateRM]", None, "published"),
        ("MSDeAppUpdateRM", "[MSDeAppUpdateRM]", None, "published"),
    ]
    assert all("DIN-988" in c.description for c in removed)
    update = make_message("IF-003", "MSDeAppUpdateRM", {})
    assert [(v.pointer, v.keyword) for v in cat.validate(update, version="IR8")] == [("/CustomBlock/B010", "required")]
    (found,) = cat.validate(update, version="IR8.2")
    assert (found.pointer, found.keyword) == ("/CommonBlock/S0/eventCode", "enum")


def test_where_the_catalogue_was_looser_than_the_spec_it_now_follows_it(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    role_code = copy.deepcopy(ds_app)  # an invented optional field that took a 2-character code
    role_code["CustomBlock"]["B071"]["proposedDataServiceRoleCode"] = "X1"
    for version in cat.versions:
        found = [(v.pointer, v.keyword) for v in cat.validate(role_code, version=version)]
        assert ("/CustomBlock/B071/proposedDataServiceRoleCode", "additionalProperties") in found

    def custom_blocks(event: str) -> set[str]:
        return set(cat.schema("IF-035", event, version="2.1.0")["properties"]["CustomBlock"]["properties"])

    assert "B019" in custom_blocks("DSAppAccepted")  # the assigned MDR comes with an acceptance only
    assert "B019" not in custom_blocks("DSAppRejected") | custom_blocks("DSAppLapsed")


def test_s0_elements_became_required_everywhere(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    required = kinds(cat.diff("IR8", "IR8.2"), "IF-021")["field-required"]
    assert sorted(c.path for c in required) == [
        "/CommonBlock/S0/eventCode",
        "/CommonBlock/S0/interfaceID",
        "/CommonBlock/S0/schemaVersion",
    ]
    assert all(c.event_code is None and "DIN-1068" in c.description for c in required)
    del ds_app["CommonBlock"]["S0"]["schemaVersion"]
    assert [v.pointer for v in cat.validate(ds_app, version="2.1.0")] == ["/CommonBlock/S0/schemaVersion"]


def test_a_format_added_and_an_interface_added(cat: Catalogue, ds_app: dict[str, Any]) -> None:
    changes = cat.diff("IR8.2", "2.1.0")
    sur = kinds(changes, "IF-031")["constraint-changed"]
    assert [(c.path, c.before) for c in sur] == [("/CommonBlock/S1/senderUniqueReference", {"pattern": None})]
    (added,) = kinds(changes, "IF-051")["interface-added"]
    assert (added.event_code, added.after, added.source) == (None, "EES Refresh", "published")
    ds_app["CommonBlock"]["S1"]["senderUniqueReference"] = "my-own-reference-42"
    assert cat.validate(ds_app, version="IR8.2") == []
    assert [v.keyword for v in cat.validate(ds_app, version="2.1.0")] == ["pattern"]


def test_diff_runs_either_way_and_is_empty_for_one_version(cat: Catalogue) -> None:
    assert cat.diff("2.1.0", "2.1.0") == []
    forward = cat.diff("IR8", "2.1.0")
    backward = cat.diff("2.1.0", "IR8")
    assert len(forward) == len(backward)
    (removed,) = kinds(backward, "IF-051")["interface-removed"]
    assert removed.before == "EES Refresh"
    back = next(c for c in backward if c.kind == "field-renamed" and c.interface_id == "IF-031")
    assert (back.before, back.after) == ("CSSRegistrationID", "CSSRegistrationRequestID")
    assert {c.kind for c in forward} == {
        "interface-added",
        "event-removed",
        "field-added",
        "field-renamed",
        "field-required",
        "constraint-changed",
    }
    assert not any("maxLength" in str(c.after) for c in forward)  # no role code widened: the spec allows 1
