#!/usr/bin/env python3
"""Draw the paced-flood benchmark's CSV as an SVG: genuine frames kept
against the forged flood's rate, one line per binary and receiver (member,
non-member; before, after).

    python3 scripts/plot-flood.py flood.csv docs/flood.svg

The CSV is what `go run ./bench/e2e -csv FILE` (make bench-e2e) writes for
its table 4. Only the Python standard library is used; the same CSV always
gives the same SVG.
"""

import csv
import math
import sys
from xml.sax.saxutils import escape

W, H = 720, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 210, 40, 60
X_TICKS = [1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000]

# (binary, mode) -> colour and dash; after solid, before dashed.
STYLES = {
    ("after", "member"): ("#1b7837", ""),
    ("after", "non-member"): ("#2166ac", ""),
    ("before", "non-member"): ("#b2182b", "6,4"),
    ("before", "member"): ("#e08214", "6,4"),
}


def kilo(v):
    return f"{v // 1000}k" if v >= 1000 else str(v)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: plot-flood.py FLOOD.csv OUT.svg\n")
        return 2
    with open(argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.stderr.write(f"plot-flood: {argv[1]}: no rows\n")
        return 1

    series = {}
    for r in rows:
        rate = float(r["flood_rate"])
        if rate <= 0:
            continue
        key = (r["binary"], r["mode"])
        series.setdefault(key, []).append((rate, 100 * float(r["genuine_delivered_fraction"]), r["target_rate"] == "0"))
    for pts in series.values():
        pts.sort()

    rates = [p[0] for pts in series.values() for p in pts]
    lo = max(t for t in X_TICKS if t <= min(rates)) if min(rates) >= X_TICKS[0] else min(rates)
    hi = min(t for t in X_TICKS if t >= max(rates)) if max(rates) <= X_TICKS[-1] else max(rates)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(v):
        return LEFT + pw * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    def y(pct):
        return TOP + ph * (1 - pct / 100)

    out = []
    add = out.append
    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="sans-serif" font-size="12">')
    add(f'<rect width="{W}" height="{H}" fill="white"/>')
    add(f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">'
        'Genuine frames kept under a forged flood (bad signatures, trusted kid)</text>')
    # Grid and axes.
    for pct in range(0, 101, 10):
        add(f'<line x1="{LEFT}" y1="{y(pct):.1f}" x2="{LEFT + pw}" y2="{y(pct):.1f}" stroke="#e0e0e0"/>')
        add(f'<text x="{LEFT - 6}" y="{y(pct) + 4:.1f}" text-anchor="end">{pct}%</text>')
    for t in X_TICKS:
        if lo <= t <= hi:
            add(f'<line x1="{x(t):.1f}" y1="{TOP}" x2="{x(t):.1f}" y2="{TOP + ph}" stroke="#e0e0e0"/>')
            add(f'<text x="{x(t):.1f}" y="{TOP + ph + 16}" text-anchor="middle">{kilo(t)}</text>')
    add(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#404040"/>')
    add(f'<text x="{LEFT + pw / 2}" y="{H - 18}" text-anchor="middle">'
        'forged datagrams sent per second (log scale)</text>')
    add(f'<text transform="translate(18,{TOP + ph / 2}) rotate(-90)" text-anchor="middle">'
        'genuine frames delivered</text>')
    # The member targets of issue 13.
    for pct in (99, 90):
        add(f'<line x1="{LEFT}" y1="{y(pct):.1f}" x2="{LEFT + pw}" y2="{y(pct):.1f}" stroke="#1b7837" '
            'stroke-dasharray="2,3" stroke-width="1"/>')
    # One line per binary and receiver.
    legend = []
    for key in sorted(series, key=lambda k: (k[0] != "after", k[1])):
        colour, dash = STYLES.get(key, ("#606060", "2,2"))
        pts = series[key]
        path = " ".join(f"{x(r):.1f},{y(p):.1f}" for r, p, _ in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        add(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        for r, p, fastest in pts:
            shape = (f'<rect x="{x(r) - 4:.1f}" y="{y(p) - 4:.1f}" width="8" height="8" fill="{colour}"/>' if fastest
                     else f'<circle cx="{x(r):.1f}" cy="{y(p):.1f}" r="3.5" fill="{colour}"/>')
            add(shape)
        legend.append((f"{key[0]}, {key[1]}", colour, dash))
    if not any(k[1] == "member" for k in series):
        legend.append(("member: not measured", "#b0b0b0", "1,3"))
    legend.append(("targets (99%, 90%)", "#1b7837", "2,3"))
    lx = LEFT + pw + 16
    for i, (label, colour, dash) in enumerate(legend):
        ly = TOP + 14 + 20 * i
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        add(f'<line x1="{lx}" y1="{ly}" x2="{lx + 28}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        add(f'<text x="{lx + 34}" y="{ly + 4}">{escape(label)}</text>')
    ly = TOP + 14 + 20 * len(legend) + 10
    add(f'<rect x="{lx + 10}" y="{ly - 4}" width="8" height="8" fill="#404040"/>')
    add(f'<text x="{lx + 34}" y="{ly + 4}">flooder at full speed</text>')
    add("</svg>")
    with open(argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
