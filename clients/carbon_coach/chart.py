"""Geometry of the monthly bar chart, drawn server-side as SVG (the page needs no script)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from clients.carbon_coach.footprint import MonthFootprint
from clients.carbon_coach.formatting import fr_number, month_label, month_short

__all__ = ["Bar", "BarChart", "bar_chart"]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    center: float  # x of the label under the bar
    label: str  # short month, under the bar
    title: str  # full sentence, shown as the bar's tooltip and read by screen readers


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: tuple[Bar, ...]
    max_label: str


def bar_chart(
    months: Sequence[MonthFootprint], width: int = 720, height: int = 260, margin: int = 28
) -> BarChart:
    """Bars of kgCO2e per month, scaled to the highest month."""
    plot_height = height - 2 * margin
    highest = max((m.kg_co2e for m in months), default=Decimal(0))
    slot = (width - 2 * margin) / max(len(months), 1)
    bars = []
    for index, month in enumerate(months):
        share = float(month.kg_co2e / highest) if highest > 0 else 0.0
        bar_height = share * plot_height
        left = margin + index * slot
        bars.append(
            Bar(
                x=round(left + slot * 0.15, 1),
                y=round(margin + plot_height - bar_height, 1),
                width=round(slot * 0.7, 1),
                height=round(bar_height, 1),
                center=round(left + slot / 2, 1),
                label=month_short(month.month),
                title=(
                    f"{month_label(month.month)} : {fr_number(month.kg_co2e, 1)} kgCO₂e "
                    f"({fr_number(month.kwh)} kWh)"
                ),
            )
        )
    return BarChart(
        width=width,
        height=height,
        baseline=float(margin + plot_height),
        bars=tuple(bars),
        max_label=f"{fr_number(highest, 1)} kgCO₂e",
    )
