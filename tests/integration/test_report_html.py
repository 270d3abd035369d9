"""``propdesk report --format html``: one self-contained page whose charts show the seeded data.

The charts' marks are read back from the inline SVG (bar lengths, point counts) and compared
with the hand-computed figures; a headless Chromium renders the page without console errors
and takes the screenshot the README shows (``PROPDESK_SCREENSHOT=docs/report.png`` keeps it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image  # matplotlib's own dependency
from sqlalchemy import Engine

from propdesk.cli import main
from propdesk.clock import Clock
from propdesk.config import Config, DatabaseConfig
from tests.integration import report_support as seeded
from tests.integration.ingest_support import write_config
from tests.integration.report_support import NOW, SINCE, UNTIL

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


@pytest.fixture
def page(tmp_path: Path, clean_db: Engine, db_config: DatabaseConfig) -> Path:
    seeded.seed(clean_db)
    config_file = write_config(Config(database=db_config), tmp_path / "p.toml")
    out = tmp_path / "report.html"
    args = ["--since", SINCE, "--until", UNTIL, "--format", "html", "--output", str(out)]
    code = main(["--config", str(config_file), "report", *args], clock=Clock(now=lambda: NOW))
    assert code == 0
    return out


class _Page(HTMLParser):
    """Collects element ids with their text and checks that every element that must be closed
    is closed in order (a page that parses, not a tag soup)."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "path", "use", "stop"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.texts: dict[str, str] = {}
        self.tags: set[str] = set()
        self._open_ids: list[tuple[str, int]] = []
        self._chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)
            ident = dict(attrs).get("id")
            if ident:
                self._open_ids.append((ident, len(self._chunks)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()
        if self._open_ids and len(self._open_ids) > 0:
            ident, start = self._open_ids[-1]
            if start <= len(self._chunks):
                self.texts.setdefault(ident, "".join(self._chunks[start:]).strip())

    def handle_data(self, data: str) -> None:
        self._chunks.append(data)


def _svgs(html: str) -> dict[str, ET.Element]:
    """Every inline chart, parsed as XML, by its id (``chart-<name>``)."""
    found = {}
    for match in re.finditer(r"<svg\b.*?</svg>", html, flags=re.S):
        root = ET.fromstring(match.group(0))
        found[root.attrib["id"]] = root
    return found


def _by_id(root: ET.Element, ident: str) -> ET.Element:
    for el in root.iter():
        if el.attrib.get("id") == ident:
            return el
    raise AssertionError(f"no element with id {ident}")


def _box(group: ET.Element) -> tuple[float, float]:
    """(width, height) of the first path in a bar's group, from its ``d`` coordinates."""
    path = next(group.iter(f"{SVG}path"))
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.attrib["d"])]
    xs, ys = numbers[0::2], numbers[1::2]
    return max(xs) - min(xs), max(ys) - min(ys)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def test_page_parses_and_shows_the_figures(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(html)
    parsed.close()
    assert parsed.stack == [], f"unclosed elements: {parsed.stack}"
    assert "script" not in parsed.tags and "img" not in parsed.tags and "link" not in parsed.tags
    # No network: the only URLs are the SVG namespaces.
    assert set(re.findall(r"https?://[^\s\"')]+", html)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    t = parsed.texts
    assert t["fig-total"] == "8" and t["fig-open"] == "3"
    assert t["fig-median"] == "6.0 h" and t["fig-p90"] == "22.0 h"
    assert t["fig-sla"] == "42.9%" and t["fig-response"] == "50.0%"
    assert t["fig-escalation"] == "12.5%" and t["fig-reopen"] == "20.0%"
    assert t["fig-satisfaction"] == "4.50 / 5" and t["fig-breached"] == "3"
    assert "@media print" in html and 'name="viewport"' in html
    # Tenant text is escaped, never markup.
    assert "<ceiling" not in html


def test_each_chart_draws_the_seeded_data(page: Path) -> None:
    charts = _svgs(page.read_text(encoding="utf-8"))
    assert set(charts) == {
        "chart-daily",
        "chart-sla",
        "chart-category",
        "chart-assignee",
        "chart-backlog",
    }

    # Received / resolved per day: one point per day of the window, highest on 03-14.
    daily = charts["chart-daily"]
    for series, expected in (
        ("daily-created", seeded.EXPECTED_DAILY_CREATED),
        ("daily-resolved", seeded.EXPECTED_DAILY_RESOLVED),
    ):
        points = list(_by_id(daily, series).iter(f"{SVG}use"))
        assert len(points) == len(expected) == 7
        ys = [float(p.attrib["y"]) for p in points]
        # SVG y grows downwards: equal values sit at equal heights, larger ones higher.
        for i in range(len(expected)):
            for j in range(len(expected)):
                if expected[i] > expected[j]:
                    assert ys[i] < ys[j]
                elif expected[i] == expected[j]:
                    assert ys[i] == pytest.approx(ys[j], abs=0.01)

    # Tickets by category: Maintenance 6, Lease 1, Payment 1 (horizontal bars).
    cat = charts["chart-category"]
    widths = [_box(_by_id(cat, f"category-bar-{i}"))[0] for i in range(3)]
    assert _ratio(widths[0], widths[1]) == pytest.approx(6, rel=0.01)
    assert widths[1] == pytest.approx(widths[2], rel=0.01)

    # Open load: plumber 3 (T0, T6, T7), accounting 1; assignees with none are not drawn.
    load = charts["chart-assignee"]
    w = [_box(_by_id(load, f"assignee-bar-{i}"))[0] for i in range(2)]
    assert _ratio(w[0], w[1]) == pytest.approx(3, rel=0.01)
    with pytest.raises(AssertionError):
        _by_id(load, "assignee-bar-2")

    # Backlog by age: 1, 1, 1, 1, 0.
    backlog = charts["chart-backlog"]
    heights = [_box(_by_id(backlog, f"backlog-bar-{i}"))[1] for i in range(5)]
    assert heights[0] > 0 and all(h == pytest.approx(heights[0], rel=0.01) for h in heights[:4])
    assert heights[4] == pytest.approx(0, abs=0.01)

    # SLA met (%): bar heights proportional to the seeded shares, 0-100 scale.
    sla = charts["chart-sla"]
    got = {
        (key, u): _box(_by_id(sla, f"sla-bar-{key}-{u}"))[1]
        for key in ("response", "resolution")
        for u in ("1", "2", "3")
    }
    base = got[("response", "3")] / 0.5
    for (key, u), height in got.items():
        assert height / base == pytest.approx(seeded.EXPECTED_SLA[u][key], abs=0.005)


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: run deploy/dev/setup.sh")
        pytest.skip("chromium is not installed (deploy/dev/setup.sh installs it)")
    return found


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


def test_chromium_renders_it_without_console_errors(page: Path, tmp_path: Path) -> None:
    browser = _chromium()
    shot = tmp_path / "report.png"
    base = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    rendered = subprocess.run(
        [*base, "--window-size=1000,1500", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    console = [line for line in rendered.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    assert shot.stat().st_size > 10_000  # a page was drawn, not a blank
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert dom.returncode == 0 and 'id="chart-daily"' in dom.stdout
    assert [line for line in dom.stderr.splitlines() if ":CONSOLE" in line] == []
    # The check can fail: a page that logs an error is caught by it.
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("boom")</script></body></html>')
    caught = subprocess.run(
        [*base, "--dump-dom", bad.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert any(":CONSOLE" in line and "boom" in line for line in caught.stderr.splitlines())
    keep = os.environ.get("PROPDESK_SCREENSHOT")
    if keep:
        _small_png(shot, Path(keep))


def _small_png(source: Path, target: Path) -> None:
    """The screenshot as a palette PNG (a few dozen KB for the README)."""
    with Image.open(source) as img:
        small = img.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        target.parent.mkdir(parents=True, exist_ok=True)
        small.save(target, optimize=True)
