"""``mhhs-sit report``: the Allure HTML report, built offline.

Allure 3 (the npm package ``allure``, on Node.js) is preferred; Allure 2 (``allure`` from
allure-commandline, on Java) works too. Found in this order: ``$MHHS_SIT_ALLURE``; a
``node_modules/.bin/allure`` in the project or in mhhs-sit's own tool folder (where
``--install`` puts it); ``allure`` on PATH. The report is grouped stage › theme › scenario and,
by default, is one self-contained ``index.html`` that opens from disk; the analytics tag Allure 3
always emits is removed, so the report makes no request outside the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mhhs_sit.core import atomic
from mhhs_sit.errors import ConfigError

TOOLS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mhhs-sit" / "allure3"
INSTALL_HINT = (
    "Allure is not installed. Either run `mhhs-sit report --install` (installs Allure 3 from the npm registry "
    f"into {TOOLS}; needs Node.js and npm), or `npm install allure@3` in the project, or install Allure 2 "
    "(allure-commandline, needs Java) and put `allure` on PATH, or set MHHS_SIT_ALLURE to its path."
)
_ANALYTICS = re.compile(r"<script[^>]*googletagmanager[^>]*>\s*</script>|<script>[^<]*gtag\([^<]*</script>", re.S)


@dataclass(frozen=True)
class AllureTool:
    path: Path
    major: int  # 2 or 3


def find_allure(project: Path | None = None) -> AllureTool | None:
    candidates: list[Path] = []
    if os.environ.get("MHHS_SIT_ALLURE"):
        candidates.append(Path(os.environ["MHHS_SIT_ALLURE"]))
    if project is not None:
        candidates.append(project / "node_modules" / ".bin" / "allure")
    candidates.append(TOOLS / "node_modules" / ".bin" / "allure")
    on_path = shutil.which("allure")
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.exists():
            return AllureTool(path, _major(path))
    return None


def _major(path: Path) -> int:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return 3
    match = re.search(r"(\d+)\.\d+", out.stdout + out.stderr)
    return int(match.group(1)) if match else 3


def install(target: Path = TOOLS) -> AllureTool:
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigError("npm is not available; install Node.js (with npm) first. " + INSTALL_HINT)
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-fund", "--no-audit", "--prefix", str(target), "allure@3"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ConfigError(f"npm install allure@3 failed:\n{done.stderr[-2000:]}")
    return AllureTool(target / "node_modules" / ".bin" / "allure", 3)


def build_report(
    results: Path, out: Path, *, tool: AllureTool, single_file: bool = True, name: str = "MHHS SIT evidence"
) -> Path:
    """Generate the report into ``out``; returns the ``index.html`` to open.

    Generated beside ``out`` under a temporary name and moved into place once whole, so a run
    killed while Allure writes leaves no half report under ``out`` (the previous one, or none)."""
    results, out = results.resolve(), out.resolve()
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise ConfigError(f"{results} holds no Allure results (*-result.json); run with --alluredir first")
    staging = atomic.temporary_name(out)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _generate(results, staging, tool=tool, single_file=single_file, name=name)
        for page in staging.rglob("*.html"):
            text = page.read_text(encoding="utf-8")
            cleaned = _ANALYTICS.sub("", text)
            if cleaned != text:
                page.write_text(cleaned, encoding="utf-8")  # still under the temporary name
        if out.exists():
            shutil.rmtree(out)
        staging.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def _generate(results: Path, out: Path, *, tool: AllureTool, single_file: bool, name: str) -> None:
    if tool.major >= 3:
        with tempfile.TemporaryDirectory(prefix="mhhs-allure-") as tmp:
            config = Path(tmp) / "allurerc.json"
            options = {
                "reportName": name,
                "singleFile": single_file,
                "groupBy": ["parentSuite", "suite", "subSuite"],
            }
            config.write_text(
                json.dumps({"name": name, "output": str(out), "plugins": {"awesome": {"options": options}}})
            )
            cmd = [str(tool.path), "generate", "--config", str(config), str(results)]
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    else:
        cmd = [str(tool.path), "generate", str(results), "-o", str(out), "--clean"]
        cmd += ["--single-file"] if single_file else []
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "ALLURE_NO_ANALYTICS": "true"})
    if done.returncode != 0 or not (out / "index.html").is_file():
        raise ConfigError(f"allure generate failed ({' '.join(cmd)}):\n{(done.stdout + done.stderr)[-2000:]}")
