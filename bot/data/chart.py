"""Two small PNG charts drawn with Pillow (no plotting stack): the series, and the segments' contributions.

1. The metric over time, the baseline and current windows shaded, the onset marked with a dashed
   line, and the top candidate commits as numbered markers (numbers match the list in the text).
2. The top segments' contributions to the change as horizontal bars.
"""

from __future__ import annotations

import datetime as dt
import io
import math

from PIL import Image, ImageDraw, ImageFont

from bot.data.analysis.explain import Explanation
from bot.data.report import SHOWN_COMMITS, number

WIDTH, HEIGHT = 960, 440
MARGIN = {"left": 78, "right": 24, "top": 48, "bottom": 64}
INK, GRID, LINE = (33, 37, 41), (226, 230, 234), (29, 78, 216)
BASELINE_FILL, CURRENT_FILL = (235, 240, 250), (255, 240, 222)
ONSET, COMMIT, DOWN, UP = (200, 35, 51), (111, 66, 193), (200, 35, 51), (25, 135, 84)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    return [start + i * step for i in range(int((high - start) / step) + 2) if start + i * step <= high + step]


def series_chart(e: Explanation) -> bytes:
    """PNG of the series with windows, onset and commit markers."""
    points = [(t, v) for t, v in e.series if v is not None]
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    left, top = MARGIN["left"], MARGIN["top"]
    right, bottom = WIDTH - MARGIN["right"], HEIGHT - MARGIN["bottom"]
    unit = "hour" if e.grain == "hour" else "day"
    draw.text((left, 14), f"{e.metric.name} per {unit} · {e.description}", fill=INK, font=_font(17))
    if not points or e.comparison is None:
        draw.text((left, top + 40), "no data in these windows", fill=INK, font=_font(15))
        return _png(image)
    span = e.comparison.span
    step = dt.timedelta(hours=1) if e.grain == "hour" else dt.timedelta(days=1)
    t0, t1 = span.start, span.end

    def x_of(moment: dt.datetime) -> float:
        return left + (right - left) * (moment - t0) / (t1 - t0)

    values = [v for _, v in points]
    ticks = _nice_ticks(min(0.0, min(values)) if not e.metric.is_ratio else min(values) * 0.95,
                        max(values) * 1.05 if max(values) > 0 else 1.0)
    low, high = ticks[0], ticks[-1]

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * (value - low) / ((high - low) or 1)

    for window, fill, name in ((e.comparison.baseline, BASELINE_FILL, "baseline"),
                               (e.comparison.current, CURRENT_FILL, "current")):
        draw.rectangle([x_of(window.start), top, x_of(window.end), bottom], fill=fill)
        draw.text((x_of(window.start) + 6, top + 4), name, fill=(108, 117, 125), font=_font(13))
    for tick in ticks:
        draw.line([left, y_of(tick), right, y_of(tick)], fill=GRID)
        draw.text((left - 8, y_of(tick)), number(tick, e.metric.is_ratio), fill=INK, font=_font(12), anchor="rm")
    _x_labels(draw, t0, t1, x_of, bottom, e.grain)
    line = [(x_of(t + step / 2), y_of(v)) for t, v in points]
    draw.line(line, fill=LINE, width=3, joint="curve")
    for x, y in line if len(line) <= 60 else []:
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=LINE)
    if e.onset is not None:
        x = x_of(e.onset)
        for y in range(top, bottom, 10):
            draw.line([x, y, x, min(y + 5, bottom)], fill=ONSET, width=2)
        draw.text((x + 5, top + 22), "onset", fill=ONSET, font=_font(13))
    for rank, candidate in enumerate(e.candidates[:SHOWN_COMMITS], start=1):
        when = candidate.change.when
        if t0 <= when <= t1:
            x = x_of(when)
            draw.polygon([(x, bottom - 16), (x - 8, bottom - 2), (x + 8, bottom - 2)], fill=COMMIT)
            draw.text((x, bottom - 26), str(rank), fill=COMMIT, font=_font(13), anchor="mm")
    draw.rectangle([left, top, right, bottom], outline=(173, 181, 189))
    return _png(image)


def _x_labels(draw: ImageDraw.ImageDraw, t0: dt.datetime, t1: dt.datetime, x_of, bottom: float,
              grain: str | None) -> None:
    days = max(1, round((t1 - t0) / dt.timedelta(days=1)))
    every = 1 if days <= 16 else 2 if days <= 32 else 7
    moment = t0
    while moment <= t1:
        x = x_of(moment)
        draw.line([x, bottom, x, bottom + 4], fill=INK)
        draw.text((x, bottom + 8), f"{moment:%b %-d}", fill=INK, font=_font(12), anchor="ma")
        if grain == "hour" and days <= 3:
            for hour in (6, 12, 18):
                tick = moment + dt.timedelta(hours=hour)
                if tick < t1:
                    draw.text((x_of(tick), bottom + 8), f"{hour:02d}h", fill=(108, 117, 125), font=_font(11),
                              anchor="ma")
        moment += dt.timedelta(days=every)


def contributions_chart(e: Explanation, limit: int = 5) -> bytes | None:
    """PNG of the top segments' contributions to the change; None when there are none to show."""
    causes = e.localization.causes[:limit]
    if not causes:
        return None
    row, width = 40, 960
    height = 70 + row * len(causes)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 14), f"What drove the change in {e.metric.name} (share of the change)", fill=INK, font=_font(17))
    label_width = 380
    zero, span = label_width + (width - label_width - 40) / 2, (width - label_width - 60) / 2
    biggest = max(abs(c.share) for c in causes) or 1
    draw.line([zero, 50, zero, height - 12], fill=(173, 181, 189))
    for i, cause in enumerate(causes):
        y = 56 + i * row
        name = str(cause.segment) + (" (mix)" if cause.kind == "mix" else "")
        draw.text((20, y + 12), name[:46], fill=INK, font=_font(14), anchor="lm")
        length = span * abs(cause.share) / biggest
        signed_change = cause.change
        color = DOWN if signed_change < 0 else UP
        x0, x1 = (zero - length, zero) if cause.share < 0 else (zero, zero + length)
        draw.rectangle([x0, y + 2, x1, y + row - 14], fill=color)
        text = f"{cause.share * 100:.0f}%".replace("-", "−")
        draw.text((x1 + 6 if cause.share >= 0 else x0 - 6, y + 12), text, fill=INK, font=_font(13),
                  anchor="lm" if cause.share >= 0 else "rm")
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
