"""`python -m drywet ...`: the arguments of every command, and `main`, which hands them to the
command's module (`drywet.app.<command>.run`); a command's module is imported only when it runs, so
`process` and `check` never load TensorFlow."""

from __future__ import annotations

import argparse
import importlib
import os

from drywet.config import GEAR_TYPES, TONE_TYPES
from drywet.errors import run_main

COMMANDS = {"process": "process", "export": "export", "check": "check", "capture": "capture",
            "listen-score": "listen_score"}  # command -> its module in drywet.app

_DESCRIPTION = """\
Use a model trained by the drywet pipeline.

  process     run the model over a dry WAV and write the wet WAV (float, at the input's rate)
  export      write a sequence model as a plugin's model file: --format nam (Neural Amp Modeler),
              aidax (RTNeural / AIDA-X JSON) or proteus (GuitarML Proteus / NeuralPi JSON)
  check       say whether a dry/wet WAV pair is fit to train on (seconds; no training)
  capture     a dry/wet WAV pair to plugin files in one command: check, copy under data/recordings/,
              name the effect in params.yaml, train it as a DVC experiment, export, summarise
  listen-score  score the answers saved from the blind ABX page (plots/listen.html)

MODEL is a .keras file with its metadata (model.json) beside it, or a folder holding both
(e.g. models/sd1).
"""


def _recording_pair(p: argparse.ArgumentParser) -> None:
    """DRY.wav, WET.wav and --channel: the arguments of the commands that take a recording pair."""
    p.add_argument("dry", metavar="DRY.wav", help="dry recording: the DI signal that went into the gear (mono, or "
                                                 "pick one channel with --channel)")
    p.add_argument("wet", metavar="WET.wav", help="wet recording of the same take: the gear's output")
    p.add_argument("--channel", type=int, default=None, metavar="N", help="use channel N (0-based) of both files")


def build_parser() -> argparse.ArgumentParser:
    """Every command's arguments (the commands themselves are the other modules of drywet.app)."""
    parser = argparse.ArgumentParser(prog="python -m drywet", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("process", help="process a dry WAV with a trained model",
                       description="Run a trained model over a dry WAV and write the wet WAV as float "
                                   "samples at the input's sample rate.")
    p.add_argument("model", metavar="MODEL", help="model .keras file, or a folder holding model.keras")
    p.add_argument("input", metavar="IN.wav", help="dry input WAV (mono, or pick one with --channel)")
    p.add_argument("output", metavar="OUT.wav", help="wet output WAV to write")
    p.add_argument("--channel", type=int, default=None, metavar="N",
                   help="use channel N (0-based) of a multi-channel input")
    p.add_argument("--resample", action="store_true",
                   help="if the input's sample rate differs from the model's, resample to the model's "
                        "rate, process, and resample back (otherwise that is an error)")
    p.add_argument("--batch-size", type=int, default=8192, metavar="N",
                   help="frames per prediction batch for framed models (default: 8192)")
    p.add_argument("--knob", action="append", default=[], metavar="NAME=VALUE",
                   help="a knob model's setting (0 to 1), once per knob")
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")

    e = sub.add_parser("export", help="export a sequence model to a plugin's model file",
                       description="Write a sequence model (stacked LSTM + Dense) as a plugin's model "
                                   "file. Framed models cannot be exported; each format's other "
                                   "limits are refused with the setting to train with.")
    e.add_argument("--format", required=True, metavar="FORMAT",
                   help="nam: Neural Amp Modeler; aidax: RTNeural / AIDA-X JSON; "
                        "proteus: GuitarML Proteus JSON (40 units); neuralpi: the same for NeuralPi "
                        "(20 units); another name is refused with the list of valid ones. Narrower "
                        "models are padded to the plugin's width (same output)")
    e.add_argument("model", metavar="MODEL", help="model .keras file, or a folder holding model.keras")
    e.add_argument("output", metavar="OUT", help="file to write (.nam, .json or .aidax)")
    e.add_argument("--name", default=None, help="display name (default: the gear's name in params.yaml, else "
                                               "drywet <effect> <structure>)")
    e.add_argument("--metrics", default=None, metavar="FILE",
                   help="the evaluate stage's metrics JSON, for the file's test ESR (default: "
                        "metrics/<effect>.json when it exists); gear and latency come from params.yaml and "
                        "metrics/align/<effect>.json when they exist, as in the export stage's files")
    e.add_argument("--tone-type", default=None,
                   choices=TONE_TYPES,
                   help="how the model sounds, for NAM players' browsers (nam only)")
    c = sub.add_parser("check", help="say whether a dry/wet WAV pair is fit to train on",
                       description="Measure a dry/wet recording pair (latency, polarity, alignment clarity, "
                                   "DC, clipping, levels, noise floor, repeatability) and say whether it is fit "
                                   "to train on. Exit status 0: OK to train; 1: not OK (the report says why); "
                                   "2: unusable input.")
    _recording_pair(c)
    c.add_argument("--max-latency-ms", type=float, default=None, metavar="MS",
                   help="latency search range, both directions (default: params.yaml's align.max_latency_ms "
                        "where the command runs in a drywet repository, else 50); the rest of the align "
                        "section applies too, as a capture runs it")
    c.add_argument("--json", action="store_true", help="print the report as JSON (keys sorted)")
    k = sub.add_parser("capture", help="train a playable model of your pedal or amp from two WAVs",
                       description="Check a dry/wet pair, copy it to data/recordings/NAME/ (tracked with dvc "
                                   "add), name the effect NAME in params.yaml with the playable recipe (a 1x32 "
                                   "sequence LSTM fed the dry as a plugin feeds it), run only that effect up to "
                                   "its plugin files as a DVC experiment (dvc exp run export@NAME), and print "
                                   "the verdict, the files and which plugin loads each.")
    k.add_argument("name", metavar="NAME", help="effect name: letters, digits, _ and - (a folder and a stage key)")
    _recording_pair(k)
    k.add_argument("--epochs", type=int, default=None, metavar="N",
                   help="training epochs (default: as many as fit about 5 minutes of training here)")
    k.add_argument("--model", default=None, metavar="KIND/STRUCTURE",
                   help="train this model, no trials (e.g. wavenet/standard, sequence/l1_u64_f32); default: the "
                        "best of short trials of LSTMs and WaveNets on your recording")
    k.add_argument("--minutes", type=float, default=None, metavar="M",
                   help="the whole command's time budget the trials size the training to (default: 10)")
    k.add_argument("--trial-seconds", type=float, default=None, metavar="S",
                   help="each trial's training time (default: 40)")
    k.add_argument("--no-check", action="store_true", help="train even when `check` finds the pair unfit")
    k.add_argument("--no-run", action="store_true",
                   help="only place the recordings and name the effect; print the command that trains it")
    k.add_argument("--replace", action="store_true",
                   help="replace the recordings an earlier capture of NAME placed (they differ from DRY/WET)")
    k.add_argument("--keep-polarity", action="store_true",
                   help="train on the wet as recorded when the gear inverts the signal, so the model inverts "
                        "too (for blending it with the dry or the pedal in parallel); default: in phase with "
                        "the dry")
    k.add_argument("--name", dest="display_name", default=None, metavar="TEXT",
                   help="the model's name in the plugins (default: drywet NAME STRUCTURE)")
    k.add_argument("--author", "--modeled-by", dest="modeled_by", default=None, metavar="TEXT",
                   help="who captured it, for the plugin files (NAM's modeled_by, AIDA-X's author)")
    for opt, kw in (("--gear-type", {"choices": GEAR_TYPES}), ("--gear-make", {}), ("--gear-model", {}),
                    ("--tone-type", {"choices": TONE_TYPES}), ("--input-level-dbu", {"type": float}),
                    ("--output-level-dbu", {"type": float})):
        k.add_argument(opt, default=None, help="plugin-file metadata (gear.NAME in params.yaml)", **kw)
    s = sub.add_parser("listen-score", help="score the answers saved from the blind ABX page (plots/listen.html)",
                       description="Check the answers saved from plots/listen.html against the key the report "
                                   "stage kept beside it and write, per effect and overall, the trials answered, "
                                   "the correct ones and the one-sided binomial p-value of doing as well by "
                                   "guessing.")
    s.add_argument("answers", metavar="ANSWERS.json", help="the file the page's Save answers downloaded")
    s.add_argument("--key", default="data/listen_key.json",
                   help="the page's key (default: %(default)s, plots/listen.html's; an effect's own page "
                        "plots/<fx>-listen.html: data/listen_keys/<fx>.json)")
    s.add_argument("--out", default="metrics/listening.json", help="scores to write (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv`, run the command; a DrywetError prints one `error:` line and returns 2
    (SIGINT/SIGTERM: 128 + the signal number)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet
    args = build_parser().parse_args(argv)
    return run_main(lambda: importlib.import_module(f"drywet.app.{COMMANDS[args.command]}").run(args))
