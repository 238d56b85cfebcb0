"""``mhhs-sit data generate`` / ``data check``, driven through argparse as the real CLI is."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

import pytest

from mhhs_sit.cli.data import register
from mhhs_sit.data import is_valid_mpan_core
from mhhs_sit.data.addresses import address_book
from mhhs_sit.data.filecheck import check_string
from mhhs_sit.data.generate import iter_record_chunks
from mhhs_sit.data.points import CSV_COLUMNS, Parties, row_dict
from mhhs_sit.data.render import RowMaker
from mhhs_sit.data.sequence import make_stream
from mhhs_sit.errors import ConfigError


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mhhs-sit")
    register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def generate(tmp_path: Path, name: str, *extra: str, count: int = 2000) -> Path:
    out = tmp_path / name
    fmt = "json" if name.endswith(".jsonl") else "csv"
    assert run("data", "generate", "--cohort", "C3", "--count", str(count), "--format", fmt,
               "--out", str(out), *extra) == 0  # fmt: skip
    return out


def test_generate_writes_valid_unique_rows_and_check_accepts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = generate(tmp_path, "c3.csv", "--supplier", "SUPA", "--agent", "MSS=MSSA")
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 2000 and list(rows[0]) == list(CSV_COLUMNS)
    assert len({r["mpan"] for r in rows}) == 2000
    assert all(is_valid_mpan_core(r["mpan"]) and r["mpan"][2:6] == "0300" for r in rows)
    assert {r["distributor_id"] for r in rows} == {f"{n}" for n in range(10, 24)}
    err = capsys.readouterr().err
    assert "wrote 2,000 metering points for cohort C3 (data slot 3, seed 0" in err
    assert run("data", "check", str(out)) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 2,000 rows, all valid"


def test_the_same_options_give_the_same_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path, "a.csv", "--seed", "5", "--distributor", "12")
    again = generate(tmp_path, "b.csv", "--distributor", "12", "--seed", "5")
    other = generate(tmp_path, "c.csv", "--seed", "6", "--distributor", "12")
    assert first.read_bytes() == again.read_bytes()
    mpans = {line.split(",")[0] for line in first.read_text().splitlines()[1:]}
    assert not mpans & {line.split(",")[0] for line in other.read_text().splitlines()[1:]}


def test_csv_json_and_rows_are_one_record_three_ways(tmp_path: Path) -> None:
    extra = ("--supplier", "SUPA", "--agent", "SDS=SDSA", "--agent", "ADS=ADSA",
             "--distributor", "12", "--distributor", "24", "--seed", "3")  # fmt: skip
    csv_file = generate(tmp_path, "x.csv", *extra, count=3000)
    json_file = generate(tmp_path, "x.jsonl", *extra, count=3000)
    maker = RowMaker(address_book(3), Parties("SUPA", {"SDS": "SDSA", "ADS": "ADSA"}))
    rows = [r for c in iter_record_chunks(make_stream(3, ["12", "24"], 3), 3000, maker) for r in c]
    assert [tuple(r) for r in list(csv.reader(csv_file.read_text().splitlines()))[1:]] == rows
    assert [json.loads(line) for line in json_file.read_text().splitlines()] == [row_dict(r) for r in rows]
    assert run("data", "check", str(json_file)) == 0


def test_workers_write_disjoint_files_that_make_up_the_whole(tmp_path: Path) -> None:
    whole = generate(tmp_path, "all.csv", count=900).read_text().splitlines()[1:]
    parts = [
        generate(tmp_path, f"w{w}.csv", "--worker", str(w), "--workers", "3", count=300).read_text().splitlines()[1:]
        for w in range(3)
    ]
    for w, part in enumerate(parts):
        assert part == whole[w::3]


def test_generate_to_stdout_as_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("data", "generate", "--cohort", "MVC", "--count", "3", "--format", "json") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(json.loads(line)["mpan"][2:4] == "00" for line in lines)


def test_unregistered_mpans_are_other_mpans(tmp_path: Path) -> None:
    registered = generate(tmp_path, "r.csv", count=500).read_text()
    fresh = generate(tmp_path, "u.csv", "--unregistered", count=500).read_text()
    first = {line.split(",")[0] for line in registered.splitlines()[1:]}
    assert not first & {line.split(",")[0] for line in fresh.splitlines()[1:]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cohort", "north", "--count", "5"], "needs an explicit data slot in 50-99"),
        (["--cohort", "C3", "--cohort-index", "4", "--count", "5"], "owns data slot 3"),
        (["--cohort", "C3", "--count", "5", "--seed", "100"], "0 to 99"),
        (["--cohort", "C3", "--count", "700000", "--distributor", "12"], "holds 654,400"),
        (["--cohort", "C3", "--count", "5", "--agent", "MSS"], "ROLE=MPID"),
        (["--cohort", "C3", "--count", "5", "--agent", "DCC=ABCD"], "agent role 'DCC'"),
        (["--cohort", "C3", "--count", "5", "--supplier", "abcd"], "4 capital letters"),
    ],
)
def test_generate_refuses_unusable_options(tmp_path: Path, argv: list[str], message: str) -> None:
    out = tmp_path / "never.csv"
    with pytest.raises(ConfigError, match=message):
        run("data", "generate", *argv, "--out", str(out))
    assert not out.exists()


def test_help_texts(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["data", "--help"], ["data", "generate", "--help"], ["data", "check", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            run(*argv)
        assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "JSON Lines" in text and "line number" in text and "ROLE=MPID" in text


def edit(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines))


def test_check_reports_each_bad_row_by_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = generate(tmp_path, "bad.csv", "--distributor", "12", count=20)
    lines = out.read_text().splitlines(keepends=True)
    mpan5 = lines[4].split(",")[0]
    typo = mpan5[:7] + str((int(mpan5[7]) + 1) % 10) + mpan5[8:]
    edit(out, 5, mpan5, typo)  # a single mistyped digit
    edit(out, 7, lines[6].split(",")[14], "XX 1")  # postcode
    edit(out, 9, ",smart,", ",hybrid,")
    with out.open("a") as fh:
        fh.write(lines[2])  # a duplicate of line 3, appended as line 22
        fh.write("1203000000000,12\n")  # too few fields: line 23
    assert run("data", "check", str(out)) == 1
    report = capsys.readouterr().out.splitlines()
    assert report[0].startswith(f"{out}:5 [mpan]: MPAN core '{typo}' ends in check digit")
    assert any(r.startswith(f"{out}:7 [postcode]: postcode 'XX 1'") for r in report)
    assert any(r.startswith(f"{out}:9 [segment]: segment 'hybrid' is not one of") for r in report)
    assert f"{out}:22 [mpan]: MPAN {lines[2].split(',')[0]} on line 22 duplicates line 3" in report
    assert f"{out}:23: 2 fields where the header has 22" in report
    assert report[-1] == f"{out}: 21 rows, 5 problems on 5 lines"


def test_check_json_lines_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = generate(tmp_path, "bad.jsonl", "--distributor", "12", count=5)
    lines = out.read_text().splitlines()
    obj = json.loads(lines[1])
    obj["address"]["lines"] = []
    obj["colour"] = "red"
    obj["domestic"] = "yes"
    lines[1] = json.dumps(obj)
    lines[3] = "{not json"
    out.write_text("\n".join(lines) + "\n\n")
    assert run("data", "check", str(out)) == 1
    report = capsys.readouterr().out
    assert f"{out}:2 [address.lines]: address lines must be a list of 1-2 strings" in report
    assert f"{out}:2 [colour]: unknown key 'colour'" in report
    assert f"{out}:2 [domestic]: domestic 'yes' is not one of true, false" in report
    assert f"{out}:4: not valid JSON" in report


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("mpan\n2000056535971\n", []),  # a hand-written file with only the MPAN column
        ("mpan,colour\n2000056535971,red\n", ["1 [colour]: unknown column 'colour'"]),
        ("name\nx\n", ["1: the header has no 'mpan' column", "1 [name]: unknown column 'name'"]),
        ("", ["1: the file is empty; expected a header line"]),
        ("mpan,town,town,x,x\n2000056535971,Leeds,Leeds,1,2\n",
         ["1 [town]: column 'town' appears 2 times", "1 [x]: column 'x' appears 2 times",
          "1 [x]: unknown column 'x'"]),
        ("mpan,segment,connection_type\n2000056535971,smart,L\n",
         ["2 [connection_type]: a smart metering point cannot have connection type L"]),
        ("mpan,distributor_id,gsp_group\n2000056535971,20,_A\n", []),  # SOUT acts as an iDNO
        ("mpan,distributor_id,gsp_group\n1900012374324,19,_A\n",
         ["2 [gsp_group]: distributor 19 (SEEB) does not serve _A"]),
        ("mpan,full_mpan\n2000056535971,018012341900012374324\n",
         ["2 [full_mpan]: full_mpan's mpan '1900012374324' differs from '2000056535971'"]),
    ],
)  # fmt: skip
def test_check_hand_written_files(content: str, expected: list[str]) -> None:
    report = check_string(content, "f.csv")
    assert sorted(p.render().removeprefix("f.csv:") for p in report.problems) == sorted(expected)


def test_check_reads_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"mpan": "2000056535971"}\n'))
    assert run("data", "check", "-") == 0
    assert capsys.readouterr().out.strip() == "<stdin>: 1 row, all valid"


def test_check_names_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read data file"):
        run("data", "check", str(tmp_path / "missing.csv"))
