"""The RTTM as one self-contained HTML page in the completion report's look: summary tiles,
coverage by stage and theme, then the matrix, one block per requirement, with uncovered and
failing requirements standing out. No scripts and no external assets, so it opens from disk and
inside an evidence pack; the verdict filter above the matrix is plain CSS (radio buttons)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from mhhs_sit import __version__
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.evidence.completion_render import REPORT_CSS
from mhhs_sit.evidence.outcomes import pct
from mhhs_sit.results.outcome import UNSUCCESSFUL
from mhhs_sit.results.run import parse_utc
from mhhs_sit.rttm.model import UNLOADED, VERDICTS, Cell, Outcome, Row, Rttm, RunSummary
from mhhs_sit.rttm.render_tabular import (
    Headline,
    PerCase,
    denominator_line,
    headline,
    link_target,
    reliance_text,
)

VERDICT_NOTES = {
    "failing": "a covering case was executed and did not pass in every cohort where it ran",
    UNLOADED: "a covering case's scenario file is wrong and could not be loaded (a definition error), so it never ran",
    "not executed": "covering cases exist but none was executed in this cycle (skipped or not run)",
    "uncovered": "no case traces to the requirement",
    "covered by reliance": "no case here evidences it: an earlier run or evidence pack does, verified by its hash",
    "covered": "a covering case was executed and passed in every cohort where it ran",
}

_CSS = """
.rttm td { white-space: normal; }
.rttm td.req { min-width: 190px; }
.rttm tbody { border-top: 2px solid #8c959f; }
.rttm tbody.req-failing td.req, .rttm tbody.req-uncovered td.req { border-left: 5px solid var(--bad); }
.rttm tbody.req-not-executed td.req, .rttm tbody.req-definition-error-file td.req { border-left: 5px solid #d4a72c; }
.rttm tbody.req-covered td.req { border-left: 5px solid var(--ok); }
.rttm tr.row-failing td, .rttm tr.row-uncovered td { background: #fff5f4; }
.rttm tr.row-uncovered td.req { background: var(--bad-bg); }
.covered-by-reliance { background: #ddebf7; color: #1f4e78; font-weight: 600; }
.rttm tbody.req-covered-by-reliance td.req { border-left: 5px solid #1f4e78; }
.covered { background: var(--ok-bg); color: var(--ok); font-weight: 600; }
.failing, .uncovered { background: var(--bad-bg); color: var(--bad); font-weight: 700; }
.not-executed, .definition-error-file { background: var(--warn-bg); color: var(--warn); font-weight: 600; }
.definition-error { background: #f3e8ff; color: #6f42c1; font-weight: 600; }  /* the test file is wrong */
.chip { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; white-space: nowrap; }
.small { color: var(--muted); font-size: 12px; display: block; }
td.history { color: var(--muted); font-size: 12px; white-space: nowrap; }
td.history b { font-weight: 600; background: none; }
.none { color: var(--muted); }
.num .bar { display: block; height: 5px; background: var(--skip-bg); margin-top: 3px; border-radius: 3px; }
.num .bar i { display: block; height: 5px; background: var(--ok); border-radius: 3px; }
.scroll { overflow-x: auto; }
.filters { margin: 8px 0; }
.filters input { position: absolute; opacity: 0; }
.filters label { display: inline-block; margin: 0 6px 6px 0; padding: 2px 10px; border: 1px solid var(--line);
  border-radius: 12px; cursor: pointer; font-size: 13px; }
.filters input:checked + label { border-color: #1f2328; box-shadow: 0 0 0 1px #1f2328; }
.filters input:focus-visible + label { outline: 2px solid #0969da; }
dl.verdicts dt { display: inline-block; min-width: 130px; } dl.verdicts dd { display: inline; margin: 0; }
dl.verdicts div { margin: 3px 0; }
@media print { .filters label, .filters input { display: none; } .scroll { overflow: visible; } }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _tone(word: str) -> str:
    """A word as a CSS class and id: "definition error (file)" -> "definition-error-file"."""
    return "-".join("".join(c if c.isalnum() else " " for c in word).split())


def _chip(word: str, title: str = "") -> str:
    tip = f' title="{_e(title)}"' if title else ""
    return f'<span class="chip {_tone(word)}"{tip}>{_e(word)}</span>'


@lru_cache(maxsize=4096)  # outcomes recorded together share their time: made once each
def _stamp(text: str | None, seconds: bool = False) -> str:
    """An ISO time as ``2026-11-09 15:40`` UTC; anything unparseable as given."""
    when = parse_utc(text)
    if when is None:
        return text or ""
    # isoformat, not strftime: a cycle's matrix formats one time per outcome, and strftime is slow
    return when.replace(tzinfo=None).isoformat(" ", "seconds" if seconds else "minutes")


def _plural(n: int, noun: str, nouns: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {nouns or noun + 's'}"


def _stage(stage: str) -> str:
    return STAGES.get(stage, stage) if stage else "any stage"


def _short(target: str) -> str:
    """Enough of a long path or URL to recognise it; the whole of it is in the link's tooltip."""
    if "://" in target:
        parts = urlsplit(target)
        tail = [p for p in parts.path.split("/") if p][-2:]
        return parts.netloc + ("/…/" + "/".join(tail) if tail else "")
    tail = [p for p in target.replace("\\", "/").split("/") if p][-2:]
    return ("…/" if len(tail) == 2 else "") + "/".join(tail)


def _link(target: str | None, base: str | None) -> str:
    if not target:
        return ""
    href = link_target(target, base)
    if href is None:
        return f'<span class="mono" title="{_e(target)}">{_e(_short(target))}</span>'
    return f'<a href="{_e(href)}" title="{_e(target)}">{_e(_short(target))}</a>'


def _outcome_note(o: Outcome) -> str:
    parts = [f"run {o.run_id}" if o.run_id else "not run in this cycle"]
    if o.finished:
        parts.append(f"{_stamp(o.finished)} UTC")
    if o.sprint:
        parts.append(f"sprint {o.sprint}")
    if o.category:
        parts.append(o.category)
    if o.message:
        parts.append(o.message.strip().splitlines()[0][:300])
    return " · ".join(parts)


def _status_cell(cell: Cell | None) -> str:
    if cell is None:
        return '<td class="none" title="not collected in this cohort">—</td>'
    o = cell.latest
    extra = f'<span class="small">{_e(o.category)}</span>' if o.category and o.status in UNSUCCESSFUL else ""
    if cell.stale:
        note = "stale: no longer collected in this cohort (the case was removed or is no longer eligible)"
        chip = _chip(o.status, _outcome_note(o))
        return f'<td class="stale" title="{_e(note)}">{chip}<span class="small">stale</span></td>'
    return f"<td>{_chip(o.status, _outcome_note(o))}{extra}</td>"


def _history(row: Row, cohorts: Sequence[str]) -> str:
    """One line per cohort where the case ran more than once; a single outcome is its status cell."""
    lines = []
    for cohort in cohorts:
        cell = row.cells.get(cohort)
        if cell is None or len(cell.history) < 2:
            continue
        steps = " → ".join(
            f'<b class="{_tone(o.status)}" title="{_e(_outcome_note(o))}">{_e(o.status)}</b>' for o in cell.history
        )
        lines.append(f"{_e(cohort)}: {steps}")
    return "<br>".join(lines)


def _requirement_cell(row: Row, verdict: str, span: int) -> str:
    req = row.requirement
    meta = " · ".join(
        (
            req.source,
            _stage(req.stage),
            f"P{req.priority}" if req.priority is not None else "no priority",
            ", ".join(req.roles) or "all roles",
        )
    )
    rowspan = f' rowspan="{span}"' if span > 1 else ""
    return (
        f'<td class="req"{rowspan}><span class="mono"><b>{_e(req.id)}</b></span> {_chip(verdict)}<br>'
        f'{_e(req.title)}<span class="small">{_e(meta)}</span></td>'
    )


def _case_cells(row: Row, rttm: Rttm) -> str:
    """The case's cohort statuses and history: the same in each row of a case."""
    cells = [_status_cell(row.cells.get(cohort)) for cohort in rttm.cohorts]
    cells.append(f'<td class="history">{_history(row, rttm.cohorts)}</td>')
    return "".join(cells)


def _row_html(row: Row, rttm: Rttm, first: str, case_cells: PerCase[str]) -> str:
    cells = [first]
    if row.case is None:
        what = reliance_text(row) or "no case traces to this requirement"
        cells.append(f'<td colspan="{len(rttm.cohorts) + 3}" class="none">{_e(what)}</td>')
    else:
        where = " · ".join(x for x in (row.scenario, f"theme {row.theme}" if row.theme else "") if x)
        cells.append(
            f'<td><span class="mono">{_e(row.case)}</span><span class="small">{_e(row.case_title)}</span>'
            + (f'<span class="small">{_e(where)}</span>' if where else "")
            + (f'<span class="small">{_e(reliance_text(row))}</span>' if row.reliance else "")
            + (f'<span class="small">file not loaded: {_e(row.unloaded)}</span>' if row.unloaded else "")
            + "</td>"
        )
        cells.append(case_cells(row))
        link = _link(row.evidence, rttm.links_from)
        cells.append(f'<td><span class="mono">{_e(_stamp(row.latest_run))}</span><br>{link}</td>')
    cells.append(f"<td>{_chip(row.verdict)}</td>")
    if rttm.qualification:
        cells.append(f'<td class="mono">{_e(row.qualification_stage)}</td>')
    return f'<tr class="row-{_tone(row.verdict)}">' + "".join(cells) + "</tr>"


def _matrix(rttm: Rttm) -> str:
    """One ``tbody`` per requirement, so the filter shows or hides a requirement with all its cases."""
    groups: list[list[Row]] = []
    for row in rttm.rows:
        if groups and groups[-1][0].requirement.id == row.requirement.id:
            groups[-1].append(row)
        else:
            groups.append([row])
    case_cells = PerCase(lambda row: _case_cells(row, rttm))
    bodies = []
    for rows in groups:
        req_id = rows[0].requirement.id
        verdict = rttm.requirement_verdicts.get(req_id, rows[0].verdict)
        first = _requirement_cell(rows[0], verdict, len(rows))
        trs = [_row_html(row, rttm, first if i == 0 else "", case_cells) for i, row in enumerate(rows)]
        bodies.append(f'<tbody class="req-{_tone(verdict)}">\n' + "\n".join(trs) + "\n</tbody>")
    head = ["Requirement", "Case", *rttm.cohorts, "History", "Latest run (UTC) / evidence", "Case verdict"]
    head += ["Qualification stage"] if rttm.qualification else []
    thead = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table class="rttm">\n<thead><tr>{thead}</tr></thead>\n' + "\n".join(bodies) + "\n</table>"


def _filters(rttm: Rttm, by_verdict: dict[str, int]) -> tuple[str, str]:
    """Radio buttons and the CSS that hides every other requirement: a filter without a script."""
    options = [("all", f"All {len(rttm.requirement_verdicts)}")]
    options += [(_tone(v), f"{v} {by_verdict[v]}") for v in VERDICTS if by_verdict.get(v)]
    inputs = []
    for key, label in options:
        checked, tone = (" checked", "") if key == "all" else ("", f' class="{key}"')
        inputs.append(f'<input type="radio" name="verdict" id="show-{key}"{checked}>')
        inputs.append(f'<label for="show-{key}"{tone}>{_e(label)}</label>')
    css = "".join(
        f"#show-{key}:checked ~ .scroll tbody:not(.req-{key}) {{ display: none; }}\n"
        for key, _ in options
        if key != "all"
    )
    return "".join(inputs), css


def _coverage_table(rttm: Rttm, key: str) -> str:
    body = []
    for name, covered, total in rttm.coverage(key):
        ratio = covered / total if total else 0.0
        tone = "covered" if ratio == 1 else "failing" if ratio < 0.5 else "not-executed"
        label = _stage(name) if key == "stage" and name in STAGES else name
        body.append(
            f'<tr><td>{_e(label)}</td><td class="num">{covered}</td><td class="num">{total}</td>'
            f'<td class="num {tone}">{_e(pct(ratio))}<span class="bar"><i style="width:{ratio * 100:.1f}%">'
            "</i></span></td></tr>"
        )
    if not body:
        return '<p class="muted">No requirements.</p>'
    head = f'<tr><th>{_e(key.capitalize())}</th><th class="num">Covered</th><th class="num">Requirements</th>'
    head += '<th class="num">Coverage</th></tr>'
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _runs(runs: Sequence[RunSummary], base: str | None) -> str:
    if not runs:
        return '<p class="muted">No runs.</p>'
    rows = "".join(
        f'<tr><td class="num">{n}</td><td class="mono">{_e(r.run_id)}</td>'
        f'<td class="mono">{_e(_stamp(r.started, seconds=True))}</td>'
        f'<td class="mono">{_e(_stamp(r.finished, seconds=True))}</td>'
        f'<td class="{"failed" if r.state == "interrupted" else ""}">{_e(r.state)}</td>'
        f"<td>{_e(r.sprint or '')}</td><td>{_e(r.environment or '')}</td><td>{_e(r.ir or '')}</td>"
        f'<td class="num">{r.results}</td><td>{_link(r.evidence, base)}</td></tr>'
        for n, r in enumerate(runs, start=1)
    )
    head = (
        '<tr><th class="num">#</th><th>Run</th><th>Started (UTC)</th><th>Finished (UTC)</th><th>State</th>'
        '<th>Sprint</th><th>Environment</th><th>IR</th><th class="num">Results</th><th>Evidence</th></tr>'
    )
    return f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>"


def _unknown(rttm: Rttm) -> str:
    rows = "".join(
        f'<tr><td class="mono">{_e(rid)}</td><td class="mono">{_e(case)}</td></tr>'
        for rid, case in rttm.unknown_requirements
    )
    return (
        '<section id="unknown"><h2>Unknown requirements</h2>'
        "<p>Referenced by cases but not in the requirements catalogue, so they are not in the matrix: add them "
        "to the catalogue (test_data/requirements/) or correct the cases.</p>"
        f"<table><thead><tr><th>Requirement ID</th><th>Referenced by case</th></tr></thead><tbody>{rows}</tbody>"
        "</table></section>"
    )


def _heading(rttm: Rttm) -> str:
    scope = rttm.scope
    who = f"qualification of {rttm.participant}" if rttm.participant else ""
    if rttm.participant and rttm.qualification_stage:
        who += f" ({rttm.qualification_stage})"
    if rttm.roles:
        who += (" · " if who else "") + f"roles {', '.join(rttm.roles)}"
    return " — ".join(x for x in (scope, who) if x)


def _running_head(rttm: Rttm) -> str:
    """A qualification RTTM names its participant at the top of every printed page (the completion
    report's running head: fixed, so print repeats it on each page)."""
    if not rttm.participant:
        return ""
    stage = f" ({rttm.qualification_stage})" if rttm.qualification_stage else ""
    roles = f" as {', '.join(rttm.roles)}" if rttm.roles else ""
    return f'<div class="running-head">{_e(f"Qualification of {rttm.participant}{roles}{stage}")}</div>'


def _tiles(h: Headline) -> str:
    by = h.by_verdict
    not_run = by["not executed"] + by[UNLOADED]
    tiles = [
        (h.requirements, "Requirements", "in scope", ""),
        (h.covered, "Covered", f"of {h.requirements}; {h.relied_on} by reliance", "passed" if h.covered else ""),
        (pct(h.coverage), "Coverage", "", "ok" if h.coverage == 1 else "bad"),
        (by["failing"], "Failing", "", "failed" if by["failing"] else ""),
        (by["uncovered"], "Uncovered", "no case traces to them", "bad" if by["uncovered"] else ""),
        (
            not_run,
            "Not executed",
            _plural(by[UNLOADED], "definition error (file)", "definition errors (file)"),
            "broken" if not_run else "",
        ),
    ]
    return "\n".join(
        f'<div class="tile {tone}"><span class="n">{_e(n)}</span><span class="l">{_e(label)}</span>'
        f'<span class="note">{_e(note)}</span></div>'
        for n, label, note, tone in tiles
    )


def _unknown_note(rttm: Rttm) -> str:
    if not rttm.unknown_requirements:
        return ""
    return (
        f'<p class="warning">{_plural(len(rttm.unknown_requirements), "reference")} to requirements the '
        'catalogue does not have: see <a href="#unknown">Unknown requirements</a>.</p>'
    )


def render_html(rttm: Rttm) -> str:
    """The whole page; every value from the model is escaped."""
    h = headline(rttm)
    heading = _heading(rttm)
    tile_html = _tiles(h)
    inputs, filter_css = _filters(rttm, h.by_verdict)
    legend = "".join(f"<div><dt>{_chip(v)}</dt> <dd>{_e(VERDICT_NOTES[v])}</dd></div>" for v in h.by_verdict)
    unknown_note = _unknown_note(rttm)
    runs = _plural(len(rttm.runs), "run")
    subtitle = f"Cohorts {', '.join(rttm.cohorts) or 'none'} · {runs} · generated {_stamp(rttm.generated)} UTC"
    nav = ["<a href='#coverage'>Coverage</a>", "<a href='#matrix'>Matrix</a>", "<a href='#runs'>Runs</a>"]
    if rttm.unknown_requirements:
        nav.append("<a href='#unknown'>Unknown requirements</a>")
    nav += [f'<a href="{_e(href)}">{_e(label)}</a>' for label, href in rttm.related]  # relative: survive a move
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RTTM — {_e(heading)}</title>
<style>{REPORT_CSS}{_CSS}{filter_css}</style>
</head>
<body>
{_running_head(rttm)}
<header>
<h1>Requirements-to-Test Traceability Matrix — {_e(heading)}</h1>
<p class="muted">{_e(subtitle)}</p>
</header>
<div class="tiles">
{tile_html}
</div>
<p class="muted">{_e(denominator_line(rttm))}</p>
{unknown_note}
<nav>{" ".join(nav)}</nav>
<section id="coverage"><h2>Coverage</h2>
<p>A requirement is covered when at least one case tracing to it was executed and passed in every cohort where it
was executed, taking for each case and cohort the latest run that reached it.</p>
<dl class="verdicts">{legend}</dl>
<h3>By stage</h3>
{_coverage_table(rttm, "stage")}
<h3>By theme</h3>
{_coverage_table(rttm, "theme")}
</section>
<section id="matrix"><h2>Matrix</h2>
<p class="muted">One block per requirement with every case tracing to it. A status is the latest outcome of the
case in that cohort (hover for its run, time and message); — means the case is not collected there. History
lists every outcome where a case ran more than once in the cycle.</p>
<div class="filters">{inputs}
<div class="scroll">
{_matrix(rttm)}
</div>
</div>
</section>
<section id="runs"><h2>Runs</h2>
{_runs(rttm.runs, rttm.links_from)}
</section>
{_unknown(rttm) if rttm.unknown_requirements else ""}
<footer>Generated {_e(_stamp(rttm.generated, seconds=True))} UTC by mhhs-sit {_e(__version__)}.</footer>
</body>
</html>
"""
