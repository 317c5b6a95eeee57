"""Stage `report`: one self-contained listening page (plots/report.html) and a Markdown summary
comparing the effects params.yaml names, assembled from their sections (data/report/<fx>/)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from drywet.fileio import write_text
from drywet.params import load_effects
from drywet.report import load_section, render_report, write_report
from drywet.tables import to_markdown
from stages.common import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sections", required=True, help="folder holding one section folder per effect")
    ap.add_argument("--html", required=True)
    ap.add_argument("--markdown", required=True)
    args = ap.parse_args()
    sections, rows = [], []
    for fx in load_effects():  # params.yaml's order; a section left from a removed effect is ignored
        section, extra = load_section(Path(args.sections) / fx)
        sections.append(section)
        rows.append(dict(map(tuple, extra["row"])))
    table = pd.DataFrame(rows)
    intro = ("Sources: " + "; ".join(f"{r['effect']}: {r['source']}" for r in rows) + ". The virtual bench's "
             "stand-in pedals are physically motivated models, not recordings of real pedals. Verdicts use "
             "Neural Amp Modeler's bands for the test ESR; the ESR floor is what the recording's noise allows.")
    write_report(args.html, render_report("drywet listening report", sections,
                                          [("Effects compared", table)], intro))
    write_text(args.markdown, "# drywet run summary\n\n" + intro + "\n\n" + to_markdown(table))
    print(to_markdown(table), flush=True)


if __name__ == "__main__":
    run(main)
