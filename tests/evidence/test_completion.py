"""The completion report: counting, combining runs, exit criteria, and both renderings."""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from mhhs_sit.cli.completion import register
from mhhs_sit.core.yamlsrc import parse_yaml
from mhhs_sit.errors import ConfigError, DefinitionError
from mhhs_sit.evidence.completion import build_report
from mhhs_sit.evidence.completion_render import md_escape, render_html, render_markdown
from mhhs_sit.evidence.criteria import BUILTIN, CriteriaSet, load_criteria
from mhhs_sit.evidence.outcomes import combine, coverage, load_cycle, load_run, tally, tally_by

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "project"


# ---------------------------------------------------------------------------------------------
# Synthetic results.json


def case(
    cid: str,
    cohort: str = "C1",
    status: str = "passed",
    *,
    stage: str = "sit-functional",
    theme: str = "1",
    priority: int = 2,
    tags: tuple[str, ...] = (),
    requirements: tuple[str, ...] = (),
    category: str | None = None,
    message: str = "",
    title: str | None = None,
    failing_step: int | None = None,
) -> dict[str, Any]:
    steps = [
        {"n": n, "title": f"step {n} of {cid}", "kind": "send", "status": "passed", "ms": 1.0,
         "location": f"test_themes/x.yaml:{10 + n}", "detail": ""}
        for n in (1, 2, 3)
    ]  # fmt: skip
    if failing_step:
        steps[failing_step - 1].update(status=status, detail=message)
        for s in steps[failing_step:]:
            s["status"] = "skipped"
    record: dict[str, Any] = {
        "nodeid": f"test_themes/x.yaml::{cid}[{cohort}]",
        "status": status,
        "case": cid,
        "cohort": cohort,
        "title": title if title is not None else f"title of {cid}",
        "priority": priority,
        "tags": list(tags),
        "scenario": cid.rsplit("-", 1)[0],
        "scenario_title": "a scenario",
        "stage": stage,
        "theme": theme,
        "requirements": list(requirements),
        "steps": steps if status not in ("skipped", "not run") else [],
    }
    if status in ("failed", "broken", "definition error"):
        record["category"] = category or ("product defect" if status == "failed" else "environment issue")
        record["message"] = message or f"{cid} went wrong"
    elif message:
        record["message"] = message
    return record


def write_run(
    directory: Path, name: str, cases: list[dict[str, Any]], *, finished: str = "2026-03-02T10:00:00+00:00", **meta: Any
) -> Path:
    doc = {
        "run_id": meta.pop("run_id", f"r-{name}"),
        "framework_version": "0.1.0",
        "started": finished.replace("10:00", "09:00"),
        "finished": finished,
        "environment": "sit-a",
        "environment_tag": "SIT",
        "ir": "IR8.2",
        "spec_version": "1.8.2",
        "cohorts": ["C1", "C2"],
        "git_commit": "0123456789abcdef",
        **meta,
        "cases": cases,
    }
    path = directory / name / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def criteria_file(directory: Path, text: str) -> Path:
    path = directory / "criteria.yaml"
    path.write_text(text)
    return path


DEFAULTS = load_criteria(None)


def report_for(paths: list[Path], criteria: CriteriaSet = DEFAULTS) -> Any:
    return build_report(load_cycle(paths), criteria, generated="2026-03-02T12:00:00+00:00")


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["completion-report", *argv])
    return int(args.func(args))


MIXED = [
    case("SITFT-01-001-TC01", "C1", "passed", theme="1", priority=1, requirements=("IF-031",)),
    case("SITFT-01-001-TC01", "C2", "failed", theme="1", priority=1, requirements=("IF-031",), failing_step=2,
         message="no IF-032 reached SUP within 5s"),
    case("SITFT-01-001-TC02", "C1", "broken", theme="1", category="environment issue", failing_step=1,
         message="DIP answered HTTP 503"),
    case("SITFT-03-001-TC01", "C1", "passed", theme="3", requirements=("IF-033",)),
    case("SITFT-03-001-TC01", "C2", "skipped", theme="3", requirements=("IF-033",), message="no eligible cohort"),
    case("SITMT-05-001-TC01", "C2", "passed", stage="sit-migration", theme="5", requirements=("MIG-1",)),
    case("SITMT-05-001-TC02", "C2", "not run", stage="sit-migration", theme="5", requirements=("MIG-2",)),
    case("SITMT-05-001-TC03", "C1", "failed", stage="sit-migration", theme="5", category="test data issue",
         message="pool exhausted"),
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Counting


def test_totals_by_stage_theme_and_cohort(tmp_path):
    cycle = load_cycle([write_run(tmp_path, "a", MIXED)])
    by_stage = dict(tally_by(cycle.results, lambda r: r.stage))
    assert list(by_stage) == ["sit-functional", "sit-migration"]  # programme order, not alphabetical
    f, m = by_stage["sit-functional"], by_stage["sit-migration"]
    assert (f.total, f.passed, f.failed, f.broken, f.skipped, f.not_run) == (5, 2, 1, 1, 1, 0)
    assert (m.total, m.passed, m.failed, m.broken, m.skipped, m.not_run) == (3, 1, 1, 0, 0, 1)
    by_theme = {k: t.total for k, t in tally_by(cycle.results, lambda r: r.theme)}
    assert by_theme == {"1": 3, "3": 2, "5": 3}
    by_cohort = {k: (t.total, t.passed) for k, t in tally_by(cycle.results, lambda r: r.cohort)}
    assert by_cohort == {"C1": (4, 2), "C2": (4, 1)}

    md = render_markdown(report_for([tmp_path / "a" / "results.json"]))
    assert "| SIT Functional | 5 | 2 | ❌ 1 | ⚠️ 1 | ⏭️ 1 | 0 | ❌ 50% |" in md
    assert "| SIT Migration | 3 | 1 | ❌ 1 | 0 | 0 | ⏸️ 1 | ❌ 50% |" in md
    assert "| **Total** | 8 | 3 | ❌ 2 | ⚠️ 1 | ⏭️ 1 | ⏸️ 1 | ❌ 50% |" in md


def test_pass_rate_is_passed_over_executed_and_excludes_skipped_and_not_run(tmp_path):
    cycle = load_cycle([write_run(tmp_path, "a", MIXED)])
    t = tally(cycle.results)
    assert (t.passed, t.executed, t.skipped, t.not_run) == (3, 6, 1, 1)
    assert t.pass_rate == pytest.approx(3 / 6)
    assert tally([r for r in cycle.results if r.status in ("skipped", "not run")]).pass_rate is None
    report = report_for([tmp_path / "a" / "results.json"])
    for text in (render_markdown(report), render_html(report)):
        assert "Pass rate = passed ÷ executed, where executed = passed + failed + broken + definition error" in text
    ec3 = next(o for o in report.outcomes if o.criterion.id == "EC3")
    assert not ec3.met and ec3.measured == "50% (3 of 6 executed; min 95%)"
    assert {(b.ref, b.cohort) for b in ec3.breaches} == {
        ("SITFT-01-001-TC01", "C2"),
        ("SITFT-01-001-TC02", "C1"),
        ("SITMT-05-001-TC03", "C1"),
    }


def test_failures_are_grouped_by_category_with_message_and_failing_step(tmp_path):
    report = report_for([write_run(tmp_path, "a", MIXED)])
    md = render_markdown(report)
    summary = md.split("## Failures by category", 1)[1].split("###", 1)[0]
    assert "| product defect | 1 | 0 | ❌ 1 | 1 |" in summary
    assert "| environment issue | 0 | 1 | ❌ 1 | 1 |" in summary
    assert "| test data issue | 1 | 0 | ❌ 1 | 1 |" in summary
    headings = re.findall(r"^### (.+)$", md.split("## Failures by category", 1)[1].split("\n## ", 1)[0], re.M)
    assert headings == ["Product defect (1)", "Environment issue (1)", "Test data issue (1)"]
    defect = md.split("### Product defect (1)", 1)[1].split("###", 1)[0]
    assert "SITFT-01-001-TC01 | C2 | ❌ failed | P1 |" in defect
    assert "no IF-032 reached SUP within 5s" in defect
    assert "step 2 send: step 2 of SITFT-01-001-TC01 (test\\_themes/x.yaml:12)" in defect
    html_text = render_html(report)
    assert "<h3>Environment issue (1)</h3>" in html_text and "DIP answered HTTP 503" in html_text
    assert "before the first step" in render_markdown(report)  # the data issue has no failing step recorded


def test_a_definition_error_is_its_own_status_and_no_product_defect(tmp_path):
    wrong = case("SITFT-01-001-TC03", "C1", "definition error", category="test definition error",
                 message="no such step kind: sned")  # fmt: skip
    old = case("SITFT-01-001-TC04", "C1", "broken", category="test definition error", message="bad template")
    report = report_for([write_run(tmp_path, "a", [case("SITFT-01-001-TC01"), wrong, old])])
    t = tally(report.cycle.results)
    assert (t.passed, t.failed, t.broken, t.definition_error, t.executed) == (1, 0, 0, 2, 3)  # the older row too
    ec2 = next(o for o in report.outcomes if o.criterion.id == "EC2")
    assert ec2.met and ec2.measured == "0 found (max 0)"  # no open product defects
    md = render_markdown(report)
    totals = md.split("## Totals", 1)[1].split("\n## ", 1)[0]
    assert "| Definition error |" in totals and "| 3 | 1 | 0 | 0 | 📝 2 |" in totals
    summary = md.split("## Failures by category", 1)[1].split("###", 1)[0]
    assert "| test definition error | 0 | 0 | 2 | ❌ 2 | 2 |" in summary
    assert "SITFT-01-001-TC03 | C1 | 📝 definition error |" in md


def unloaded(file: str, status: str = "definition error") -> dict[str, Any]:
    """A scenario file that could not be loaded, as results.json records it (an older run said "error")."""
    return {"nodeid": file, "case": file, "cohort": "", "status": status, "category": "test definition error",
            "message": f"{file}:3:8 [stage]: 'sit-funtional' is not allowed here", "location": file}  # fmt: skip


def test_a_file_that_could_not_be_loaded_is_a_definition_error_and_no_product_defect(tmp_path):
    for status in ("definition error", "error"):  # this version's results.json, and an older one's
        run = write_run(tmp_path, status, [case("SITFT-01-001-TC01"), unloaded("test_themes/bad.yaml", status)])
        report = report_for([run])
        t = tally(report.cycle.results)
        assert (t.passed, t.definition_error, t.not_run, t.total) == (1, 1, 0, 2)
        ec2 = next(o for o in report.outcomes if o.criterion.id == "EC2")
        assert ec2.met and ec2.measured == "0 found (max 0)"  # never a product defect
        md = render_markdown(report)
        failures = md.split("## Failures by category", 1)[1].split("\n## ", 1)[0]
        assert "| test definition error | 0 | 0 | 1 | ❌ 1 | 1 |" in failures
        assert ("| test\\_themes/bad.yaml | — | 📝 definition error |" in failures
                and "the scenario file could not be loaded: none of its cases ran" in failures)  # fmt: skip
        assert "| error |" not in md and "not collected" not in md


def test_a_file_that_could_not_be_loaded_is_superseded_once_a_later_run_loads_it(tmp_path):
    bad = write_run(tmp_path, "bad", [case("A-01-001-TC01"), unloaded("test_themes/x.yaml")],
                    finished="2026-03-01T10:00:00+00:00")  # fmt: skip
    fixed = write_run(tmp_path, "fixed", [case("B-01-001-TC01")], finished="2026-03-02T10:00:00+00:00")
    cycle = load_cycle([bad, fixed])  # case() files every case in test_themes/x.yaml: the later run loaded it
    assert sorted(r.case for r in cycle.results) == ["A-01-001-TC01", "B-01-001-TC01"] and cycle.superseded == 1
    other = write_run(tmp_path, "other", [case("B-01-001-TC01")], finished="2026-03-03T10:00:00+00:00")
    still = load_cycle([write_run(tmp_path, "bad2", [unloaded("test_themes/y.yaml")]), other])
    assert [r.case for r in still.results] == ["B-01-001-TC01", "test_themes/y.yaml"]  # y.yaml never loaded
    earlier_fix = write_run(tmp_path, "early", [case("B-01-001-TC01")], finished="2026-02-28T10:00:00+00:00")
    assert "test_themes/x.yaml" in {r.case for r in load_cycle([earlier_fix, bad]).results}  # broken again later


# ---------------------------------------------------------------------------------------------
# Combining runs


def test_the_latest_run_wins_per_case_and_cohort(tmp_path):
    first = write_run(
        tmp_path, "first", [case("A-01-001-TC01", status="failed"), case("A-01-001-TC02")],
        finished="2026-03-01T10:00:00+00:00",
    )  # fmt: skip
    rerun = write_run(tmp_path, "rerun", [case("A-01-001-TC01")], finished="2026-03-02T10:00:00+00:00")
    for order in ([first, rerun], [rerun, first]):  # by finish time, not by argument order
        cycle = load_cycle(order)
        status = {r.key: (r.status, r.run_id) for r in cycle.results}
        assert status == {
            ("A-01-001-TC01", "C1"): ("passed", "r-rerun"),
            ("A-01-001-TC02", "C1"): ("passed", "r-first"),  # not re-run: the earlier result stands
        }
        assert [r.run_id for r in cycle.runs] == ["r-first", "r-rerun"] and cycle.superseded == 1
    report = report_for([rerun, first])
    assert report.met
    md = render_markdown(report)
    assert "2 runs combined, oldest first. For each case and cohort the result of the latest run" in md
    assert "| r-first | sit-a | IR8.2 |" in md and "| r-rerun | sit-a | IR8.2 |" in md
    assert "**Runs** | r-first, r-rerun |" in md


def test_pass_then_fail_is_a_failure(tmp_path):
    a = write_run(tmp_path, "a", [case("A-01-001-TC01")], finished="2026-03-01T10:00:00+00:00")
    b = write_run(tmp_path, "b", [case("A-01-001-TC01", status="failed")], finished="2026-03-01T11:00:00+00:00")
    (result,) = load_cycle([a, b]).results
    assert result.status == "failed" and result.category == "product defect"


def test_runs_on_different_commits_are_flagged(tmp_path):
    a = write_run(tmp_path, "a", [case("A-01-001-TC01")], finished="2026-03-01T10:00:00+00:00")
    b = write_run(tmp_path, "b", [case("A-01-001-TC02")], git_commit="fedcba9876543210")
    text = render_html(report_for([a, b]))
    assert "different git commits: 0123456789abcdef, fedcba9876543210" in text


# ---------------------------------------------------------------------------------------------
# Exit criteria and the verdict


def test_a_not_run_case_breaches_ec4(tmp_path):
    path = write_run(tmp_path, "a", [case("A-01-001-TC01"), case("A-01-001-TC02", "C2", "not run")])
    report = report_for([path])
    ec4 = next(o for o in report.outcomes if o.criterion.id == "EC4")
    assert not ec4.met and ec4.measured == "1 found (max 0)"
    assert [b.text() for b in ec4.breaches] == ["A-01-001-TC02 [C2] not run"]
    assert next(o for o in report.outcomes if o.criterion.id == "EC3").met  # not run is not in the pass rate
    assert not report.met


def test_a_long_breach_list_is_capped_in_the_criteria_table_but_complete_below(tmp_path):
    cases = [case(f"A-01-001-TC{n:02}", status="not run") for n in range(1, 31)]
    report = report_for([write_run(tmp_path, "a", cases)])
    assert len(next(o for o in report.outcomes if o.criterion.id == "EC4").breaches) == 30
    md = render_markdown(report)
    criteria_table = md.split("## Exit criteria", 1)[1].split("## Totals", 1)[0]
    assert "A-01-001-TC25 \\[C1\\] not run" in criteria_table and "A-01-001-TC26" not in criteria_table
    assert "… and 5 more (listed in the sections below)" in criteria_table
    assert "| A-01-001-TC30 | C1 | ⏸️ not run |" in md.split("## Skipped and not run", 1)[1]


def test_verdict_met(tmp_path):
    path = write_run(tmp_path, "a", [case("A-01-001-TC01", priority=1, requirements=("R1",)), case("A-01-001-TC02")])
    report = report_for([path])
    assert report.met and report.verdict == "EXIT CRITERIA MET"
    assert [o.met for o in report.outcomes] == [True] * 5
    html_text = render_html(report)
    assert '<div class="verdict met" role="status">' in html_text and "EXIT CRITERIA MET" in html_text
    assert "> ## ✅ EXIT CRITERIA MET" in render_markdown(report)


def test_verdict_not_met_names_each_failing_criterion_and_the_breaching_cases(tmp_path):
    path = write_run(tmp_path, "a", MIXED)
    report = report_for([path])
    assert not report.met and report.verdict == "EXIT CRITERIA NOT MET"
    by_id = {o.criterion.id: o for o in report.outcomes}
    assert [i for i, o in by_id.items() if not o.met] == ["EC1", "EC2", "EC3", "EC4", "EC5"]
    assert [b.text() for b in by_id["EC1"].breaches] == [
        "SITFT-01-001-TC01 [C2] failed: product defect; no IF-032 reached SUP within 5s"
    ]
    assert [(b.ref, b.cohort) for b in by_id["EC2"].breaches] == [("SITFT-01-001-TC01", "C2")]
    assert [(b.ref, b.status) for b in by_id["EC5"].breaches] == [("IF-031", "failing"), ("MIG-2", "not executed")]
    assert report.summary() == "EXIT CRITERIA NOT MET: 5 of 5 criteria failed (EC1, EC2, EC3, EC4, EC5)"
    html_text = render_html(report)
    assert '<div class="verdict not-met" role="status">' in html_text
    assert '<td class="bad">FAIL</td>' in html_text
    assert "SITFT-01-001-TC01 [C2] failed: product defect; no IF-032 reached SUP within 5s" in html_text
    md = render_markdown(report)
    assert "> [!CAUTION]\n> ## ❌ EXIT CRITERIA NOT MET" in md
    assert "| EC4 | Every case was run | max\\_count<br>where status = not run | 1 found (max 0) | ❌ FAIL |" in md


def test_requirement_coverage_rule(tmp_path):
    cycle = load_cycle([
        write_run(tmp_path, "a", [
            # R1: TC01 passed in C1 and was only skipped in C2 -> covers
            case("A-01-001-TC01", "C1", requirements=("R1", "R2")),
            case("A-01-001-TC01", "C2", "skipped", requirements=("R1", "R2")),
            # R2: also referenced by a failing case; one covering case is enough
            case("A-01-001-TC02", "C1", "failed", requirements=("R2", "R3")),
            # R3: its only cases failed in one cohort (passing in another does not make it covered)
            case("A-01-001-TC03", "C1", requirements=("R3",)),
            case("A-01-001-TC03", "C2", "broken", requirements=("R3",)),
            # R4: never executed
            case("A-01-001-TC04", "C1", "not run", requirements=("R4",)),
        ])
    ])  # fmt: skip
    states = {c.requirement: c.state for c in coverage(cycle.results, required=["R5"])}
    assert states == {"R1": "covered", "R2": "covered", "R3": "failing", "R4": "not executed", "R5": "not referenced"}
    text = render_markdown(build_report(cycle, DEFAULTS))
    assert "A case covers a requirement when it was executed (passed, failed, broken or definition error)" in text
    assert "| R3 | ❌ failing | A-01-001-TC02: C1 failed<br>A-01-001-TC03: C1 passed, C2 broken |" in text


def test_criteria_scope_rules_and_options(tmp_path):
    path = criteria_file(
        tmp_path,
        """
title: SIT Functional exit
criteria:
  - id: F1
    title: Smoke cases of theme 1 passed
    rule: all_passed
    where: {stage: sit-functional, theme: 1, tags: [smoke]}
  - id: F2
    title: At most one environment issue in C1
    rule: max_count
    where: {category: [environment issue, test data issue], cohort: C1}
    max: 1
  - id: F3
    title: Half the requirements covered, R9 included
    rule: requirements_covered
    min: 0.5
    requirements: [R9]
  - id: F4
    title: Priority 1-2 pass rate at least 80%
    rule: min_pass_rate
    where: {priority: [1, 2], status: [passed, failed]}
    min: 0.8
""",
    )
    crit = load_criteria(path)
    assert crit.title == "SIT Functional exit" and crit.source == str(path)
    results = write_run(tmp_path, "a", [
        case("A-01-001-TC01", tags=("smoke",), requirements=("R1",)),
        case("A-01-001-TC02", status="failed", requirements=("R2",)),  # not smoke: outside F1
        case("A-03-001-TC01", theme="3", tags=("smoke",), status="failed"),  # theme 3: outside F1
        case("A-01-001-TC03", "C1", "broken", category="environment issue"),
        case("A-01-001-TC03", "C2", "broken", category="environment issue"),  # C2: outside F2
        case("A-01-001-TC04", priority=3, status="failed"),  # priority 3: outside F4
    ])  # fmt: skip
    out = {o.criterion.id: o for o in report_for([results], crit).outcomes}
    assert out["F1"].met and out["F1"].measured == "1 of 1 passed"
    assert out["F2"].met and out["F2"].measured == "1 found (max 1)"
    assert not out["F3"].met and out["F3"].measured == "1 of 3 covered (33.3%; min 50%)"
    assert [(b.ref, b.status) for b in out["F3"].breaches] == [("R2", "failing"), ("R9", "not referenced")]
    assert not out["F4"].met and out["F4"].measured == "33.3% (1 of 3 executed; min 80%)"


def test_edge_cases_of_empty_scopes(tmp_path):
    path = criteria_file(
        tmp_path,
        """
criteria:
  - {id: A, title: no P1 cases, rule: all_passed, where: {priority: 1}}
  - {id: B, title: rate of nothing, rule: min_pass_rate, where: {stage: qualification}, min: 0.9}
""",
    )
    out = report_for([write_run(tmp_path, "a", [case("A-01-001-TC01")])], load_criteria(path)).outcomes
    assert out[0].met and out[0].measured == "no results in scope"
    assert not out[1].met and out[1].measured == "nothing executed in scope (min 90%)"  # an exit gate needs evidence


def test_the_shipped_criteria_file_is_the_built_in_default():
    shipped = load_criteria(REPO / "test_data" / "exit-criteria.yaml")
    assert shipped.criteria == DEFAULTS.criteria and shipped.title == DEFAULTS.title
    assert DEFAULTS.source == BUILTIN
    assert [c.rule for c in shipped.criteria] == [
        "all_passed", "max_count", "min_pass_rate", "max_count", "requirements_covered"
    ]  # fmt: skip


HEAD = "criteria:\n  - id: X\n    title: t\n"  # lines 1-3


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (HEAD + "    rule: all_pased\n", 4, "unknown rule 'all_pased' (did you mean 'all_passed'?)"),
        (HEAD + "    rule: max_count\n    maxx: 0\n", 5, "unknown key 'maxx' (did you mean 'max'?)"),
        (HEAD + "    rule: max_count\n", 2, "rule max_count needs 'max'"),
        (HEAD + "    rule: min_pass_rate\n    min: 95\n", 5, "(did you mean 0.95?)"),
        (HEAD + "    rule: all_passed\n    max: 0\n", 5, "'max' does not apply to rule all_passed"),
        (HEAD + "    rule: all_passed\n    where:\n      priorty: 1\n", 6,
         "unknown key 'priorty' (did you mean 'priority'?)"),
        (HEAD + "    rule: all_passed\n    where: {status: [passed, not-run]}\n", 5,
         "unknown status 'not-run' (did you mean 'not run'?)"),
        (HEAD + "    rule: all_passed\n    where: {category: defect}\n", 5,
         "unknown category 'defect' (did you mean 'product defect'?)"),
        (HEAD + "    rule: all_passed\n    where: {priority: 5}\n", 5, "priority must be 1 (highest) to 4"),
        ("criteria:\n  - {id: X, title: t, rule: all_passed}\n  - {id: X, title: u, rule: all_passed}\n", 3,
         "id X is already used by criteria[0]"),
        ("criterion:\n  - id: X\n", 1, "expected a mapping with a 'criteria' list"),
        ("criteria:\n  - id: X\n    rule: all_passed\n    rule: max_count\n", 4, "key 'rule' appears twice"),
        ("criteria: [\n", 2, "YAML syntax"),
    ],
)  # fmt: skip
def test_a_bad_criteria_file_is_reported_with_file_and_line(tmp_path, text, line, message):
    path = criteria_file(tmp_path, text)
    with pytest.raises(DefinitionError) as err:
        load_criteria(path)
    assert f"{path}:{line}" in str(err.value)
    assert message in str(err.value)


def test_every_problem_in_a_criteria_file_is_reported_at_once(tmp_path):
    text = "criteria:\n  - {id: A, title: t, rule: al_passed}\n  - {id: B, rule: max_count, max: -1}\n"
    doc = parse_yaml(text, "c.yaml")
    with pytest.raises(DefinitionError) as err:
        from mhhs_sit.evidence.criteria import criteria_from

        criteria_from(doc)
    text = str(err.value)
    assert "c.yaml:2" in text and "c.yaml:3" in text and "criterion has no 'title'" in text
    assert "max must be a whole number, 0 or more (got -1)" in text and text.endswith("3 problems in 1 file")


# ---------------------------------------------------------------------------------------------
# Input errors


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"run_id": "x"}', "not a results.json written by `mhhs-sit run`"),
        ('{"cases": [{"case": "A", "status": "exploded"}]}', "unknown status 'exploded'"),
    ],
)
def test_an_unusable_results_file_is_a_config_error(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_run(path)


def test_no_runs_is_a_config_error():
    with pytest.raises(ConfigError):
        load_cycle([])
    assert combine([]).results == ()


# ---------------------------------------------------------------------------------------------
# HTML


_VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class StrictHTML(HTMLParser):
    """Every element closed in order, and every reference that would leave the file collected."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.external: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and not (value or "").startswith("#"):
                self.external.append(f"{tag} {name}={value}")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'} at {self.getpos()}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(text)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, f"unclosed: {parser.stack}"
    return parser


def test_html_is_one_self_contained_well_formed_file_that_escapes_case_text(tmp_path):
    hostile = "<script>alert('x')</script> & <b>bold</b>"
    path = write_run(
        tmp_path,
        "a",
        [
            case("A-01-001-TC01", "C1", "failed", title=hostile, message="got <error/> from http://dip.example/x",
                 failing_step=3),
            case("A-01-001-TC02"),
        ],
    )  # fmt: skip
    text = render_html(report_for([path]))
    parsed = parse_html(text)
    assert not parsed.external, parsed.external
    assert not re.search(r"""(src|href)\s*=\s*["']?https?://""", text, re.I)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "b" not in parsed.tags
    assert "@import" not in text and "url(" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    assert any(hostile in chunk for chunk in parsed.text)  # shown as text, exactly
    assert {"style", "table", "header", "footer"} <= parsed.tags
    assert "@media print" in text
    assert text.startswith("<!DOCTYPE html>")
    for heading in ("Exit criteria", "Totals", "Failures by category", "Requirement coverage", "Runs combined"):
        assert f"<h2>{heading}</h2>" in text
    for label in ("Environment", "Interim release", "Runs", "Period", "Git commit"):
        assert f'<th scope="row">{label}</th>' in text
    assert "sit-a (SIT)" in text and "IR8.2" in text and "0123456789abcdef" in text


# ---------------------------------------------------------------------------------------------
# Markdown


def md_tables(text: str) -> list[list[str]]:
    tables: list[list[str]] = []
    lines = text.splitlines()
    current: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("|"):
            if not current:
                assert i == 0 or lines[i - 1] == "", f"a table must follow a blank line: {line!r}"
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def md_cells(row: str) -> list[str]:
    assert row.startswith("|") and row.endswith("|") and not row.endswith("\\|"), row
    return re.split(r"(?<!\\)\|", row)[1:-1]


def test_markdown_tables_are_well_formed_whatever_the_cell_text(tmp_path):
    awkward = "a | pipe, *stars*, _under_, `tick`, [link](x) and <script>x</script>\nsecond line"
    path = write_run(
        tmp_path,
        "a",
        [case("A-01-001-TC01", "C1", "failed", title=awkward, message=awkward, failing_step=1), *MIXED],
    )
    md = render_markdown(report_for([path]))
    tables = md_tables(md)
    assert len(tables) >= 10
    for table in tables:
        assert len(table) >= 3, table
        width = len(md_cells(table[0]))
        assert re.fullmatch(r"\|(?:(?:---|---:)\|)+", table[1]), table[1]
        assert len(md_cells(table[1])) == width
        for row in table[2:]:
            assert len(md_cells(row)) == width, row
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "a \\| pipe, \\*stars\\*, \\_under\\_, \\`tick\\`, \\[link\\](x)" in md
    assert "second line" in md and "\nsecond line" not in md  # a line break inside a cell is <br>


# ---------------------------------------------------------------------------------------------
# The command


def test_cli_writes_both_reports_and_exits_with_the_verdict(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no test_data/exit-criteria.yaml here: the built-in defaults apply
    good = write_run(tmp_path, "good", [case("A-01-001-TC01")])
    assert cli(str(good)) == 0
    out = capsys.readouterr().out
    assert out.startswith("EXIT CRITERIA MET: all 5 criteria passed")
    assert f"completion report: {good.parent / 'completion-report.html'}" in out
    assert BUILTIN in out
    assert (good.parent / "completion-report.md").is_file()

    bad = write_run(tmp_path, "bad", MIXED)
    assert cli(str(bad.parent), "--out", str(tmp_path / "out"), "--format", "md") == 1
    out = capsys.readouterr().out
    assert "EXIT CRITERIA NOT MET" in out and "  FAIL EC4 Every case was run: 1 found (max 0)" in out
    assert (tmp_path / "out" / "completion-report.md").is_file()
    assert not (tmp_path / "out" / "completion-report.html").exists()


def test_cli_exits_2_on_bad_input(tmp_path, capsys):
    good = write_run(tmp_path, "good", [case("A-01-001-TC01")])
    bad_criteria = criteria_file(tmp_path, "criteria:\n  - id: X\n    title: t\n    rule: all_pased\n")
    assert cli(str(good), "--criteria", str(bad_criteria)) == 2
    assert f"{bad_criteria}:4:11 [criteria[0].rule]: unknown rule" in capsys.readouterr().err
    assert cli(str(tmp_path / "missing.json")) == 2
    assert "no such results file" in capsys.readouterr().err
    assert cli(str(good), "--criteria", str(tmp_path / "nope.yaml")) == 2
    assert cli(str(good), "--format", "pdf") == 2
    assert "--format 'pdf'" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("[]")
    assert cli(str(tmp_path / "broken.json")) == 2
    assert not (good.parent / "completion-report.html").exists()


def test_cli_uses_the_given_criteria_and_combines_runs(tmp_path, capsys):
    first = write_run(tmp_path, "1", [case("A-01-001-TC01", status="failed")], finished="2026-03-01T10:00:00+00:00")
    second = write_run(tmp_path, "2", [case("A-01-001-TC01")], finished="2026-03-01T12:00:00+00:00")
    crit = criteria_file(tmp_path, "criteria:\n  - {id: Z, title: all passed, rule: all_passed}\n")
    assert cli(str(first), "--criteria", str(crit)) == 1
    assert cli(str(first), str(second), "--criteria", str(crit)) == 0
    assert "PASS Z all passed: 1 of 1 passed" in capsys.readouterr().out
    assert md_escape(f"({crit})") in (first.parent / "completion-report.md").read_text()
    assert html.escape(f"({crit})") in (first.parent / "completion-report.html").read_text()


# ---------------------------------------------------------------------------------------------
# A real cycle


@pytest.mark.slow
def test_the_example_cycle_meets_the_default_exit_criteria(tmp_path, capsys):
    project = tmp_path / "project"
    for name in ("test_themes", "cohorts", "environments"):
        shutil.copytree(FIXTURES / name, project / name)  # the tests' own scenarios, not the working tree's
    (project / "pytest.ini").write_text("[pytest]\naddopts = -p no:faker -p no:anyio -p no:hypothesispytest\n")
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "run", "--out", str(out), "--no-subdir"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (out / "results.json").is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    rc = cli(str(out / "results.json"), "--criteria", str(REPO / "test_data" / "exit-criteria.yaml"))
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert printed.startswith("EXIT CRITERIA MET")
    doc = json.loads((out / "results.json").read_text())
    report = report_for([out / "results.json"], load_criteria(REPO / "test_data" / "exit-criteria.yaml"))
    assert report.met and tally(report.cycle.results).passed == len(doc["cases"]) > 0
    html_text = (out / "completion-report.html").read_text()
    parse_html(html_text)
    assert doc["run_id"] in html_text and "EXIT CRITERIA MET" in html_text
    assert all(len(md_cells(r)) == len(md_cells(t[0])) for t in md_tables((out / "completion-report.md").read_text())
               for r in t)  # fmt: skip


def test_a_later_run_that_did_not_reach_a_case_keeps_the_earlier_outcome(tmp_path):
    from mhhs_sit.evidence.outcomes import combine, load_run

    def run(name, finished, status):
        doc = {"run_id": name, "started": finished, "finished": finished, "environment": "local", "cases": [
            {"nodeid": "t.yaml::A-1[C1]", "case": "A-1", "cohort": "C1", "title": "t", "priority": 1, "tags": [],
             "scenario": "A", "scenario_title": "a", "stage": "sit-functional", "theme": "1", "requirements": [],
             "status": status}]}  # fmt: skip
        path = tmp_path / f"{name}.json"
        path.write_text(__import__("json").dumps(doc))
        return load_run(path)

    cycle = combine(
        [run("r1", "2026-01-01T00:00:00+00:00", "passed"), run("r2", "2026-01-02T00:00:00+00:00", "not run")]
    )
    assert [r.status for r in cycle.results] == ["passed"]
    cycle = combine(
        [run("r1", "2026-01-01T00:00:00+00:00", "passed"), run("r3", "2026-01-03T00:00:00+00:00", "failed")]
    )
    assert [r.status for r in cycle.results] == ["failed"]
