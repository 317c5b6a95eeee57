"""Training glue: determinism and threads, checkpoint / logging / best-epoch callbacks, the fit loop
(the kind supplies model, data, optimizer, loss and the name of its LSTM kernel, which
drywet.lstm.kernels maps to the kernel) and its resume state."""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drywet import native
from drywet.fileio import folder_into_place
from drywet.kinds import build_model, get_kind
from drywet.lstm import kernels
from drywet.meta import checkpoint_name
from drywet.models import Structure
from drywet.progress import Progress


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TF and ask TF for deterministic kernels (same seed -> same run)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def configure_threads(kernel: str | None) -> None:
    """Before TensorFlow runs anything: with drywet's CPU kernel ("cpu"), TensorFlow keeps one thread
    for its own small ops (the Dense layer, the loss, Adam); its idle pool threads otherwise spin on
    the cores the kernel's two threads compute on (about 15 % of an epoch). Once TensorFlow runs,
    its threads stay as they are."""
    if kernel != "cpu":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:
        pass


def device_name() -> str:
    """Where Keras trains: "GPU: <name>" when TF sees a CUDA GPU (it places the ops there itself;
    the first GPU when there are several), else "CPU"."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    return f"GPU: {name}" + (f" (1 of {len(gpus)})" if len(gpus) > 1 else "")


@dataclass(frozen=True)
class FitResult:
    """A fitted model and how it went: seconds in fit, epochs run, the epoch whose weights it holds,
    and this run's per-epoch logs (Keras's `History.history`; a resumed run's own epochs only)."""

    model: object
    seconds: float
    epochs_run: int
    best_epoch: int | None  # None: the last epoch's weights (no validation-based choice)
    history: dict = field(default_factory=dict)
    steps: int = 0  # training batches run (this run's)
    step_seconds: float | None = None  # time-limited runs: seconds a batch after the first (graph built)


def _callbacks(live, checkpoint_dir: str | None, checkpoints: tuple[int, ...], log_path: str | None,
               keep_best: bool, patience: int | None, plain=None, progress: bool = False):
    """(callbacks, the best-epoch tracker or None)."""
    import keras

    from drywet.inference import save_keras

    def log_line(text: str) -> None:
        with open(log_path, "a") as fh:
            fh.write(text + "\n")

    class EpochLog(keras.callbacks.Callback):
        """Appends one readable line per epoch to a log file (no times: the log lives in the model
        folder, which DVC hashes; DVCLive's curves carry timestamps)."""

        def on_epoch_end(self, epoch, logs=None):
            items = " ".join(f"{k}={v:.6g}" for k, v in sorted((logs or {}).items()) if k != "learning_rate")
            log_line(f"epoch {epoch + 1:4d}  {items}")

    class LiveLogger(keras.callbacks.Callback):
        """Logs every epoch's metrics to DVCLive: `val_x` as `eval/x`, the rest as `train/x`."""

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                if key == "learning_rate":
                    continue
                name = f"eval/{key[4:]}" if key.startswith("val_") else f"train/{key}"
                live.log_metric(name, float(value))
            live.next_step()

    class Checkpoints(keras.callbacks.Callback):
        """Saves the model after each epoch listed in `checkpoints` (1-based)."""

        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) in checkpoints:
                saved = self.model
                if plain is not None and plain is not self.model:  # a fused twin is saved as its plain model
                    kernels.plain_weights_into(self.model, plain)
                    saved = plain
                save_keras(saved, os.path.join(checkpoint_dir, checkpoint_name(epoch + 1)))

    class EpochProgress(keras.callbacks.Callback):
        """One line per epoch on stdout (drywet.progress): the epoch, its validation ESR, the best so
        far, and the time left at the pace so far."""

        def on_train_begin(self, logs=None):
            self.lines, self.best = Progress(self.params.get("epochs") or 0, lines=True), math.inf

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            total = self.lines.total = self.params.get("epochs") or epoch + 1
            val = logs.get("val_esr")
            text = f"epoch {epoch + 1}/{total}  loss {logs.get('loss', math.nan):.4g}"
            if val is not None:
                self.best = min(self.best, float(val))
                text += f"  val ESR {float(val):.4g} (best {self.best:.4g})"
            self.lines.update(epoch + 1, text)

    cbs = []
    if progress:
        cbs.append(EpochProgress())
    if log_path is not None:
        cbs.append(EpochLog())
    if live is not None:
        cbs.append(LiveLogger())
    if checkpoint_dir is not None:
        os.makedirs(checkpoint_dir, exist_ok=True)
        cbs.append(Checkpoints())
    best = None
    if keep_best:
        best = best_epoch_callback(patience, log_line if log_path is not None else None)
        cbs.append(best)
    return cbs, best


def best_epoch_callback(patience: int | None, log=None):
    """Keras callback: tracks the epoch with the lowest `val_esr` (`.best_epoch`, 1-based), stops
    after `patience` epochs without a new best (None = never) and puts the best epoch's weights
    back when training ends; `log(text)` hears which epoch that was. Its state (`best`,
    `best_epoch`, `best_weights`) is what a resumed training puts back."""
    import keras

    class BestEpoch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.best_epoch, self.best_weights = np.inf, None, None

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_esr")
            if value is None:
                return
            if value < self.best:
                self.best, self.best_epoch = float(value), epoch + 1
                self.best_weights = self.model.get_weights()
            elif patience is not None and epoch + 1 - self.best_epoch >= patience:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is None:
                return
            self.model.set_weights(self.best_weights)
            if log is not None:
                log(f"best epoch {self.best_epoch} (val_esr={self.best:.6g}): its weights are kept")

    return BestEpoch()


def fit(structure: Structure, kind: str, cfg, train_ds, val_ds, steps_per_epoch: int | None = None,
        skip: bool = False, live=None, checkpoint_dir: str | None = None, log_path: str | None = None,
        verbose: int = 2, resume: Resume | None = None, progress: bool = False,
        time_limit_s: float | None = None) -> FitResult:
    """Build, compile and fit a model of `kind` with its recipe `cfg` (the kind's TRAIN_PARAMS:
    TrainParams for framed, TrainSequenceParams for sequence). `steps_per_epoch` as the kind's
    `datasets` gives it. Kinds that keep the best epoch end with its weights.

    With `resume`, the training continues after the epoch its saved state reached (the datasets must
    start there: the kinds' `datasets(..., start_epoch=resume.start_epoch)`) and saves its state
    after every epoch; `seconds` then counts the interrupted runs' time too. With `time_limit_s`, the
    training stops at the first batch that ends after that many seconds (then validates and ends the
    epoch as usual): the capture's time-boxed architecture trials."""
    import keras

    k = get_kind(kind)
    set_determinism(cfg.seed)
    plain = build_model(structure, kind, seed=cfg.seed, skip=skip)
    # The kind's training kernel computes the same math as keras.layers.LSTM; `plain` is what is saved.
    kernel = kernels.usable(k.training_kernel(cfg), plain, *getattr(k, "KERNEL_KEY", ("train.kernel", "keras")))
    if kernel == "cpu":
        if device_name() != "CPU":
            print(f"warning: train.kernel: cpu trains the LSTM on the CPU although TensorFlow sees {device_name()}; "
                  "set train.kernel: keras to train on the GPU", file=sys.stderr, flush=True)
    model = kernels.twin(plain, kernel)
    model.compile(**k.compile_args(cfg, steps_per_epoch, structure))
    checkpoints = tuple(e for e in cfg.checkpoints if e <= cfg.epochs)
    keep_best = k.KEEP_BEST and val_ds is not None
    callbacks, best = _callbacks(live, checkpoint_dir, checkpoints, log_path, keep_best,
                                 getattr(cfg, "patience", None), plain, progress)
    state = resume.state if resume is not None else None
    start, seconds0 = (state.epoch, state.seconds) if state is not None else (0, 0.0)
    if state is not None:
        resume.restore(model, best)
    t0 = time.perf_counter()

    class TimeLimit(keras.callbacks.Callback):
        """Counts training batches and stops after the batch that crosses the time limit (only with
        one: a per-batch callback makes Keras wait for every batch)."""

        def __init__(self):
            super().__init__()
            self.count, self.first, self.last = 0, None, None

        def on_train_batch_end(self, batch, logs=None):
            self.count += 1
            self.last = time.perf_counter()
            if self.first is None:
                self.first = self.last
            if self.last - t0 > time_limit_s:
                self.model.stop_training = True

    limit = TimeLimit() if time_limit_s is not None else None
    if limit is not None:
        callbacks.insert(0, limit)
    if resume is not None:

        class SaveState(keras.callbacks.Callback):
            """Last of the callbacks: the epoch is complete, early stopping included."""

            def on_epoch_end(self, epoch, logs=None):
                resume.save(epoch + 1, self.model, best, bool(self.model.stop_training),
                            seconds0 + time.perf_counter() - t0)

        callbacks.append(SaveState())
    if start < cfg.epochs and not (state is not None and state.stopped):
        history = model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, steps_per_epoch=steps_per_epoch,
                            verbose=verbose, shuffle=False, callbacks=callbacks, initial_epoch=start)
        epochs_run, logs = start + len(history.epoch), history.history
    else:  # every epoch was done before the interruption: only the end of training is left
        for cb in callbacks:
            cb.set_model(model)
            cb.on_train_end()
        epochs_run, logs = start, {}
    seconds = seconds0 + time.perf_counter() - t0
    if model is not plain:
        kernels.plain_weights_into(model, plain)
    steps = limit.count if limit is not None else (epochs_run - start) * (steps_per_epoch or 0)
    step_seconds = (limit.last - limit.first) / (limit.count - 1) if limit is not None and limit.count > 1 else None
    return FitResult(plain, seconds, epochs_run, best.best_epoch if best is not None else None, logs, steps,
                     step_seconds)


# Resume: a killed training continues from its last completed epoch.

RESUME_FOLDER = "drywet-resume"


def resume_root(cwd: str | os.PathLike | None = None) -> Path | None:
    """Where training resume states live: `.dvc/tmp/drywet-resume` of the DVC repository the stage
    runs in (outside its outputs, which DVC deletes before a stage runs); for a queued experiment,
    which runs in a temporary copy under `<repo>/.dvc/tmp/exps/` deleted when it ends, the main
    repository's. None outside a DVC repository (no resume state is kept)."""
    cwd = Path(cwd or os.getcwd()).resolve()
    parts = cwd.parts
    for i in range(len(parts) - 2):
        if parts[i:i + 3] == (".dvc", "tmp", "exps"):
            return Path(*parts[:i]) / ".dvc" / "tmp" / RESUME_FOLDER
    return cwd / ".dvc" / "tmp" / RESUME_FOLDER if (cwd / ".dvc").is_dir() else None


def loaded_code(packages: tuple[str, ...] = ("drywet", "stages")) -> dict[str, Path]:
    """Source files of the modules of `packages` imported so far, by module name: the code a
    training runs (files it never imports, such as the plots, do not count)."""
    code = {name: Path(mod.__file__) for name, mod in sorted(sys.modules.items())
            if name.split(".")[0] in packages and getattr(mod, "__file__", None)}
    for name in list(code):  # a module's C source (drywet.lstm.cpu's kernel, its headers) counts as its code too
        source = getattr(sys.modules[name], "SOURCE", None)
        if isinstance(source, Path) and source.suffix == ".c":
            for path in native.sources(source):
                code[f"{name}:{path.name}"] = path
    return code


def _digest_file(h, path: Path) -> None:
    with open(path, "rb") as fh:
        h.update(hashlib.file_digest(fh, "sha256").digest())


def resume_key(effect: str, params: dict, inputs: list, code: dict[str, Path]) -> str:
    """`<effect>-<16 hex digits>`: a digest of the effect name, `params` (JSON), the bytes of every
    file under the `inputs` folders, the `code` files (module name -> file) and the TF / Keras
    versions; any change gives another key, so a training never resumes from another's state."""
    import keras
    import tensorflow as tf

    h = hashlib.sha256(json.dumps({"effect": effect, "params": params, "tensorflow": tf.__version__,
                                   "keras": keras.__version__, "code": sorted(code)},
                                  sort_keys=True, default=list).encode())
    for folder in map(Path, inputs):
        for f in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else [folder]:
            h.update(str(f.relative_to(folder) if f != folder else f.name).encode() + b"\0")
            _digest_file(h, f)
    for name in sorted(code):
        _digest_file(h, Path(code[name]))
    return f"{effect}-{h.hexdigest()[:16]}"


@dataclass(frozen=True)
class ResumeState:
    """What the last completed epoch left: `epoch` epochs done, whether early stopping ended the
    training there, the seconds spent in fit so far, the best-epoch tracker's `best` val ESR and
    `best_epoch`; the variables and the output copies are files in `folder`."""

    epoch: int
    stopped: bool
    seconds: float
    best: float | None
    best_epoch: int | None
    folder: Path


_SNAPSHOT = re.compile(r"^epoch-\d{4,}$")


class Resume:
    """One training's resume state, `<root>/<key>/epoch-NNNN/` (only the newest is kept).

    After every completed epoch: the model's and the optimizer's variables (the learning-rate
    schedule's position is the optimizer's step count), the best-epoch tracker, and copies of the
    output folder written so far (train.log, checkpoints) and of the DVCLive folder; written to a
    temporary folder and renamed into place, so a kill at any moment leaves the previous state
    whole. The data order needs no state: it is a function of the epoch (the kinds' `datasets`).
    `lock` keeps two runs with the same key apart; the OS releases it even after SIGKILL.
    """

    def __init__(self, folder: Path, lock) -> None:
        self.folder = folder
        self._lock = lock
        self._outputs: Path | None = None
        self._live: Path | None = None
        self.state = self._load()

    @classmethod
    def open(cls, root: str | os.PathLike, key: str) -> Resume | None:
        """The state folder `root/key`, locked, with the newest complete state (or none); None
        while another run holds it."""
        folder = Path(root) / key
        while True:
            folder.mkdir(parents=True, exist_ok=True)
            lock = open(folder / "lock", "a")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                return None
            try:
                if os.stat(folder / "lock").st_ino == os.fstat(lock.fileno()).st_ino:
                    return cls(folder, lock)
            except FileNotFoundError:
                pass
            lock.close()  # the run that held it finished and removed the folder meanwhile

    @property
    def start_epoch(self) -> int:
        """Epochs already done (0: start from the beginning)."""
        return self.state.epoch if self.state is not None else 0

    def _load(self) -> ResumeState | None:
        """The newest complete state; half-written ones (a kill while saving) and older ones go."""
        snaps = sorted((p for p in self.folder.iterdir() if _SNAPSHOT.match(p.name)),
                       key=lambda p: int(p.name[6:]))
        for p in self.folder.iterdir():
            if p.name.startswith("tmp-") or (p in snaps and p != snaps[-1]):
                shutil.rmtree(p, ignore_errors=True)
        if not snaps:
            return None
        try:
            info = json.loads((snaps[-1] / "state.json").read_text())
            return ResumeState(epoch=int(info["epoch"]), stopped=bool(info["stopped"]),
                               seconds=float(info["seconds"]), best=info["best"],
                               best_epoch=info["best_epoch"], folder=snaps[-1])
        except (OSError, ValueError, KeyError):
            shutil.rmtree(snaps[-1], ignore_errors=True)
            return None

    def attach(self, outputs: str | os.PathLike, live_dir: str | os.PathLike | None = None) -> None:
        """Follow `outputs` (the model folder being written) and `live_dir` (DVCLive's folder) in
        every saved state; with a state, first put back the copies it holds."""
        self._outputs = Path(outputs)
        self._live = Path(live_dir) if live_dir is not None else None
        if self.state is None:
            return
        shutil.copytree(self.state.folder / "outputs", self._outputs, dirs_exist_ok=True)
        if self._live is not None:
            shutil.rmtree(self._live, ignore_errors=True)
            if (self.state.folder / "live").is_dir():
                shutil.copytree(self.state.folder / "live", self._live)

    def restore(self, model, best=None) -> None:
        """Put the saved variables into the freshly built and compiled `model` (its optimizer is
        built here) and the saved tracker state into `best` (the best-epoch callback, or None)."""
        from drywet.errors import InputError

        with np.load(self.state.folder / "variables.npz") as z:
            saved = {part: [z[k] for k in sorted(z.files) if k.startswith(part + "_")]
                     for part in ("model", "optimizer", "best")}
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        targets = list(model.weights) + list(optimizer.variables)
        values = saved["model"] + saved["optimizer"]
        if len(targets) != len(values) or any(tuple(t.shape) != v.shape for t, v in zip(targets, values, strict=True)):
            raise InputError(f"{self.folder}: the saved training state does not fit this model; "
                             "delete the folder to start over")
        for target, value in zip(targets, values, strict=True):
            target.assign(value)
        if best is not None:
            best.best = np.inf if self.state.best is None else float(self.state.best)
            best.best_epoch = self.state.best_epoch
            best.best_weights = saved["best"] or None

    def save(self, epoch: int, model, best, stopped: bool, seconds: float) -> None:
        """Save the state after `epoch` (1-based) epochs, then drop the previous one."""
        tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=self.folder))
        final = self.folder / f"epoch-{epoch:04d}"
        with folder_into_place(tmp, final):
            arrays = {f"model_{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(model.weights)}
            arrays.update({f"optimizer_{i:04d}": np.asarray(v.numpy())
                           for i, v in enumerate(model.optimizer.variables)})
            if best is not None and best.best_weights is not None:
                arrays.update({f"best_{i:04d}": w for i, w in enumerate(best.best_weights)})
            np.savez(tmp / "variables.npz", **arrays)
            if self._outputs is not None:
                shutil.copytree(self._outputs, tmp / "outputs")
            if self._live is not None and self._live.is_dir():
                shutil.copytree(self._live, tmp / "live")
            tracked = best is not None and best.best_epoch is not None
            (tmp / "state.json").write_text(json.dumps(
                {"epoch": epoch, "stopped": stopped, "seconds": seconds,
                 "best": best.best if tracked else None, "best_epoch": best.best_epoch if tracked else None},
                sort_keys=True))
        for p in self.folder.iterdir():
            if _SNAPSHOT.match(p.name) and p != final:
                shutil.rmtree(p, ignore_errors=True)

    def close(self) -> None:
        """Release the lock and keep the state (for a later run to resume from)."""
        self._lock.close()

    def clear(self) -> None:
        """Remove the state (the training's outputs are in place) and release the lock."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self._lock.close()
        try:
            self.folder.parent.rmdir()  # the root too, when no other training's state is in it
        except OSError:
            pass
