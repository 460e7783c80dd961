"""Render a run's graph (the report's network picture) to a PNG with headless Chromium.

    python scripts/render_graph_png.py outputs docs/graph.png
Used for the README's Gephi section; needs Debian's chromium.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline.explore import load
from pipeline.report import network_svg


def main() -> None:
    output, png = Path(sys.argv[1]), Path(sys.argv[2]).resolve()
    svg = network_svg(load(output).graph, max_nodes=60, width=1000, height=680)
    page = f"""<!DOCTYPE html><html lang="fa" dir="rtl"><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #fff; font-family: "Noto Naskh Arabic", sans-serif; }}
svg .label {{ font-size: 12px; fill: #111; paint-order: stroke; stroke: #fff; stroke-width: 3px; }}
</style></head><body>{svg}</body></html>"""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "graph.html"
        html.write_text(page, encoding="utf-8")
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={tmp}/profile", "--window-size=1000,680", f"--screenshot={png}", html.as_uri()],
            check=True, capture_output=True,
        )
    print(png)


if __name__ == "__main__":
    main()
