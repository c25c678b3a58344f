#!/usr/bin/env python3
"""plot-curve.py - draw the default model's learning curve as an SVG.

    python3 model/plot-curve.py [MODEL.md [OUT.svg]]

Reads the table between the lines `<!-- curve -->` and `<!-- /curve -->` of
model/MODEL.md (columns: step, bytes of windows seen, held-out bits/byte) and
writes model/learning-curve.svg: held-out bits per byte against bytes seen. The
numbers live in MODEL.md only; this script only draws them (no plotting library:
the SVG is written by hand, so the script needs nothing beyond python3).
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "MODEL.md")
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "learning-curve.svg")

pts = []
inside = False
for line in open(src, encoding="utf-8"):
    if line.startswith("<!-- curve -->"):
        inside = True
    elif line.startswith("<!-- /curve -->"):
        inside = False
    elif inside and line.startswith("|"):
        cells = [c.strip().replace(",", "") for c in line.strip().strip("|").split("|")]
        try:
            pts.append((int(cells[1]), float(cells[2])))
        except (ValueError, IndexError):
            pass  # header and separator rows
if len(pts) < 2:
    sys.exit("plot-curve.py: no curve table (<!-- curve --> ... <!-- /curve -->) in " + src)

W, H, L, R, T, B = 640, 400, 70, 20, 30, 50
xmax = max(x for x, _ in pts) * 1.05
ymin, ymax = 2.0, max(y for _, y in pts) + 0.1


def sx(x):
    return L + (W - L - R) * x / xmax


def sy(y):
    return T + (H - T - B) * (ymax - y) / (ymax - ymin)


svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14">mbzip default model: held-out bits/byte (float, 32 windows)</text>']
y = 2.0
while y <= ymax + 1e-9:
    svg.append(f'<line x1="{L}" y1="{sy(y):.1f}" x2="{W - R}" y2="{sy(y):.1f}" stroke="#ddd"/>')
    svg.append(f'<text x="{L - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.1f}</text>')
    y += 0.5
step = 50e6
x = 0.0
while x <= xmax:
    svg.append(f'<line x1="{sx(x):.1f}" y1="{T}" x2="{sx(x):.1f}" y2="{H - B}" stroke="#eee"/>')
    svg.append(f'<text x="{sx(x):.1f}" y="{H - B + 16}" text-anchor="middle">{x / 1e6:.0f}</text>')
    x += step
svg.append(f'<text x="{(L + W - R) / 2}" y="{H - 10}" text-anchor="middle">MB of training windows seen</text>')
svg.append(f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 {(T + H - B) / 2})">bits per byte</text>')
svg.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="black"/>')
path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
svg.append(f'<polyline points="{path}" fill="none" stroke="#1f5fbf" stroke-width="2"/>')
for x, y in pts:
    svg.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="#1f5fbf"/>')
svg.append("</svg>")
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(svg) + "\n")
print(f"plot-curve.py: {len(pts)} points -> {out}")
