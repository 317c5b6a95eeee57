"""`python -m drywet capture NAME DRY.wav WET.wav`: a player's two recordings to plugin files in one command.

The pair is checked (`drywet.check`), copied under `data/recordings/NAME/`, tracked with `dvc add`,
and named in params.yaml as an effect with the playable recipe (drywet.trials: `CAPTURE_MODEL` and
`capture_recipe`, or the trials' choice; `drywet.check.CAPTURE_ALIGN`) as that effect's own
overrides, so the repository's default (the framed study) stays as it is. Then only that effect
runs, as a DVC experiment (`dvc exp run export@NAME section@NAME`: its plugin files and its own
report and ABX pages), and the command ends with a short summary read from the effect's metrics and
`exports/NAME/exports.json`.
"""

from __future__ import annotations

import filecmp
import math
import os
import shutil
from pathlib import Path

from drywet import audio
from drywet.capture import verdict
from drywet.check import CAPTURE_ALIGN, capture_align
from drywet.config import (
    EFFECT_NAME,
    AlignParams,
    GearParams,
    SplitParams,
    TrainSequenceParams,
    load_effects,
    load_section,
    parse,
    write_entries,
)
from drywet.dvcrun import run_dvc
from drywet.errors import ConfigError, InputError
from drywet.meta import ModelMeta
from drywet.pipeline.contracts import AlignFile, ExportsSummary, QualityMetrics
from drywet.trials import (
    CANDIDATES,
    CAPTURE_MINUTES,
    CAPTURE_MODEL,
    OVERHEAD_S,
    TRIAL_SECONDS,
    Candidate,
    capture_recipe,
    choose,
    full_recipe,
    next_bigger,
    plugins_for,
)

RECORDINGS = Path("data/recordings")
PARAMS = Path("params.yaml")
WEAK_VERDICTS = ("might sound ok", "probably won't sound great", "something seems to have gone wrong")


def gear_entry(options: dict) -> dict:
    """The `gear.NAME` entry from the command's options (unset ones left out; `date` today unless
    given), checked."""
    import datetime as dt

    entry = {k: v for k, v in options.items() if v is not None}
    entry.setdefault("date", dt.date.today().isoformat())  # in params.yaml, so the files stay reproducible
    parse(GearParams, entry, "gear")  # a bad value stops here, before anything is written
    return entry


def _same_file(src: Path, dst: Path) -> bool:
    return dst.resolve() == src.resolve() or filecmp.cmp(src, dst, shallow=False)


def _how_they_differ(old: Path, new: Path) -> str:
    """What differs between two WAV files, in a player's words (length, rate, channels, or where the
    samples part)."""
    import numpy as np

    try:
        a, b = audio.info(old), audio.info(new)
        if (a.sample_rate, a.channels) != (b.sample_rate, b.channels):
            return f"{a.sample_rate} Hz x {a.channels} channels, {new.name} {b.sample_rate} Hz x {b.channels}"
        if a.frames != b.frames:
            return f"it lasts {a.frames / a.sample_rate:.2f} s, {new.name} {b.frames / b.sample_rate:.2f} s"
        x, y = audio.read_channels(old)[0], audio.read_channels(new)[0]
    except InputError:
        return "the files differ"
    diff = np.flatnonzero(np.any(x != y, axis=1))
    return (f"the same length, but the samples differ from {diff[0] / a.sample_rate:.2f} s on" if diff.size
            else "the same samples, stored differently")


def changed_recordings(name: str, dry: Path, wet: Path, root: Path = Path(".")) -> str | None:
    """The one-line refusal to capture NAME again from recordings other than those an earlier capture
    placed in data/recordings/NAME (naming the file and how it differs), or None when they are the
    same or none are there."""
    folder = root / RECORDINGS / name
    for src, dst in ((dry, folder / "dry.wav"), (wet, folder / "wet.wav")):
        if dst.exists() and not _same_file(src, dst):
            return (f"{dst}: an earlier capture of {name} holds another recording ({_how_they_differ(dst, src)}); "
                    f"pass --replace to replace it, or capture under another NAME")
    return None


def place_recordings(name: str, dry: Path, wet: Path, root: Path = Path(".")) -> Path:
    """Copy DRY and WET to data/recordings/NAME/{dry,wet}.wav (unless they are those files);
    returns the folder."""
    folder = root / RECORDINGS / name
    folder.mkdir(parents=True, exist_ok=True)
    for src, dst in ((dry, folder / "dry.wav"), (wet, folder / "wet.wav")):
        if dst.exists() and _same_file(src, dst):
            continue
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    return folder


def _train_samples(dry_path: Path, test_fraction: float, val_fraction: float) -> int:
    frames = audio.info(dry_path).frames
    return int(frames * (1.0 - test_fraction) * (1.0 - val_fraction))


def prepare(name: str, dry: Path, wet: Path, *, channel: int | None, epochs: int | None, gear: dict,
            model: Candidate | None = None, train_recipe: dict | None = None, keep_polarity: bool = False,
            root: Path = Path(".")) -> dict:
    """Put the recordings in place and name the effect in params.yaml with `model` (default: the 1x32
    LSTM) and its `train_recipe` (default: `capture_recipe`); returns its effects entry. The edited
    file is checked before it replaces params.yaml, so a bad entry leaves it as it was."""
    model = model or Candidate(CAPTURE_MODEL["kind"], CAPTURE_MODEL["structure"])
    folder = place_recordings(name, dry, wet, root)
    split = load_section(SplitParams, root / PARAMS)
    train = dict(train_recipe) if train_recipe is not None else capture_recipe(
        _train_samples(folder / "dry.wav", split.test_fraction, split.val_fraction), model.kind)
    if epochs is not None:
        train["epochs"] = epochs
        train["max_segments"] = None
    entry = {"source": str(RECORDINGS / name), "channel": channel,
             "model": dict(CAPTURE_MODEL, kind=model.kind, structure=model.structure),
             "align": {**CAPTURE_ALIGN, **({"keep_polarity": True} if keep_polarity else {})},
             "train_sequence": train}
    raw = write_entries(root / PARAMS, [("effects", name, entry)] + ([("gear", name, gear)] if gear else []))
    return raw["effects"][name]


def log_path(name: str, root: Path = Path(".")) -> Path:
    """Where the capture keeps DVC's own messages (its warnings never reach the player's terminal)."""
    return root / ".dvc" / "tmp" / f"capture-{name}.log"


def track(name: str, root: Path = Path(".")) -> None:
    """`dvc add data/recordings/NAME` (the .dvc file is staged in git by DVC's autostage)."""
    if run_dvc(["add", str(RECORDINGS / name)], root, log=log_path(name, root)).returncode != 0:
        raise InputError(f"{RECORDINGS / name}: dvc add failed (see the message above)")


def targets(name: str) -> list[str]:
    """The stages a capture runs: the effect's own, up to its plugin files and its pages."""
    return [f"export@{name}", f"section@{name}"]


def run_experiment(name: str, root: Path = Path(".")) -> None:
    """Run only this effect's stages, up to its plugin files and pages, as a DVC experiment."""
    command = f"dvc exp run {' '.join(targets(name))}"
    print(f"capture {name}: {command}", flush=True)
    if run_dvc(["exp", "run", *targets(name)], root, log=log_path(name, root)).returncode != 0:
        raise InputError(f"capture {name}: the pipeline stopped (its error is above; DVC's full output is in "
                         f"{log_path(name, root)}); fix it and rerun the same command, or `{command}`")


def summary(name: str, root: Path = Path(".")) -> str:
    """The closing block: verdict, ESR and ESR floor, latency, the files written and which plugins
    load them, and one next command when the verdict is weak."""
    metrics = QualityMetrics.load(root / "metrics" / f"{name}.json")
    align = AlignFile.load(root / "metrics" / "align" / f"{name}.json").takes["."]
    keep = load_section(AlignParams, root / PARAMS, effect=name).keep_polarity
    folder = root / "exports" / name
    exports = ExportsSummary.load(folder) if (folder / "exports.json").is_file() else None
    esr = metrics.esr
    words = verdict(esr)
    floor = align.esr_floor  # the whole take's, as `check` reports it
    out = [f"capture {name}: {words} (test ESR {esr:.4g}"
           + (f"; best ESR a model can reach: {floor:.2g}" if floor is not None and math.isfinite(floor) else "")
           + ")",
           f"  latency {align.latency_samples} samples, "
           f"{metrics.values.get('rtf_1thread', float('nan')):.0f}x real time on one thread",
           "  polarity: " + polarity_words(align.polarity, keep)]
    for fmt, info in sorted((exports.formats if exports else {}).items()):
        loads = ", ".join(info.get("plugins", [])) or "no released plugin"
        plugin_esr = info.get("plugin_esr")
        esr_txt = f"; the model alone plays at ESR {plugin_esr:.4g}" if isinstance(plugin_esr, (int, float)) else ""
        out.append(f"  exports/{name}/{info.get('file', fmt)}: loads in {loads}{esr_txt}")
        for plugin, heard in sorted((info.get("played") or {}).items()):
            match = f"; to hear the model alone: {heard['to_match']}" if heard.get("to_match") else ""
            out.append(f"    in {plugin} as it starts (default settings): ESR {heard['esr']:.4g}{match}")
    for fmt, why in sorted((exports.skipped if exports else {}).items()):
        out.append(f"  ({fmt} not written: {why})")
    out.append(f"  listen: python -m drywet process models/{name} your-di.wav {name}-out.wav")
    out.append(f"  report: plots/{name}-report.html (open it in a browser: excerpts, figures, metrics)")
    out.append(f"  blind test: plots/{name}-listen.html; score its saved answers with python -m drywet listen-score "
               f"ANSWERS.json --key data/listen_keys/{name}.json")
    out.append(f"  DVC's own messages: {log_path(name, root).relative_to(root)}")
    meta = ModelMeta.load(root / "models" / name)
    out.insert(1, f"  model: {meta.kind}/{meta.structure}, {meta.params} parameters, {meta.epochs_label}")
    if words in WEAK_VERDICTS:
        bigger = next_bigger(meta.kind, meta.structure)
        if bigger is not None:  # more epochs rarely help a model too small for the gear: a bigger one does
            out.append(f"  next: python -m drywet capture {name} DRY.wav WET.wav --model {bigger.label}"
                       "   (the next bigger model; check the pair first: python -m drywet check DRY.wav WET.wav)")
        else:
            epochs = 2 * int(meta.epochs or 30)
            stages = " ".join(targets(name))
            out.append(f"  next: dvc exp run -S 'effects.{name}.train_sequence.epochs={epochs}' {stages}"
                       "   (a longer training; check the pair first: python -m drywet check DRY.wav WET.wav)")
    return "\n".join(out)


def polarity_words(polarity: int, keep: bool) -> str:
    """How the model's output stands to the gear's, for a player who blends them."""
    if polarity > 0:
        return "the gear keeps the signal's polarity; so does the model"
    if keep:
        return "the gear inverts the signal; so does the model (--keep-polarity)"
    return ("the gear inverts the signal; the model does not (it plays in phase with its input): blended with "
            "the pedal in parallel they cancel; capture with --keep-polarity to invert as the pedal does")


def choose_model(name: str, dry, wet, sr: int, minutes: float, align: AlignParams, root: Path = Path("."),
                 trial_seconds: float = TRIAL_SECONDS) -> tuple[Candidate, dict]:
    """The trials (`drywet.trials`): each candidate trained for TRIAL_SECONDS on this pair, the best
    chosen, and its full training's `train_sequence` overrides sized to what is left of `minutes`."""
    from drywet.trials import run_trial, trial_audio

    params = root / PARAMS
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
            gear: dict | None = None, check: bool = True, run: bool = True, replace: bool = False,
            keep_polarity: bool = False, root: Path = Path(".")) -> int:
    """The whole command; returns the exit status (1: the pair is not fit to train on). `model`
    (`kind/structure`) skips the trials; `minutes` is the budget the trials size the training to,
    `trial_seconds` each trial's time box; `replace` lets other recordings replace those an earlier
    capture of NAME placed; `keep_polarity` trains an inverting gear's model to invert too. Every
    mistake in the arguments is refused before anything is written or trained."""
    if not EFFECT_NAME.fullmatch(name):
        raise ConfigError(f"capture name {name!r}: use letters, digits, '_' and '-' only "
                          "(it becomes a folder and a DVC stage key)")
    if not (root / PARAMS).is_file() or not (root / ".dvc").is_dir():
        raise InputError(f"{root.resolve()}: not a drywet repository (run the command from its root)")
    if epochs is not None and epochs < 1:
        raise InputError(f"--epochs must be at least 1 (got {epochs})")
    if not minutes > 2:
        raise InputError(f"--minutes must be more than 2 (got {minutes:g})")
    if not 0 < trial_seconds <= 600:
        raise InputError(f"--trial-seconds must be within (0, 600] (got {trial_seconds:g})")
    chosen = Candidate.parse(model) if model is not None else None  # a bad --model fails here, at once
    gear = gear_entry(gear or {})
    dry_p, wet_p = Path(dry), Path(wet)
    for p in (dry_p, wet_p):
        if not p.is_file():
            raise InputError(f"{p}: file not found")
    existing = load_effects(root / PARAMS).get(name)
    if existing is not None and Path(existing.source) != RECORDINGS / name:
        raise InputError(f"capture {name}: params.yaml already names an effect {name} recorded from "
                         f"{existing.source!r}; capture under another NAME")
    changed = None if replace else changed_recordings(name, dry_p, wet_p, root)
    if changed is not None:
        raise InputError(changed)
    align = capture_align(root / PARAMS, **({"keep_polarity": True} if keep_polarity else {}))
    from drywet.audio import read_wav

    d, sr = read_wav(dry_p, channel)
    w, sr_w = read_wav(wet_p, channel)
    if check:
        from drywet.check import check_pair, render

        report = check_pair(d, w, sr, align, wet_sr=sr_w, dry_name=str(dry_p), wet_name=str(wet_p))
        print(render(report, str(dry_p), str(wet_p)), flush=True)
        if not report.ok:
            return 1
    train = None
    if chosen is None and run and epochs is None:
        chosen, train = choose_model(name, d, w, sr, minutes, align, root, trial_seconds)
    prepare(name, dry_p, wet_p, channel=channel, epochs=epochs, gear=gear, model=chosen, train_recipe=train,
            keep_polarity=keep_polarity, root=root)
    track(name, root)
    if not run:
        print(f"capture {name}: ready; run it with `dvc exp run {' '.join(targets(name))}`", flush=True)
        return 0
    run_experiment(name, root)
    print(summary(name, root), flush=True)
    return 0


def run(args) -> int:
    """`capture`: the command's options to `capture`."""
    gear = {"gear_type": args.gear_type, "gear_make": args.gear_make, "gear_model": args.gear_model,
            "tone_type": args.tone_type, "modeled_by": args.modeled_by, "name": args.display_name,
            "input_level_dbu": args.input_level_dbu, "output_level_dbu": args.output_level_dbu}
    return capture(args.name, args.dry, args.wet, channel=args.channel, epochs=args.epochs, model=args.model,
                   **({} if args.minutes is None else {"minutes": args.minutes}),
                   **({} if args.trial_seconds is None else {"trial_seconds": args.trial_seconds}), gear=gear,
                   check=not args.no_check, run=not args.no_run, replace=args.replace,
                   keep_polarity=args.keep_polarity)
