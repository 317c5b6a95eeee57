"""Stage `report`: one self-contained listening page (plots/report.html) and a Markdown summary
comparing the effects params.yaml names, assembled from their sections (data/report/<fx>/); and a
blind ABX test of each effect's target against its prediction (plots/listen.html) with its key
(data/listen_key.json), built from the same sections' clips."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from drywet import listen
from drywet.config import EffectParams
from drywet.fileio import write_json, write_text
from drywet.report import ABX_LINK, load_section, relative_link, render_report, sources_intro, write_report
from drywet.tables import to_markdown


def report(effects: Mapping[str, EffectParams], trials_per_effect: int, sections_dir: Path, html: Path,
           markdown: Path, listen_path: Path, key_path: Path) -> None:
    """Write the report page (`html`), its Markdown summary (`markdown`), the ABX page (`listen_path`)
    and its key (`key_path`) from the sections under `sections_dir`, one per effect in `effects`."""
    sections, rows = [], []
    for fx in effects:  # params.yaml's order; a section left from a removed effect is ignored
        sec, extra = load_section(sections_dir / fx)
        sections.append(sec)
        rows.append(dict(map(tuple, extra["row"])))
    table = pd.DataFrame(rows)
    intro = sources_intro([(r["effect"], r["source"], effects[r["effect"]].source == "bench") for r in rows])
    write_report(html, render_report("drywet listening report", sections, [("Effects compared", table)], intro,
                                     pages=[(ABX_LINK, relative_link(listen_path, html))]))
    write_text(markdown, "# drywet run summary\n\n" + intro + "\n\n" + to_markdown(table))
    page, key = listen.page("drywet blind listening test (ABX)", sections, trials_per_effect, str(sections_dir))
    write_json(key_path, key)
    write_report(listen_path, page)
    print(to_markdown(table), flush=True)
    print(f"listening test: {sum(map(len, key['effects'].values()))} trials, page {key['page']}", flush=True)
