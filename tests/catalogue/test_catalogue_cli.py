"""``mhhs-sit catalogue list | show | diff | lint`` as a tester runs them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mhhs_sit.catalogue import load_catalogue
from mhhs_sit.cli.catalogue import register


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mhhs-sit")
    register(parser.add_subparsers())
    args = parser.parse_args(["catalogue", *argv])
    return args.func(args)


def test_list_shows_every_interface_with_its_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list") == 0
    out = capsys.readouterr().out
    assert out.startswith("Catalogue versions: 1.8.0 (IR8), 1.8.2 (IR8.2), 2.1.0 [default]\n")
    header = next(line for line in out.splitlines() if line.startswith("ID "))
    assert header.split() == ["ID", "NAME", "SENDERS", "RECIPIENTS", "EVENTS", "DETAIL", "VERSIONS"]
    row = next(line for line in out.splitlines() if line.startswith("IF-031 "))
    assert row.split()[-5:] == ["2", "full", "1.8.0", "1.8.2", "2.1.0"]
    assert row.index("SUP") == header.index("SENDERS")  # aligned columns
    assert next(line for line in out.splitlines() if line.startswith("IF-051*")).endswith("  2.1.0")
    cat = load_catalogue()
    full = [i for i in cat.interfaces if i.detail == "full"]
    assert full == list(cat.interfaces)  # every interface and report of the spec, custom blocks included
    assert f"{len(cat.interfaces)} interfaces, {len(full)} with their custom blocks modelled in full" in out


def test_show_gives_roles_routing_event_codes_per_version_and_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("show", "if-3", "--version", "IR8") == 0
    out = capsys.readouterr().out
    assert out.startswith("IF-003  Notification of Migration and De-Appointment (Migration)\n")
    assert "  routing         always mpan\n" in out
    assert (
        "  1.8.0 (IR8)     [MSDeAppRM] [DSDeAppRM] [ReverseMigNotification] [DSDeAppUpdateRM] [MSDeAppUpdateRM]" in out
    )
    assert "  2.1.0           [MSDeAppRM] [DSDeAppRM] [ReverseMigNotification]\n" in out
    assert "CustomBlock of [MSDeAppUpdateRM]:\n  B013 " in out  # the withdrawn event's block, from versions.yaml
    assert "(not modelled" not in out


def test_show_one_event_lists_its_custom_block(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("show", "IF-031", "--event", "[DSApp]") == 0
    out = capsys.readouterr().out
    assert "CustomBlock of [DSApp]:" in out and "CustomBlock of [MSApp]:" not in out
    line = next(line for line in out.splitlines() if "proposedDataServiceDIPID" in line)
    assert line.rstrip().endswith("a DIP participant id of exactly 10 characters, like 2300000001")
    assert any(line.strip().startswith("B071*") for line in out.splitlines())
    assert "proposedDataServiceRoleCode" not in out  # not a field of the spec's B071


def test_show_an_event_without_a_custom_block_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("show", "IF-016") == 0
    out = capsys.readouterr().out
    rejected = out.split("CustomBlock of [ConsumptionRequestRejected]:\n", 1)[1]
    assert rejected.startswith("  (none: messages of this event code carry no CustomBlock)")
    assert "Common blocks of [ActivePowerRejected] (* = required):" in out  # its R0 besides R1


def test_diff_names_the_interfaces_and_fields_that_changed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("diff", "IR8", "2.1.0") == 0
    out = capsys.readouterr().out
    assert out.startswith("Changes from 1.8.0 (IR8) to 2.1.0: ")
    lines = out.splitlines()
    renamed = next(line for line in lines if line.startswith("field-renamed"))
    assert renamed.split()[1:5] == ["IF-001,", "IF-002,", "IF-003", "and"]
    assert "CustomBlock.B013.CSSRegistrationRequestID is renamed CSSRegistrationID" in renamed
    assert any(line.startswith("event-removed") and "[MSDeAppUpdateRM]" in line for line in lines)
    assert any(line.startswith("interface-added") and "IF-051 EES Refresh is added" in line for line in lines)
    assert not any("maxLength" in line for line in lines)  # the role code stays one character


def test_diff_of_one_interface(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("diff", "2.1.0", "IR8.2", "--interface", "IF-021") == 0
    out = capsys.readouterr().out
    assert "1 changes in 1 interfaces" in out
    assert "senderUniqueReference: pattern '^S-" in out and "-> (none)" in out


def test_an_unknown_version_exits_2_listing_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("diff", "IR8", "IR9") == 2
    err = capsys.readouterr().err
    assert err == "error: unknown catalogue version 'IR9'; known versions: 1.8.0 (IR8), 1.8.2 (IR8.2), 2.1.0\n"


def test_an_unknown_interface_exits_2_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("show", "IF-310") == 2
    assert "did you mean" in capsys.readouterr().err


def test_lint_lists_each_contradiction_and_exits_1(spec_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("lint", "--dip-spec", str(spec_dir)) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("DIP spec 2.1.0 (")
    header = next(line for line in lines if line.startswith("WHERE"))
    assert header.split() == ["WHERE", "EXAMPLE", "INTERFACE", "PATH", "REASON"]
    ssc = [line for line in lines if "/CustomBlock/B032/SSC" in line and line.split()[1] == "IF-002"]
    assert ssc and ssc[0].startswith("Examples-unresolved.yaml:215")
    assert any(
        "IF-021" in line and "/CommonBlock/S1/senderRoleID" in line and "lacks the required field" in line
        for line in lines
    )
    assert lines[-1] == "9 of 11 examples contradict their schemas (37 violations)."


def test_lint_of_a_missing_spec_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("lint", "--dip-spec", str(tmp_path / "nowhere")) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_compare_lists_the_differences_with_the_official_spec(
    capsys: pytest.CaptureFixture[str], spec_dir: Path
) -> None:
    assert run("compare", "--dip-spec", str(spec_dir)) == 0
    out = capsys.readouterr().out
    assert "  listed  IF-050 [GreenDeal] /CommonBlock type: catalogue 'object', official None" in out
    assert out.rstrip().endswith("0 not.")


def test_generate_writes_the_catalogue_files_from_a_spec(
    capsys: pytest.CaptureFixture[str], spec_dir: Path, tmp_path: Path
) -> None:
    from mhhs_sit.catalogue.data import DATA_DIR

    assert run("generate", "--dip-spec", str(spec_dir), "--out", str(tmp_path)) == 0
    written = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert "IF-031.yaml" in written and "messages.yaml" in written and "interfaces.yaml" not in written
    for name in written:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name
    assert f"{len(written)} files written to {tmp_path}" in capsys.readouterr().out


def test_generate_from_something_that_is_not_a_spec_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run("generate", "--dip-spec", str(tmp_path), "--out", str(tmp_path)) == 2
    assert "Interfaces-EventCodes-unresolved.yaml cannot be read" in capsys.readouterr().out
