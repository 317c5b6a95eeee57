"""`python -m drywet capture NAME DRY.wav WET.wav`: a player's two recordings to plugin files in one command.

The pair is checked (`drywet.check`), copied under `data/recordings/NAME/`, tracked with `dvc add`,
and named in params.yaml as an effect with the playable recipe (`CAPTURE_MODEL`, `CAPTURE_ALIGN`,
`capture_recipe`) as that effect's own overrides, so the repository's default (the framed study)
stays as it is. Then only that effect runs, as a DVC experiment (`dvc exp run export@NAME`), and the
command ends with a short summary read from the effect's metrics and `exports/NAME/exports.json`.
"""

from __future__ import annotations

import dataclasses
import filecmp
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from drywet.capture import verdict
from drywet.errors import ConfigError, InputError
from drywet.fileio import write_text
from drywet.params import (
    EFFECT_NAME,
    AlignParams,
    GearParams,
    SplitParams,
    TrainSequenceParams,
    effects,
    load_section,
    parse,
)
from drywet.params import gear as gear_params
from drywet.trials import CANDIDATES, TRIAL_SECONDS, Candidate, choose, full_recipe, next_bigger, plugins_for

RECORDINGS = Path("data/recordings")
PARAMS = Path("params.yaml")
# The playable model: a kind and structure that plugins load (chosen by `drywet.trials`, or --model),
# fed the dry exactly as a plugin feeds it (not high-passed), so what plays is what was scored.
CAPTURE_MODEL = {"kind": "sequence", "structure": "l1_u32_f32", "skip": False, "oversample": 1}
CAPTURE_ALIGN = {"highpass_dry": False}
CAPTURE_EPOCHS = (8, 60)  # at least, at most
CAPTURE_MINUTES = 10.0  # the whole command's default budget: trials, then the full training
OVERHEAD_S = 90.0  # of it, what is not training: checks, DVC, prediction, evaluation, exports
WEAK_VERDICTS = ("might sound ok", "probably won't sound great", "something seems to have gone wrong")


def capture_recipe(train_samples: int, kind: str = "sequence") -> dict:
    """`train_sequence` overrides for a training part of `train_samples` samples without trials: the
    kind's capture recipe and cosine-decayed epochs that fit its CAPTURE_SAMPLES (within
    CAPTURE_EPOCHS), never stopping early."""
    from drywet.kinds import get_kind
    from drywet.trials import capture_recipe as kind_recipe

    lo, hi = CAPTURE_EPOCHS
    epochs = int(min(hi, max(lo, get_kind(kind).CAPTURE_SAMPLES // max(1, train_samples))))
    return {**kind_recipe(kind), "epochs": epochs, "patience": None, "checkpoints": []}


def _yaml_scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a YAML string


def _yaml_block(name: str, entry: dict, indent: int = 2) -> list[str]:
    """`name:` and its mapping as YAML lines (nested mappings in flow style), `indent` spaces in."""
    pad = " " * indent
    lines = [f"{pad}{name}:"]
    for key, value in entry.items():
        if isinstance(value, dict):
            flow = ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in value.items())
            lines.append(f"{pad}  {key}: {{{flow}}}")
        else:
            lines.append(f"{pad}  {key}: {_yaml_scalar(value)}")
    return lines


def set_section_entry(text: str, section: str, name: str, entry: dict) -> str:
    """params.yaml's text with `section.name` set to `entry` (replacing an entry of that name, else
    appended to the section; the section is added at the end when missing). Comments elsewhere stay."""
    import yaml

    lines = text.splitlines()
    block = _yaml_block(name, entry)
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{re.escape(section)}:(\s|$)", line)), None)
    if start is None:
        lines += ["", f"{section}:", *block]
        return "\n".join(lines) + "\n"
    if not re.match(rf"^{re.escape(section)}:\s*(#.*)?$", lines[start]):  # a flow mapping on one line
        current = yaml.safe_load(lines[start])[section] or {}
        if not isinstance(current, dict):
            raise ConfigError(f"params.yaml: {section} must be a mapping, got {current!r}")
        lines[start:start + 1] = [f"{section}:"] + [ln for key, value in current.items()
                                                    for ln in _yaml_block(str(key), value)]
    end = start + 1  # the section runs to the next line that starts at column 0 (not a comment or blank)
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "#"))):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # leave the blank lines and comments that introduce the next section
    own = next((i for i in range(start + 1, end) if re.match(rf"^  {re.escape(name)}:", lines[i])), None)
    if own is None:
        lines[end:end] = block
    else:
        stop = own + 1
        while stop < end and (not lines[stop].strip() or lines[stop].startswith("    ")):
            stop += 1
        lines[own:stop] = block
    return "\n".join(lines) + "\n"


def gear_entry(options: dict) -> dict:
    """The `gear.NAME` entry from the command's options (unset ones left out; `date` today unless
    given), checked."""
    import datetime as dt

    entry = {k: v for k, v in options.items() if v is not None}
    entry.setdefault("date", dt.date.today().isoformat())  # in params.yaml, so the files stay reproducible
    parse(GearParams, entry, "gear")  # a bad value stops here, before anything is written
    return entry


def place_recordings(name: str, dry: Path, wet: Path, root: Path = Path(".")) -> Path:
    """Copy DRY and WET to data/recordings/NAME/{dry,wet}.wav (unless they are those files);
    returns the folder."""
    folder = root / RECORDINGS / name
    folder.mkdir(parents=True, exist_ok=True)
    for src, dst in ((dry, folder / "dry.wav"), (wet, folder / "wet.wav")):
        if dst.exists() and (dst.resolve() == src.resolve() or filecmp.cmp(src, dst, shallow=False)):
            continue
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    return folder


def _train_samples(dry_path: Path, test_fraction: float, val_fraction: float) -> int:
    import soundfile as sf

    frames = sf.info(str(dry_path)).frames
    return int(frames * (1.0 - test_fraction) * (1.0 - val_fraction))


def prepare(name: str, dry: Path, wet: Path, *, channel: int | None, epochs: int | None, gear: dict,
            model: Candidate | None = None, train_recipe: dict | None = None, root: Path = Path(".")) -> dict:
    """Put the recordings in place and name the effect in params.yaml with `model` (default: the 1x32
    LSTM) and its `train_recipe` (default: `capture_recipe`); returns its effects entry. The edited
    file is checked before it replaces params.yaml, so a bad entry leaves it as it was."""
    import yaml

    model = model or Candidate(CAPTURE_MODEL["kind"], CAPTURE_MODEL["structure"])
    folder = place_recordings(name, dry, wet, root)
    split = load_section(SplitParams, root / PARAMS)
    train = dict(train_recipe) if train_recipe is not None else capture_recipe(
        _train_samples(folder / "dry.wav", split.test_fraction, split.val_fraction), model.kind)
    if epochs is not None:
        train["epochs"] = epochs
        train["max_segments"] = None
    entry = {"source": str(RECORDINGS / name), "channel": channel,
             "model": dict(CAPTURE_MODEL, kind=model.kind, structure=model.structure), "align": CAPTURE_ALIGN,
             "train_sequence": train}
    text = set_section_entry((root / PARAMS).read_text(), "effects", name, entry)
    if gear:
        text = set_section_entry(text, "gear", name, gear)
    raw = yaml.safe_load(text)
    effects(raw.get("effects"))  # the edited file still parses and checks, before it is written
    gear_params(raw.get("gear"), name)
    write_text(root / PARAMS, text)
    return raw["effects"][name]


def _dvc(args: list[str], root: Path) -> int:
    exe = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.call([exe, *args], cwd=root, env=env)


def track(name: str, root: Path = Path(".")) -> None:
    """`dvc add data/recordings/NAME` (the .dvc file is staged in git by DVC's autostage)."""
    if _dvc(["add", str(RECORDINGS / name)], root) != 0:
        raise InputError(f"{RECORDINGS / name}: dvc add failed (see the message above)")


def run_experiment(name: str, root: Path = Path(".")) -> None:
    """Run only this effect's stages, up to its plugin files, as a DVC experiment."""
    print(f"capture {name}: dvc exp run export@{name}", flush=True)
    if _dvc(["exp", "run", f"export@{name}"], root) != 0:
        raise InputError(f"capture {name}: the pipeline stopped (its error is above); fix it and rerun the "
                         f"same command, or `dvc exp run export@{name}`")


def summary(name: str, root: Path = Path(".")) -> str:
    """The closing block: verdict, ESR and ESR floor, latency, the files written and which plugins
    load them, and one next command when the verdict is weak."""
    metrics = json.loads((root / "metrics" / f"{name}.json").read_text())
    align = json.loads((root / "metrics" / "align" / f"{name}.json").read_text())
    exports_path = root / "exports" / name / "exports.json"
    exports = json.loads(exports_path.read_text()) if exports_path.is_file() else {}
    esr = float(metrics["esr"])
    words = verdict(esr)
    floor = metrics.get("esr_floor")
    out = [f"capture {name}: {words} (test ESR {esr:.4g}"
           + (f", noise floor allows {floor:.2g}" if isinstance(floor, (int, float)) and math.isfinite(floor) else "")
           + ")",
           f"  latency {align.get('latency_samples')} samples, polarity {align.get('polarity', 1):+d}, "
           f"{metrics.get('rtf_1thread', float('nan')):.0f}x real time on one thread"]
    formats = exports.get("formats", {}) if isinstance(exports.get("formats"), dict) else {}
    for fmt, info in sorted(formats.items()):
        loads = ", ".join(info.get("plugins", [])) or "no released plugin"
        plugin_esr = info.get("plugin_esr")
        esr_txt = f", plays at ESR {plugin_esr:.4g}" if isinstance(plugin_esr, (int, float)) else ""
        out.append(f"  exports/{name}/{info.get('file', fmt)}: loads in {loads}{esr_txt}")
    for fmt, why in sorted((exports.get("skipped") or {}).items()):
        out.append(f"  ({fmt} not written: {why})")
    out.append(f"  listen: python -m drywet process models/{name} your-di.wav {name}-out.wav")
    meta = json.loads((root / "models" / name / "model.json").read_text())
    out.insert(1, f"  model: {meta.get('kind')}/{meta.get('structure')}, {meta.get('params')} parameters, "
                  f"{meta.get('epochs')} epochs")
    if words in WEAK_VERDICTS:
        bigger = next_bigger(str(meta.get("kind")), str(meta.get("structure")))
        if bigger is not None:  # more epochs rarely help a model too small for the gear: a bigger one does
            out.append(f"  next: python -m drywet capture {name} DRY.wav WET.wav --model {bigger.label}"
                       "   (the next bigger model; check the pair first: python -m drywet check DRY.wav WET.wav)")
        else:
            epochs = 2 * int(meta.get("epochs") or 30)
            out.append(f"  next: dvc exp run -S 'effects.{name}.train_sequence.epochs={epochs}' export@{name}"
                       "   (a longer training; check the pair first: python -m drywet check DRY.wav WET.wav)")
    return "\n".join(out)


def choose_model(name: str, dry, wet, sr: int, minutes: float, root: Path = Path("."),
                 trial_seconds: float = TRIAL_SECONDS) -> tuple[Candidate, dict]:
    """The trials (`drywet.trials`): each candidate trained for TRIAL_SECONDS on this pair, the best
    chosen, and its full training's `train_sequence` overrides sized to what is left of `minutes`."""
    from drywet.trials import run_trial, trial_audio

    params = root / PARAMS
    align = dataclasses.replace(load_section(AlignParams, params), **CAPTURE_ALIGN)
    base = load_section(TrainSequenceParams, params)
    audio = trial_audio(dry, wet, sr, align, load_section(SplitParams, params))
    print(f"capture {name}: trying {len(CANDIDATES)} models for {trial_seconds:g} s each on "
          f"{len(audio.train_dry) / sr:.0f} s of training audio", flush=True)
    trials = []
    for label in CANDIDATES:
        try:
            t = run_trial(Candidate.parse(label), audio, base, trial_seconds)
        except ConfigError as exc:  # e.g. a WaveNet's segment and context longer than a short take's parts
            print(f"  {label:22s} not tried: {exc}", flush=True)
            continue
        trials.append(t)
        print(f"  {label:22s} validation ESR {t.val_esr:.4g}  ({t.samples_per_s / sr:.1f} s of audio trained "
              f"per second)", flush=True)
    best = choose(trials)
    spent = sum(t.seconds for t in trials)
    budget = max(60.0, minutes * 60.0 - spent - OVERHEAD_S)
    train = full_recipe(best, len(audio.train_dry), budget, base)
    print(f"capture {name}: {best.candidate.label} wins (loads in {plugins_for(best.candidate)}); training it "
          f"for about {budget / 60:.1f} min ({train['epochs']} epochs"
          + (f" of {train['max_segments']} segments" if train.get("max_segments") else "") + ")", flush=True)
    return best.candidate, train


def capture(name: str, dry: str, wet: str, *, channel: int | None = None, epochs: int | None = None,
            model: str | None = None, minutes: float = CAPTURE_MINUTES, trial_seconds: float = TRIAL_SECONDS,
            gear: dict | None = None, check: bool = True, run: bool = True, root: Path = Path(".")) -> int:
    """The whole command; returns the exit status (1: the pair is not fit to train on). `model`
    (`kind/structure`) skips the trials; `minutes` is the budget the trials size the training to,
    `trial_seconds` each trial's time box."""
    if not EFFECT_NAME.fullmatch(name):
        raise ConfigError(f"capture name {name!r}: use letters, digits, '_' and '-' only "
                          "(it becomes a folder and a DVC stage key)")
    if not (root / PARAMS).is_file() or not (root / ".dvc").is_dir():
        raise InputError(f"{root.resolve()}: not a drywet repository (run the command from its root)")
    dry_p, wet_p = Path(dry), Path(wet)
    for p in (dry_p, wet_p):
        if not p.is_file():
            raise InputError(f"{p}: file not found")
    if epochs is not None and epochs < 1:
        raise InputError(f"--epochs must be at least 1 (got {epochs})")
    if not minutes > 2:
        raise InputError(f"--minutes must be more than 2 (got {minutes:g})")
    if not 0 < trial_seconds <= 600:
        raise InputError(f"--trial-seconds must be within (0, 600] (got {trial_seconds:g})")
    chosen = Candidate.parse(model) if model is not None else None  # a bad --model fails here, at once
    gear = gear_entry(gear or {})
    from drywet.audio import read_wav

    d, sr = read_wav(dry_p, channel)
    w, sr_w = read_wav(wet_p, channel)
    if check:
        from drywet.check import check_pair, render

        report = check_pair(d, w, sr, wet_sr=sr_w, dry_name=str(dry_p), wet_name=str(wet_p))
        print(render(report, str(dry_p), str(wet_p)), flush=True)
        if not report.ok:
            return 1
    train = None
    if chosen is None and run and epochs is None:
        chosen, train = choose_model(name, d, w, sr, minutes, root, trial_seconds)
    prepare(name, dry_p, wet_p, channel=channel, epochs=epochs, gear=gear, model=chosen, train_recipe=train,
            root=root)
    track(name, root)
    if not run:
        print(f"capture {name}: ready; run it with `dvc exp run export@{name}`", flush=True)
        return 0
    run_experiment(name, root)
    print(summary(name, root), flush=True)
    return 0
