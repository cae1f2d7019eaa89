"""The 30-day usage chart's geometry: stacked bars, successes below and failures on top.

Computed here so the template only places shapes; drawn as inline SVG, no JavaScript.
"""

from dataclasses import dataclass

from portal.diagnostics.service import DayCount, KeyUsage, key_usage

WIDTH = 600
PLOT_TOP = 12
PLOT_HEIGHT = 110
HEIGHT = PLOT_TOP + PLOT_HEIGHT + 22  # room for the date labels below the bars
GAP = 4


@dataclass(frozen=True)
class Bar:
    day: DayCount
    x: float
    width: float
    ok_y: float
    ok_height: float
    failed_y: float
    failed_height: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    top: int  # the busiest day's requests: the plot's full height
    baseline: float
    width: int = WIDTH
    height: int = HEIGHT
    plot_top: int = PLOT_TOP
    plot_height: int = PLOT_HEIGHT

    @property
    def total_ok(self) -> int:
        return sum(bar.day.ok for bar in self.bars)

    @property
    def total_failed(self) -> int:
        return sum(bar.day.failed for bar in self.bars)


def build_chart(days: list[DayCount]) -> Chart:
    """Bars scaled so the busiest day fills the plot."""
    top = max((day.total for day in days), default=0)
    scale = top or 1
    slot = WIDTH / max(len(days), 1)
    baseline = PLOT_TOP + PLOT_HEIGHT
    bars = []
    for index, day in enumerate(days):
        ok_height = round(day.ok / scale * PLOT_HEIGHT, 2)
        failed_height = round(day.failed / scale * PLOT_HEIGHT, 2)
        ok_y = round(baseline - ok_height, 2)
        bars.append(Bar(
            day=day, x=round(index * slot + GAP / 2, 2), width=round(slot - GAP, 2),
            ok_y=ok_y, ok_height=ok_height,
            failed_y=round(ok_y - failed_height, 2), failed_height=failed_height,
        ))
    return Chart(bars=bars, top=top, baseline=baseline)


def key_usage_charts(firm_id: str, keys: list) -> list[tuple[KeyUsage, Chart]]:
    """Each given key's 30-day usage with its chart, in the keys' order."""
    usage = key_usage(firm_id, keys)
    return [(usage[key.id], build_chart(usage[key.id].days)) for key in keys]
