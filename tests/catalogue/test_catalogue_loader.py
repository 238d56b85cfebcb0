"""Malformed catalogue files are reported with file, line and column, all problems at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mhhs_sit.catalogue.loader import load_directory
from mhhs_sit.errors import DefinitionError, Problem

Edit = Callable[[str, Callable[[str], str]], Path]


def problems(directory: Path) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load_directory(directory)
    return list(caught.value.problems)


def line_of(directory: Path, name: str, text: str) -> int:
    lines = (directory / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_the_shipped_catalogue_loads_from_its_directory(data_copy: Edit, tmp_path: Path) -> None:
    directory = data_copy("roles.yaml", lambda t: t + "\n# an edit that changes nothing\n")
    assert len(load_directory(directory).interfaces) == 58


def test_a_yaml_syntax_error_gives_file_and_line(data_copy: Edit) -> None:
    directory = data_copy("IF-031.yaml", lambda t: t.replace("required: [B071]", "required: [B071", 1))
    (problem,) = problems(directory)
    assert problem.file.endswith("IF-031.yaml")
    assert problem.line == line_of(directory, "IF-031.yaml", "required: [B071") + 1  # where the parser gives up
    assert "YAML syntax" in problem.message
    assert f"IF-031.yaml:{problem.line}:" in problem.render()


def test_a_schema_with_a_wrong_type_name_is_located(data_copy: Edit) -> None:
    directory = data_copy(
        "blocks.yaml",
        lambda t: t.replace(
            "    replayIndicator: {type: boolean}",
            "    replayIndicator: {type: [boolean, 'nul']}",
        ),
    )
    (problem,) = problems(directory)
    assert (problem.file.endswith("blocks.yaml"), problem.line) == (
        True,
        line_of(directory, "blocks.yaml", "'nul'"),
    )
    assert problem.path == "D0.properties.replayIndicator.type[1]"
    assert problem.message.startswith("blocks/D0: 'nul' is not one of string, integer")


def test_a_misspelt_schema_keyword_is_not_silently_ignored(data_copy: Edit) -> None:
    directory = data_copy(
        "types.yaml",
        lambda t: t.replace("minLength: 10, maxLength: 10", "minLength: 10, maxLenght: 10", 1),
    )
    (problem,) = problems(directory)
    assert problem.line == line_of(directory, "types.yaml", "maxLenght")
    assert problem.message == "types/DIPParticipantID: unknown schema keyword 'maxLenght'; did you mean maxLength?"


def test_a_reference_to_nothing_is_located_with_a_suggestion(data_copy: Edit) -> None:
    directory = data_copy(
        "blocks.yaml",
        lambda t: t.replace("{$ref: '#/types/SubText', nullable: true}", "{$ref: '#/types/Subtext', nullable: true}"),
    )
    (problem,) = problems(directory)
    assert problem.line == line_of(directory, "blocks.yaml", "Subtext")
    assert problem.message == "$ref '#/types/Subtext' names no schema; did you mean #/types/SubText?"


def test_unknown_roles_and_keys_in_the_interface_table(data_copy: Edit) -> None:
    directory = data_copy(
        "interfaces.yaml",
        lambda t: t.replace(
            "    senders: [SUP]\n    recipients: [REGS]\n    routing: [mpan]\n\n  IF-032:",
            "    senders: [SUP]\n    recipients: [REG]\n    routing: [mpan]\n    detial: full\n\n  IF-032:",
            1,
        ),
    )
    found = {p.message: p for p in problems(directory)}
    role = found["unknown role code 'REG'; did you mean REGS? (roles.yaml lists the known ones)"]
    assert (role.path, role.line) == (
        "interfaces.IF-031.recipients[0]",
        line_of(directory, "interfaces.yaml", "[REG]"),
    )
    assert "unknown key 'detial'; did you mean detail?" in found


def test_a_recorded_change_that_does_not_fit_is_located_in_versions_yaml(data_copy: Edit) -> None:
    directory = data_copy(
        "versions.yaml",
        lambda t: t.replace("after: [interfaceID, schemaVersion, eventCode]", "after: [interfaceID, eventCode]"),
    )
    (problem,) = problems(directory)
    assert problem.file.endswith("versions.yaml")
    assert problem.path == "versions[1].changes[2]"
    assert "blocks/S0" in problem.message and "required" in problem.message


def test_a_version_name_must_be_quoted_text(data_copy: Edit) -> None:
    directory = data_copy("versions.yaml", lambda t: t.replace("  - name: 1.8.2", "  - name: 1.8"))
    messages = [p.message for p in problems(directory)]
    assert "the version name must be a non-empty string, not float (quote it, e.g. '1.8')" in messages


def test_a_custom_block_for_every_event_code(data_copy: Edit) -> None:
    directory = data_copy("IF-021.yaml", lambda t: t.replace("ReactivePower: *id001\n", ""))
    (problem,) = problems(directory)
    assert problem.file.endswith("IF-021.yaml")
    assert problem.message == "IF-021.yaml has no custom block for event code ReactivePower"


def test_a_missing_file_is_named(data_copy: Edit) -> None:
    directory = data_copy("roles.yaml", lambda t: t + "\n")
    (directory / "roles.yaml").unlink()
    (problem,) = problems(directory)
    assert problem.file.endswith("roles.yaml") and problem.message == "file is missing"


def test_a_custom_block_for_an_event_code_without_one_is_refused(data_copy: Edit) -> None:
    directory = data_copy("IF-038.yaml", lambda t: t + "DirectContractMSRemove: {type: object}\n")
    (problem,) = problems(directory)
    assert problem.file.endswith("IF-038.yaml") and problem.path == "DirectContractMSRemove"
    assert problem.message == "DirectContractMSRemove is not an event code of IF-038 with a custom block in any version"


def test_messages_yaml_is_checked_with_file_and_line(data_copy: Edit) -> None:
    directory = data_copy(
        "messages.yaml",
        lambda t: t.replace("      common: [S1, M0, R1]\n", "      common: [S1, M0, R9]\n      custom_blok: none\n", 1),
    )
    found = {p.message: p for p in problems(directory)}
    block = found["'R9' is not a common block in blocks.yaml (S0 is implied)"]
    assert block.file.endswith("messages.yaml") and block.line == line_of(directory, "messages.yaml", "R9")
    assert any(m.startswith("unknown key 'custom_blok'") for m in found)
