"""The RTTM as one self-contained HTML page in the completion report's look: summary tiles,
coverage by stage and theme, then the matrix with uncovered and failing requirements standing
out. No scripts, no external assets: it opens from disk and inside an evidence pack."""

from __future__ import annotations

import html
from pathlib import Path

from mhhs_sit import __version__
from mhhs_sit.evidence.completion import REPORT_CSS
from mhhs_sit.rttm.model import Row, Rttm
from mhhs_sit.rttm.render_tabular import history_text, summary

_CSS = """
.rttm td { white-space: normal; }
.rttm tr.row-uncovered td.req, .rttm tr.row-failing td.req { border-left: 4px solid var(--bad); }
.rttm tr.row-uncovered td, .rttm tr.row-failing td { background: #fff8f7; }
.covered { background: var(--ok-bg); color: var(--ok); font-weight: 600; }
.failing, .uncovered { background: var(--bad-bg); color: var(--bad); font-weight: 700; }
.not-executed { background: var(--warn-bg); color: var(--warn); font-weight: 600; }
.collection-error, .error { background: #f3e8ff; color: #6f42c1; font-weight: 600; }
.chip { display: inline-block; padding: 1px 6px; border-radius: 10px; font-size: 12px; white-space: nowrap; }
.hist { color: var(--muted); font-size: 12px; }
.none { color: var(--muted); }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _tone(status: str) -> str:
    return status.replace(" ", "-")


def _link(target: str | None) -> str:
    if not target:
        return '<span class="none">—</span>'
    href = target if "://" in target else Path(target).as_uri() if Path(target).is_absolute() else target
    return f'<a href="{_e(href)}">{_e(target)}</a>'


def _row_html(row: Row, rttm: Rttm) -> str:
    req = row.requirement
    roles = ", ".join(req.roles) or "all"
    cells = [
        f'<td class="req mono">{_e(req.id)}</td>',
        f'<td>{_e(req.title)}<br><span class="hist">{_e(req.source)} · {_e(req.stage or "any stage")} · '
        f"P{_e(req.priority or '–')} · {_e(roles)}</span></td>",
    ]
    if row.case is None:
        cells.append(f'<td colspan="{len(rttm.cohorts) + 3}" class="none">no case traces to this requirement</td>')
    else:
        cells.append(
            f'<td><span class="mono">{_e(row.case)}</span><br><span class="hist">{_e(row.case_title)}</span></td>'
        )
        for cohort in rttm.cohorts:
            cell = row.cells.get(cohort)
            if cell is None:
                cells.append('<td class="none">—</td>')
            else:
                status = cell.latest.status
                title = f' title="{_e(cell.latest.message)}"' if cell.latest.message else ""
                cells.append(f'<td><span class="chip {_tone(status)}"{title}>{_e(status)}</span></td>')
        cells.append(f'<td class="hist">{_e(history_text(row, rttm.cohorts))}</td>')
        cells.append(
            f'<td class="mono">{_e((row.latest_run or "")[:16].replace("T", " "))}<br>{_link(row.evidence)}</td>'
        )
    cells.append(f'<td><span class="chip {_tone(row.verdict)}">{_e(row.verdict)}</span></td>')
    return f'<tr class="row-{_tone(row.verdict)}">' + "".join(cells) + "</tr>"


def _coverage_table(rttm: Rttm, key: str) -> str:
    body = []
    for name, covered, total in rttm.coverage(key):
        ratio = covered / total if total else 0
        tone = "covered" if ratio == 1 else "failing" if ratio < 0.5 else "not-executed"
        body.append(
            f'<tr><td>{_e(name)}</td><td class="num">{covered}</td><td class="num">{total}</td>'
            f'<td class="num {tone}">{ratio:.1%}</td></tr>'
        )
    head = f'<tr><th>{_e(key.capitalize())}</th><th class="num">Covered</th><th class="num">Requirements</th>'
    head += '<th class="num">Coverage</th></tr>'
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def render_html(rttm: Rttm) -> str:
    facts = summary(rttm)
    scope = f"cycle {rttm.cycle}" if rttm.cycle else "every run in the store"
    who = f" — qualification of {rttm.participant}" if rttm.participant else ""
    if rttm.roles and not rttm.participant:
        who = f" — roles {', '.join(rttm.roles)}"
    coverage = f"{facts['coverage']:.1%}" if facts["coverage"] is not None else "n/a"
    by = facts["by_verdict"]
    tiles = [
        (facts["requirements"], "Requirements", ""),
        (facts["covered"], "Covered", "passed" if facts["covered"] else ""),
        (coverage, "Coverage", "ok" if facts["coverage"] == 1 else "bad"),
        (by["failing"], "Failing", "failed" if by["failing"] else ""),
        (by["uncovered"], "Uncovered", "bad" if by["uncovered"] else ""),
        (by["not executed"] + by["collection error"], "Not executed", "broken" if by["not executed"] else ""),
    ]
    tile_html = "".join(
        f'<div class="tile {tone}"><span class="n">{_e(n)}</span><span class="l">{_e(label)}</span></div>'
        for n, label, tone in tiles
    )
    head = ["Requirement", "Title", "Case", *rttm.cohorts, "History", "Latest run / evidence", "Verdict"]
    matrix = "\n".join(_row_html(row, rttm) for row in rttm.rows)
    runs = "".join(
        f'<tr><td class="num">{n}</td><td class="mono">{_e(r.run_id)}</td><td class="mono">'
        f'{_e(r.started[:19].replace("T", " "))}</td><td class="{"failed" if r.state == "interrupted" else ""}">'
        f"{_e(r.state)}</td><td>{_e(r.sprint or '')}</td><td>{_e(r.environment or '')}</td>"
        f'<td class="num">{r.results}</td><td>{_link(r.evidence)}</td></tr>'
        for n, r in enumerate(rttm.runs, start=1)
    )
    unknown = ""
    if rttm.unknown_requirements:
        items = "".join(f'<li><span class="mono">{_e(r)}</span> in {_e(c)}</li>' for r, c in rttm.unknown_requirements)
        unknown = f'<p class="warning">Referenced by cases but not in the requirements catalogue:</p><ul>{items}</ul>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RTTM — {_e(scope)}{_e(who)}</title>
<style>{REPORT_CSS}{_CSS}</style>
</head>
<body>
<header>
<h1>Requirements-to-Test Traceability Matrix</h1>
<p class="muted">{_e(scope)}{_e(who)} · cohorts {_e(", ".join(rttm.cohorts) or "—")} · {len(rttm.runs)} runs</p>
</header>
<div class="tiles">{tile_html}</div>
{unknown}
<nav><a href="#coverage">Coverage</a> <a href="#matrix">Matrix</a> <a href="#runs">Runs</a></nav>
<section id="coverage"><h2>Coverage</h2>
<p>A requirement is covered when at least one case tracing to it was executed and passed in every cohort where it
was executed, taking for each case and cohort the latest run that reached it.</p>
<h3>By stage</h3>{_coverage_table(rttm, "stage")}
<h3>By theme</h3>{_coverage_table(rttm, "theme")}
</section>
<section id="matrix"><h2>Matrix</h2>
<table class="rttm"><thead><tr>{"".join(f"<th>{_e(h)}</th>" for h in head)}</tr></thead>
<tbody>
{matrix}
</tbody></table>
</section>
<section id="runs"><h2>Runs</h2>
<table><thead><tr><th class="num">#</th><th>Run</th><th>Started (UTC)</th><th>State</th><th>Sprint</th>
<th>Environment</th><th class="num">Results</th><th>Evidence</th></tr></thead><tbody>{runs}</tbody></table>
</section>
<footer>Generated {_e(rttm.generated)} by mhhs-sit {_e(__version__)}.</footer>
</body>
</html>
"""
