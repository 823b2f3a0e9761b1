"""Chart geometry for the report's inline SVG (numbers only; the template escapes every label)."""

from __future__ import annotations

from typing import Any

CHAR_W = 7  # px per character of 12 px system-ui text, rounded up: room for labels without measuring them


def label_room(labels: list[str], least: int) -> int:
    """Width in px that fits the longest label (plus a margin), and at least `least`."""
    return max(least, 16 + CHAR_W * max((len(x) for x in labels), default=0))


def heat_colour(rate: float | None) -> str:
    """White (0%) to deep red (100%); grey when nothing was scored."""
    if rate is None:
        return "#e5e7eb"
    g = int(round(245 - 190 * rate))
    return f"rgb(250,{g},{g})"


def heatmap(data: dict[str, Any], cell_w: int = 96, cell_h: int = 30, top: int = 60) -> dict:
    """Category x attack family grid of attack success over scored attempts; label room sized to the labels."""
    cats = sorted({k.split("|", 1)[0] for k in data["heat"]})
    fams = sorted({k.split("|", 1)[1] for k in data["heat"]})
    left = label_room(cats, 120)
    cell_w = label_room(fams, cell_w)
    cells = []
    for i, c in enumerate(cats):
        for j, f in enumerate(fams):
            cell = data["heat"].get(f"{c}|{f}")
            asr = cell["asr"] if cell else None
            label = (
                "-" if not cell or not cell["n"] else f"{100 * asr:.0f}% ({cell['successes']}/{cell['n']})"
            )
            cells.append(
                {
                    "x": left + j * cell_w,
                    "y": top + i * cell_h,
                    "fill": heat_colour(asr),
                    "label": label,
                    "dark": asr is not None and asr > 0.55,
                    "title": f"{c} x {f}: {label}",
                }
            )
    return {
        "width": left + max(1, len(fams)) * cell_w + 10,
        "height": top + max(1, len(cats)) * cell_h + 10,
        "rows": [{"y": top + i * cell_h, "label": c} for i, c in enumerate(cats)],
        "cols": [{"x": left + j * cell_w, "label": f} for j, f in enumerate(fams)],
        "cells": cells,
        "w": cell_w,
        "h": cell_h,
        "left": left,
        "top": top,
    }


def bars(data: dict[str, Any], width: int = 420, row_h: int = 26) -> dict:
    """Per-category failure rate bars with 95% Wilson whiskers; the label column is sized to the labels."""
    shown = [b for b in data["bars"] if b["n"]]
    labels = [f"{c['group']} ({c['metric'].replace('_', ' ')})" for c in shown]
    left = label_room(labels, 120)
    rows = []
    for i, (c, label) in enumerate(zip(shown, labels, strict=True)):
        y = 20 + i * row_h
        rows.append(
            {
                "y": y,
                "label": label,
                "w": width * c["asr"],
                "lo": left + width * c["asr_low"],
                "hi": left + width * c["asr_high"],
                "text": f"{100 * c['asr']:.1f}% [{100 * c['asr_low']:.1f}, {100 * c['asr_high']:.1f}] "
                f"n={c['n']}",
            }
        )
    ticks = [{"x": left + width * t / 4, "label": f"{25 * t}%"} for t in range(5)]
    return {
        "rows": rows,
        "left": left,
        "width": width,
        "total_w": left + width + 230,
        "height": 40 + max(1, len(rows)) * row_h,
        "ticks": ticks,
        "bar_h": row_h - 10,
    }


def scatter(data: dict[str, Any], size: int = 300, pad: int = 50) -> dict:
    """Attack success (y) against over-refusal (x) for this run and compared runs, with intervals."""

    def sx(v: float) -> float:
        return pad + size * v

    def sy(v: float) -> float:
        return pad + size * (1 - v)

    points = []
    for p in data["tradeoff"]:
        a, o = p["asr"], p["over_refusal"]
        if a["rate"] is None or o["rate"] is None:
            points.append({"missing": True, "label": p["label"], "run_id": p["run_id"]})
            continue
        points.append(
            {
                "missing": False,
                "current": p["current"],
                "label": p["label"],
                "run_id": p["run_id"],
                "x": sx(o["rate"]),
                "y": sy(a["rate"]),
                "x_lo": sx(o["low"]),
                "x_hi": sx(o["high"]),
                "y_lo": sy(a["low"]),
                "y_hi": sy(a["high"]),
                "text": f"{p['run_id']}: attack success {100 * a['rate']:.1f}% (n={a['n']}), "
                f"over-refusal {100 * o['rate']:.1f}% (n={o['n']})",
            }
        )
    ticks = [{"v": f"{25 * t}%", "x": sx(t / 4), "y": sy(t / 4)} for t in range(5)]
    return {"size": size, "pad": pad, "total": size + 2 * pad, "points": points, "ticks": ticks}
