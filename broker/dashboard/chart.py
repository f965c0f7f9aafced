"""Transfers per day, drawn on the server as an SVG bar chart (no script, no CDN).

The numbers come from the consent's ledger entries the page already loads; the template
draws the bars from the coordinates computed here and repeats the same figures in a table,
the chart's text alternative. Colour is never the only cue: refused requests are hatched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from broker.dashboard import words
from broker.dashboard.words import Translate
from consent.ledger import LedgerEntry

DAYS = 30
WIDTH = 480
HEIGHT = 190
LEFT = 30  # room for the y-axis labels
BOTTOM = 28  # room for the x-axis labels
TOP = 10
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    served_y: float
    served_h: float
    refused_y: float
    refused_h: float
    label: str  # "3 transferts le 5 mars 2026", the bar's tooltip


@dataclass(frozen=True)
class DayRow:
    day: str
    iso: str
    served: int
    refused: int


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    anchor: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    baseline: int
    top_value: int
    bars: list[Bar]
    ticks: list[Tick]
    rows: list[DayRow]  # the days with any request, newest first (the table)
    summary: str


def _short_day(moment: date, locale: str) -> str:
    return words.day(datetime(moment.year, moment.month, moment.day), locale).rsplit(" ", 1)[0]


def transfers_per_day(
    entries: list[LedgerEntry], today: date, t: Translate, locale: str, days: int = DAYS
) -> Chart:
    """Served and refused (denied or failed) data requests for each of the last ``days``."""
    first = today - timedelta(days=days - 1)
    served: Counter[date] = Counter()
    refused: Counter[date] = Counter()
    for entry in entries:
        if not entry.kind.startswith("transfer."):
            continue
        day = words.utc(entry.at).date()
        if first <= day <= today:
            (served if entry.kind == "transfer.served" else refused)[day] += 1
    top_value = max([served[d] + refused[d] for d in served | refused] or [0])
    scale_top = max(top_value, 1)
    slot = (WIDTH - LEFT) / days
    baseline = TOP + PLOT_HEIGHT
    bars = []
    rows = []
    for i in range(days):
        day = first + timedelta(days=i)
        ok, ko = served[day], refused[day]
        served_h = PLOT_HEIGHT * ok / scale_top
        refused_h = PLOT_HEIGHT * ko / scale_top
        label = t("chart.bar", day=words.day(_midnight(day), locale), served=ok, refused=ko)
        bars.append(
            Bar(
                x=round(LEFT + i * slot + slot * 0.15, 2),
                width=round(slot * 0.7, 2),
                served_y=round(baseline - served_h, 2),
                served_h=round(served_h, 2),
                refused_y=round(baseline - served_h - refused_h, 2),
                refused_h=round(refused_h, 2),
                label=label,
            )
        )
        if ok or ko:
            rows.append(DayRow(words.day(_midnight(day), locale), day.isoformat(), ok, ko))
    ticks = [
        Tick(LEFT + slot * 0.5, _short_day(first, locale), "start"),
        Tick(
            LEFT + slot * (days // 2 + 0.5),
            _short_day(first + timedelta(days // 2), locale),
            "middle",
        ),
        Tick(WIDTH - slot * 0.5, _short_day(today, locale), "end"),
    ]
    total_ok, total_ko = sum(served.values()), sum(refused.values())
    summary = t(
        "chart.summary",
        days=days,
        served=words.plural(t, "chart.served", total_ok),
        refused=words.plural(t, "chart.refused", total_ko),
        busiest=top_value,
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        baseline=baseline,
        top_value=top_value,
        bars=bars,
        ticks=ticks,
        rows=list(reversed(rows)),
        summary=summary,
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)
