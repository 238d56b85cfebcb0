"""The completion report as HTML (one self-contained page) and as Markdown."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from mhhs_sit import __version__
from mhhs_sit.evidence.completion import (
    Cell,
    CompletionReport,
    Section,
    Table,
    _stamp,
    identity,
    sections,
    tiles,
    warnings,
)

REPORT_CSS = """
:root { --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #b42318; --bad-bg: #fee4e2; --warn: #9a6700; --warn-bg: #fff4cc;
  --muted: #57606a; --line: #d0d7de; --head: #f6f8fa; --skip-bg: #eaeef2; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0 auto;
  max-width: 1200px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid
  var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0; } .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td { white-space: pre-wrap; overflow-wrap: break-word; }
td.num, th.num { text-align: right; white-space: nowrap; }
.mono { font-family: ui-monospace, SFMono-Regular, Consolas, monospace; font-size: 12.5px; white-space: nowrap; }
table.identity { width: auto; } table.identity th { width: 190px; }
.passed, .ok { background: var(--ok-bg); color: var(--ok); font-weight: 600; }
.failed, .bad { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.broken, .definition-error { background: var(--warn-bg); color: var(--warn); font-weight: 600; }
.skipped, .not-run { background: var(--skip-bg); color: var(--muted); font-weight: 600; }
.verdict { margin: 18px 0; padding: 16px 20px; border-radius: 6px; color: #fff; }
.verdict.met { background: var(--ok); } .verdict.not-met { background: var(--bad); }
.verdict .word { font-size: 26px; font-weight: 700; letter-spacing: .5px; }
.warning { background: var(--warn-bg); border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 120px; }
.tile .n { font-size: 24px; font-weight: 700; display: block; } .tile .l { font-weight: 600; display: block; }
.tile .note { color: var(--muted); font-size: 12px; display: block; }
.tile.passed, .tile.failed, .tile.broken, .tile.definition-error, .tile.skipped, .tile.not-run, .tile.ok, .tile.bad {
  border-color: currentColor; }
.total { font-weight: 700; } nav a { margin-right: 12px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.running-head { color: var(--muted); font-size: 12px; border-bottom: 1px solid var(--line); margin-bottom: 8px; }
@media print {
  .running-head { position: fixed; top: 0; left: 0; right: 0; background: #fff; }
  body { max-width: none; padding: 0; font-size: 11px; } nav { display: none; }
  h2 { break-after: avoid; } tr, .tile, .verdict { break-inside: avoid; } thead { display: table-header-group; }
}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(cell: Cell, tag: str = "td", numeric: bool = False) -> str:
    classes = " ".join(c for c in (cell.tone, "mono" if cell.mono else "", "num" if numeric else "") if c)
    cls = f' class="{classes}"' if classes else ""
    return f"<{tag}{cls}>{_e(cell.text)}</{tag}>"


def _html_table(table: Table) -> str:
    if not table.rows:
        return f'<p class="muted">{_e(table.empty)}</p>'
    head = "".join(_html_cell(Cell(h), "th", i in table.numeric) for i, h in enumerate(table.headers))
    body = "\n".join(
        "<tr>" + "".join(_html_cell(c, numeric=i in table.numeric) for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _html_section(s: Section) -> str:
    part = [f'<section id="{s.anchor}">', f"<h2>{_e(s.title)}</h2>"]
    part += [f"<p>{_e(p)}</p>" for p in s.paragraphs]
    for sub, table in s.tables:
        if sub:
            part.append(f"<h3>{_e(sub)}</h3>")
        part.append(_html_table(table))
    part.append("</section>")
    return "\n".join(part)


def render_html(report: CompletionReport) -> str:
    secs = sections(report)
    verdict_cls = "met" if report.met else "not-met"
    ident = "\n".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in identity(report))
    tile_html = "\n".join(
        f'<div class="tile {tone}"><span class="n">{_e(n)}</span><span class="l">{_e(label)}</span>'
        f'<span class="note">{_e(note)}</span></div>'
        for n, label, note, tone in tiles(report)
    )
    warn = "".join(f'<p class="warning">{_e(w)}</p>' for w in warnings(report))
    nav = " ".join(f'<a href="#{s.anchor}">{_e(s.title)}</a>' for s in secs)
    body = [_html_section(s) for s in secs]
    env = next((v for k, v in identity(report) if k == "Environment"), "")
    who = f" — {report.participant}" if report.participant else ""
    title = f"MHHS completion report{who} — {report.scope} — {env} — {report.verdict}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{REPORT_CSS}</style>
</head>
<body>
{_running_head(report)}
<header>
<h1>MHHS test completion report — {_e(report.scope)}</h1>
<p class="muted">{_e(report.criteria.title)}</p>
{_related_html(report.related)}
<table class="identity">
{ident}
</table>
{warn}
</header>
<div class="verdict {verdict_cls}" role="status">
<div class="word">{_e(report.verdict)}</div>
<div>{_e(report.summary().split(": ", 1)[1])}</div>
</div>
<div class="tiles">
{tile_html}
</div>
<nav>{nav}</nav>
{chr(10).join(body)}
<footer>{_e(_qualification_of(report))}Generated {_e(_stamp(report.generated))} by mhhs-sit {_e(__version__)}.</footer>
</body>
</html>
"""


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")
_MD_MARK = {
    "ok": "✅ ",
    "passed": "✅ ",
    "bad": "❌ ",
    "failed": "❌ ",
    "broken": "⚠️ ",
    "definition-error": "📝 ",
    "skipped": "⏭️ ",
    "not-run": "⏸️ ",
}
_MD_MAX = 600  # characters per line of a cell; the HTML report keeps everything


def md_escape(text: str) -> str:
    """Inline Markdown that renders as the literal text: no emphasis, links, HTML or table breaks."""
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_cell(cell: Cell) -> str:
    lines = cell.text.strip().splitlines()
    parts = [md_escape(line if len(line) <= _MD_MAX else line[: _MD_MAX - 1] + "…") for line in lines]
    out = "<br>".join(parts)
    if not out:
        return "—"
    return f"**{out}**" if cell.tone == "total" else _MD_MARK.get(cell.tone, "") + out


def _md_table(table: Table) -> str:
    if not table.rows:
        return f"_{md_escape(table.empty)}_"
    head = "| " + " | ".join(md_escape(h) for h in table.headers) + " |"
    rule = "|" + "|".join("---:" if i in table.numeric else "---" for i in range(len(table.headers))) + "|"
    rows = ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join([head, rule, *rows])


def _qualification_of(report: CompletionReport) -> str:
    if not report.participant:
        return ""
    stage = f" ({report.qualification_stage})" if report.qualification_stage else ""
    return f"Qualification of {report.participant}{stage}. "


def _running_head(report: CompletionReport) -> str:
    """A qualification report names its participant at the top of every printed page: a fixed
    element repeats on each page of print (and sits above the header on screen)."""
    if not report.participant:
        return ""
    return f'<div class="running-head">{_e(_qualification_of(report).strip())}</div>'


def _related_html(related: Sequence[tuple[str, str]]) -> str:
    """Links to the run folder's other reports, relative, so they hold once the folder is packed or moved."""
    if not related:
        return ""
    links = " · ".join(f'<a href="{_e(href)}">{_e(label)}</a>' for label, href in related)
    return f'<p class="related">See also: {links}</p>'


def render_markdown(report: CompletionReport) -> str:
    out = [
        *([f"_{md_escape(_qualification_of(report).strip())}_", ""] if report.participant else []),
        f"# MHHS test completion report — {md_escape(report.scope)}",
        "",
        f"_{md_escape(report.criteria.title)}_",
        "",
    ]
    if report.related:
        out += ["See also: " + " · ".join(f"[{md_escape(label)}]({href})" for label, href in report.related), ""]
    out += ["| | |", "|---|---|", *(f"| **{md_escape(k)}** | {md_escape(v)} |" for k, v in identity(report)), ""]
    out += [f"> [!WARNING]\n> {md_escape(w)}\n" for w in warnings(report)]
    alert, mark = ("TIP", "✅") if report.met else ("CAUTION", "❌")
    out += [f"> [!{alert}]", f"> ## {mark} {report.verdict}", f"> {md_escape(report.summary().split(': ', 1)[1])}", ""]
    t = tiles(report)
    out += ["| " + " | ".join(md_escape(label) for _, label, _, _ in t) + " |", "|" + "---:|" * len(t)]
    out += ["| " + " | ".join(f"**{md_escape(n)}**" for n, _, _, _ in t) + " |", ""]
    for s in sections(report):
        out += [f"## {md_escape(s.title)}", ""]
        for p in s.paragraphs:
            out += [md_escape(p), ""]
        for sub, table in s.tables:
            if sub:
                out += [f"### {md_escape(sub)}", ""]
            out += [_md_table(table), ""]
    generated = f"Generated {md_escape(_stamp(report.generated))} by mhhs-sit {md_escape(__version__)}."
    out.append(f"<sub>{md_escape(_qualification_of(report))}{generated}</sub>")
    return "\n".join(out) + "\n"
