"""Charts drawn on the server as SVG: no script, no front-end build, nothing fetched.

Each chart is a picture with a title and a description for screen readers (``role="img"``
labelled by both); the figures themselves are always in a table next to it (the templates put
one behind each chart), so nothing is only in the picture. Colours are presentation
attributes, not ``style``: the portal's content security policy allows no inline styles, and
attributes are not styles. Series differ by dash pattern as well as colour, so a chart reads in
grey too. Every text and attribute goes through ``_el``, which escapes it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

#: Okabe-Ito colours (told apart with the common colour-vision deficiencies), dark enough
#: against white for the 3:1 contrast WCAG asks of graphics.
COLOURS = ("#0072b2", "#d55e00", "#007a5a", "#b0468c", "#7a6000", "#56348f")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")
INK, MUTED, GRID = "#132235", "#37414d", "#d0d5dc"
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 64
LABELS_W = 200  # room for the bar chart's labels

_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    """One line: its name (in the legend) and a value per x label (None: no figure there)."""

    name: str
    values: Sequence[float | None]


def _el(tag: str, text: str | None = None, **attrs: object) -> str:
    """One SVG element; attribute names use ``_`` for ``-`` (``stroke_width``)."""
    shown = " ".join(
        f'{name.replace("_", "-")}="{escape(value)}"'
        for name, value in attrs.items()
        if value not in (None, "")
    )
    if text is None:
        return f"<{tag} {shown}/>"
    return f"<{tag} {shown}>{escape(text)}</{tag}>"


def _f(value: float) -> str:
    return f"{value:.1f}"


def _nice_top(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= value)


def _number(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value:,.0f}"


def _frame(title: str, description: str, body: list[str], height: int = HEIGHT) -> SafeString:
    n = next(_ids)
    title_id, desc_id = f"chart-{n}-title", f"chart-{n}-desc"
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">'
    )
    parts = [head, _el("title", title, id=title_id), _el("desc", description, id=desc_id)]
    return mark_safe("".join([*parts, *body, "</svg>"]))  # noqa: S308 - built by _el, escaped


def line_chart(
    labels: Sequence[str], series: Sequence[Series], *, title: str, description: str, unit: str
) -> SafeString:
    """Lines over ``labels`` (weeks, days): one per series, with a legend under the plot."""
    values = [v for s in series for v in s.values if v is not None]
    top = _nice_top(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return LEFT + (step * i if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / top

    body = []
    for i in range(5):
        value, at = top * i / 4, y(top * i / 4)
        body.append(_el("line", x1=LEFT, x2=WIDTH - RIGHT, y1=_f(at), y2=_f(at), stroke=GRID))
        body.append(_el("text", _number(value), x=LEFT - 6, y=_f(at + 4), text_anchor="end",
                        font_size=12, fill=MUTED))  # fmt: skip
    middle = _f(TOP + plot_h / 2)
    body.append(_el("text", unit, x=12, y=middle, font_size=12, fill=MUTED, text_anchor="middle",
                    transform=f"rotate(-90 12 {middle})"))  # fmt: skip
    every = max(1, math.ceil(len(labels) / 8))
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(_el("text", label, x=_f(x(i)), y=HEIGHT - BOTTOM + 16,
                            text_anchor="middle", font_size=12, fill=MUTED))  # fmt: skip
    for n, line in enumerate(series):
        colour, dash = COLOURS[n % len(COLOURS)], DASHES[n % len(DASHES)]
        run: list[str] = []
        for i, v in enumerate([*line.values, None]):
            if v is not None:
                run.append(f"{_f(x(i))},{_f(y(v))}")
                body.append(_el("circle", cx=_f(x(i)), cy=_f(y(v)), r=3, fill=colour))
            elif run:
                body.append(_el("polyline", points=" ".join(run), fill="none", stroke=colour,
                                stroke_width=2, stroke_dasharray=dash))  # fmt: skip
                run = []
        lx, ly = LEFT + (n % 3) * 220, HEIGHT - BOTTOM + 36 + (n // 3) * 16
        body.append(_el("line", x1=lx, x2=lx + 24, y1=ly - 4, y2=ly - 4, stroke=colour,
                        stroke_width=2, stroke_dasharray=dash))  # fmt: skip
        body.append(_el("text", line.name, x=lx + 30, y=ly, font_size=12, fill=INK))
    return _frame(title, description, body)


def bar_chart(
    bars: Sequence[tuple[str, float | None]],
    *,
    title: str,
    description: str,
    unit: str,
    low: float = 0.0,
    high: float | None = None,
    target: float | None = None,
) -> SafeString:
    """Horizontal bars, one per label, from ``low`` (availability starts at 90 %, or every bar
    looks full); a dashed line marks ``target``, and bars below it take the second colour.
    A bar of None is drawn as "—": no figure."""
    values = [v for _label, v in bars if v is not None]
    high = high if high is not None else _nice_top(max(values, default=1))
    row, plot_w = 28, WIDTH - LABELS_W - RIGHT
    bottom = TOP + row * len(bars)

    def x(v: float) -> float:
        return LABELS_W + plot_w * (min(max(v, low), high) - low) / ((high - low) or 1)

    body = []
    for i in range(5):
        value = low + (high - low) * i / 4
        body.append(_el("line", x1=_f(x(value)), x2=_f(x(value)), y1=TOP, y2=bottom, stroke=GRID))
        body.append(_el("text", _number(value), x=_f(x(value)), y=bottom + 16, font_size=12,
                        text_anchor="middle", fill=MUTED))  # fmt: skip
    body.append(_el("text", unit, x=_f(LABELS_W + plot_w / 2), y=bottom + 34, font_size=12,
                    text_anchor="middle", fill=MUTED))  # fmt: skip
    for n, (label, value) in enumerate(bars):
        top = TOP + row * n
        body.append(_el("text", label, x=LABELS_W - 8, y=top + 18, font_size=12,
                        text_anchor="end", fill=INK))  # fmt: skip
        if value is None:
            body.append(_el("text", "—", x=LABELS_W + 4, y=top + 18, font_size=12, fill=MUTED))
            continue
        colour = COLOURS[0] if target is None or value >= target else COLOURS[1]
        body.append(_el("rect", x=LABELS_W, y=top + 5, width=_f(x(value) - LABELS_W),
                        height=row - 10, fill=colour))  # fmt: skip
    if target is not None:
        body.append(_el("line", x1=_f(x(target)), x2=_f(x(target)), y1=TOP - 4, y2=bottom + 2,
                        stroke=INK, stroke_width=2, stroke_dasharray="4 3"))  # fmt: skip
    return _frame(title, description, body, height=bottom + 44)
