"""Small charts computed on the server and drawn as SVG by templates/_chart.html: no chart
library in the browser, nothing to build.

A chart shows daily series (one value per day, None where the day has no figure). Every mark
carries its figure as a tooltip, and the page shows the same figures as a table.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

WIDTH: Final = 640
HEIGHT: Final = 200
LEFT: Final = 44  # room for the value labels
BOTTOM: Final = 24  # room for the date labels
TOP: Final = 10
COLOURS: Final = ("#1f6feb", "#b42318")
MAX_DATE_LABELS: Final = 7


@dataclass(frozen=True)
class Series:
    """One line or set of bars: a name and a value per day."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Mark:
    """A bar (width and height) or a dot (no size) and its tooltip."""

    x: float
    y: float
    label: str
    width: float = 0.0
    height: float = 0.0


@dataclass(frozen=True)
class Line:
    """A series drawn as polylines (broken where a day has no figure) with a dot per figure."""

    name: str
    colour: str
    segments: list[str]  # SVG points lists
    dots: list[Mark]


@dataclass(frozen=True)
class Chart:
    """What the template draws."""

    title: str
    top_label: str
    baseline: float
    date_labels: list[tuple[float, str]]
    bars: list[Mark] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT


@dataclass(frozen=True)
class _Frame:
    """Where day `index` and value `v` land."""

    days: Sequence[date]
    top: float

    @property
    def slot(self) -> float:
        return (WIDTH - LEFT) / max(1, len(self.days))

    @property
    def baseline(self) -> float:
        return HEIGHT - BOTTOM

    def x(self, index: int) -> float:
        return LEFT + self.slot * (index + 0.5)

    def y(self, value: float) -> float:
        return self.baseline - (value / self.top) * (HEIGHT - BOTTOM - TOP)

    def date_labels(self) -> list[tuple[float, str]]:
        step = max(1, -(-len(self.days) // MAX_DATE_LABELS))
        return [(self.x(i), f"{self.days[i]:%b %d}") for i in range(0, len(self.days), step)]


def _ceiling(series: Sequence[Series]) -> float:
    return max([1.0, *(v for s in series for v in s.values if v is not None)])


def bar_chart(title: str, days: Sequence[date], series: Series) -> Chart:
    """One bar per day."""
    frame = _Frame(days, _ceiling([series]))
    bars = [
        Mark(
            x=frame.x(i) - frame.slot * 0.35,
            y=frame.y(value),
            width=frame.slot * 0.7,
            height=frame.baseline - frame.y(value),
            label=f"{days[i]:%b %d}: {value:g}",
        )
        for i, value in enumerate(series.values)
        if value
    ]
    return Chart(title, f"{frame.top:g}", frame.baseline, frame.date_labels(), bars=bars)


def line_chart(
    title: str, days: Sequence[date], series: Sequence[Series], *, unit: str = "", top: float | None = None
) -> Chart:
    """A line per series, on a scale from 0 to `top` (default: the highest figure)."""
    frame = _Frame(days, top if top is not None else _ceiling(series))
    lines = []
    for colour, one in zip(COLOURS, series, strict=False):
        segments: list[list[str]] = [[]]
        dots = []
        for i, value in enumerate(one.values):
            if value is None:
                segments.append([])
                continue
            x, y = frame.x(i), frame.y(value)
            segments[-1].append(f"{x:.1f},{y:.1f}")
            dots.append(Mark(x, y, f"{one.name}, {days[i]:%b %d}: {value:g}{unit}"))
        lines.append(Line(one.name, colour, [" ".join(s) for s in segments if s], dots))
    # The axis label is the bare number (the title names the unit): a long one would not fit.
    return Chart(title, f"{frame.top:g}", frame.baseline, frame.date_labels(), lines=lines)
