"""The report's charts, drawn server-side by matplotlib: SVG for the HTML report, PNG for mail.

Why matplotlib: well kept, no browser or network needed, one drawing for both outputs (Agg
renders the PNG, its SVG backend the vector file). Figures are built with the object API (no
pyplot, no global state), so two reports in one process never share a figure.

Every mark a test (or a curious reader) may want to check carries an SVG id: bars are
``<chart>-bar-<i>`` in the order of the report's own dict, line series ``<chart>-<series>``
(one ``<use>`` per point). Text stays text (``svg.fonttype = none``), so it scales and prints.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")  # no display, ever: the daemon and the CLI run headless

from matplotlib import rc_context
from matplotlib.figure import Figure

#: Colours that stay apart for colour-blind readers and in greyscale print (Okabe-Ito).
BLUE, ORANGE, GREEN, GREY = "#0072B2", "#E69F00", "#009E73", "#999999"

_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: the same drawing everywhere
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
}


def _styled(**extra: Any) -> AbstractContextManager[None]:
    """The charts' rc settings (plus ``extra``, e.g. the SVG id salt) for one block."""
    return rc_context(cast(Any, {**_STYLE, **extra}))


@dataclass(frozen=True)
class Chart:
    """One drawn chart: its name (the id prefix), its title and its figure."""

    name: str
    title: str
    figure: Figure

    def svg(self) -> str:
        """The chart as an ``<svg>`` element to inline in HTML (no XML prolog, no fixed size)."""
        buf = io.StringIO()
        # Ids matplotlib derives (clip paths, markers) get the chart's salt: unique per page.
        with _styled(**{"svg.hashsalt": self.name}):
            self.figure.savefig(buf, format="svg", metadata={"Date": None})
        text = buf.getvalue()
        text = text[text.index("<svg") :]
        text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)  # RDF noise
        head_end = text.index(">")
        head = re.sub(r'\s(width|height)="[^"]*"', "", text[:head_end])
        label = f' role="img" aria-label="{self.title}" id="chart-{self.name}"'
        return head + label + text[head_end:]

    def png(self, dpi: int = 110) -> bytes:
        """The chart as PNG bytes (for mail clients, which do not show inline SVG)."""
        buf = io.BytesIO()
        with _styled():
            self.figure.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        return buf.getvalue()


def _figure(height: float = 3.2, width: float = 6.4) -> tuple[Figure, Any]:
    with _styled():
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _hbars(name: str, title: str, labels: Sequence[str], values: Sequence[float]) -> Chart:
    """Horizontal bars, largest first at the top; labels readable on a narrow screen."""
    with _styled():
        fig, ax = _figure(max(1.6, 0.35 * len(labels) + 1.0))
        if labels:
            bars = ax.barh(range(len(labels)), values, color=BLUE)
            for i, bar in enumerate(bars):
                bar.set_gid(f"{name}-bar-{i}")
            ax.set_yticks(range(len(labels)), [_short(s) for s in labels])
            ax.invert_yaxis()
            ax.bar_label(bars, padding=3)
        else:
            _empty(ax)
        ax.set_title(title, loc="left")
        ax.xaxis.get_major_locator().set_params(integer=True)
    return Chart(name, title, fig)


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _empty(ax: Any) -> None:
    ax.text(0.5, 0.5, "no tickets", ha="center", va="center", transform=ax.transAxes)
    ax.set_yticks([])


def daily_chart(report: dict[str, Any]) -> Chart:
    """Tickets received and resolved per day: one point per day of the window."""
    title = "Received and resolved per day"
    created = report["trends"]["daily_creation"]
    done = report["trends"]["daily_resolved"]
    days = list(created)
    with _styled():
        fig, ax = _figure(3.4, 10.0)  # the page's full width: the same type size as the rest
        x = range(len(days))
        ax.plot(x, [created[d] for d in days], marker="o", ms=3, color=BLUE, label="received")[
            0
        ].set_gid("daily-created")
        ax.plot(x, [done[d] for d in days], marker="s", ms=3, color=ORANGE, label="resolved")[
            0
        ].set_gid("daily-resolved")
        step = max(1, len(days) // 8)
        ax.set_xticks(list(x)[::step], [d[5:] for d in days][::step])
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0.0, 1.0))
        ax.set_title(title, loc="left", pad=22)
    return Chart("daily", title, fig)


def sla_chart(report: dict[str, Any]) -> Chart:
    """Share of decided SLA clocks met, per urgency: response and resolution side by side."""
    title = "SLA met by urgency (%)"
    urgencies = list(report["sla"])
    with _styled():
        fig, ax = _figure(2.8)
        width = 0.38
        for offset, key, colour in (
            (-width / 2, "response", GREEN),
            (width / 2, "resolution", BLUE),
        ):
            values = [100 * (report["sla"][u][key] or 0) for u in urgencies]
            bars = ax.bar(
                [i + offset for i in range(len(urgencies))],
                values,
                width,
                color=colour,
                label=key,
            )
            for u, bar in zip(urgencies, bars, strict=True):
                bar.set_gid(f"sla-bar-{key}-{u}")
        ax.set_xticks(range(len(urgencies)), [f"urgency {u}" for u in urgencies])
        ax.set_ylim(0, 100)
        ax.legend(frameon=False, ncols=2, loc="lower center", bbox_to_anchor=(0.5, 1.0))
        if not urgencies:
            _empty(ax)
        ax.set_title(title, loc="left", pad=22)
    return Chart("sla", title, fig)


def category_chart(report: dict[str, Any]) -> Chart:
    counts = report["by_category"]
    return _hbars("category", "Tickets by category", list(counts), list(counts.values()))


def assignee_chart(report: dict[str, Any]) -> Chart:
    rows = [a for a in report["assignees"] if a["open_load"]]
    return _hbars(
        "assignee",
        "Open tickets by assignee",
        [a["assignee"] for a in rows],
        [a["open_load"] for a in rows],
    )


def backlog_chart(report: dict[str, Any]) -> Chart:
    """Open tickets by age: vertical bars, one per bucket (zero-height bars included)."""
    title = "Open tickets by age"
    buckets = report["backlog"]
    with _styled():
        fig, ax = _figure(2.8)
        bars = ax.bar(range(len(buckets)), list(buckets.values()), color=GREY)
        for i, bar in enumerate(bars):
            bar.set_gid(f"backlog-bar-{i}")
        ax.set_xticks(range(len(buckets)), list(buckets))
        ax.bar_label(bars, padding=2)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(title, loc="left")
    return Chart("backlog", title, fig)


#: Every chart of the report, in page order.
CHARTS: tuple[Callable[[dict[str, Any]], Chart], ...] = (
    daily_chart,
    sla_chart,
    category_chart,
    assignee_chart,
    backlog_chart,
)


def all_charts(report: dict[str, Any]) -> list[Chart]:
    """The report's charts, drawn."""
    return [draw(report) for draw in CHARTS]
