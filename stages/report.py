"""Stage `report`: one self-contained listening page (plots/report.html) and a Markdown summary
comparing the effects params.yaml names, assembled from their sections (data/report/<fx>/); and a
blind ABX test of each effect's target against its prediction (plots/listen.html) with its key
(data/listen_key.json), built from the same sections' clips."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from drywet import listen
from drywet.fileio import write_json, write_text
from drywet.params import ReportParams, load_effects
from drywet.params import load_section as load_params
from drywet.report import ListenTrial, load_section, render_listen, render_report, write_report
from drywet.tables import to_markdown
from stages.common import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sections", required=True, help="folder holding one section folder per effect")
    ap.add_argument("--html", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--listen", required=True, help="the blind ABX page to write")
    ap.add_argument("--key", required=True, help="its key (JSON), for `python -m drywet listen-score`")
    args = ap.parse_args()
    trials_per_effect = load_params(ReportParams).abx_trials
    sections, rows = [], []
    for fx in load_effects():  # params.yaml's order; a section left from a removed effect is ignored
        section, extra = load_section(Path(args.sections) / fx)
        sections.append(section)
        rows.append(dict(map(tuple, extra["row"])))
    table = pd.DataFrame(rows)
    trials = [t for s in sections for t in listen.build_trials(
        s.name, listen.pairs_from_clips(s.clips, str(Path(args.sections) / s.name)), trials_per_effect)]
    key = listen.key(trials)
    intro = ("Sources: " + "; ".join(f"{r['effect']}: {r['source']}" for r in rows) + ". The virtual bench's "
             "stand-in pedals are physically motivated models, not recordings of real pedals. Verdicts use "
             "Neural Amp Modeler's bands for the test ESR; the ESR floor is what the recording's noise allows.")
    write_report(args.html, render_report("drywet listening report", sections,
                                          [("Effects compared", table)], intro))
    write_text(args.markdown, "# drywet run summary\n\n" + intro + "\n\n" + to_markdown(table))
    write_json(args.key, key)
    write_report(args.listen, render_listen("drywet blind listening test (ABX)", [
        ListenTrial(t.effect, t.number, t.where, t.a, t.b, t.x, t.sample_rate) for t in trials], key["page"]))
    print(to_markdown(table), flush=True)
    print(f"listening test: {len(trials)} trials, page {key['page']}", flush=True)


if __name__ == "__main__":
    run(main)
