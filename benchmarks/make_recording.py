"""Write a dry/wet recording pair that drywet has never seen, as a user would bring it: dry material
played through a chain that is not one of the bench's stand-in pedals, recorded with a known latency,
level change, DC offset, polarity and noise.

    python -m benchmarks.make_recording OUT_FOLDER [--rate HZ] [--seconds 120] [--latency SAMPLES]
        [--material bench|plucked|strums] [--chain drive|player|drive1|amp|clipper]

Materials:
- `bench`: the virtual bench's playing (`drywet.bench.record_dry`).
- `plucked`: isolated plucked notes (Karplus-Strong strings, a pickup's resonant roll-off, an
  interface's hiss at -70 dBFS) with silences between them.
- `strums`: real-guitar-like playing from the same strings: strummed chords (4-6 strings plucked 5-25
  ms apart, down and up), palm-muted chugs, single-note lines and rests, at varied levels.

Chains (the rate, latency and material they default to):
- `drive` (48 kHz, 137 samples, bench): high-pass 720 Hz -> gain -> tanh -> low-pass 5 kHz.
- `player` (48 kHz, 137 samples, bench): high-pass 80 Hz -> +18 dB -> 12 dB tanh drive -> 2nd-order
  low-pass 4.5 kHz -> -14 dB, under a -84 dBFS noise floor.
- `drive1` (48 kHz, 137 samples, plucked): `player` with 1st-order filters (high-pass 80 Hz, low-pass
  4.5 kHz), the kind of chain whose gentle onset alignment used to read a sample late.
- `amp` (48 kHz, 64 samples, strums): a high-gain amp into a cabinet (`AmpSettings`): two asymmetric,
  triode-like gain stages with bias shift and interstage filters, a mid-scoop tone stack, a power
  amp's soft saturation, then the cabinet's band-pass, resonance, presence peak and box reflections.
- `clipper` (44.1 kHz, 64 samples, bench): a Klon-like gain stage (`ClipperSettings`): a clean blend
  plus a mid-humped high-gain path into diode-like hard clipping, summed, then a treble low-pass and
  the output coupling.

The nonlinear stages of `amp` and `clipper` run at 16x the rate (`oversampled`), so the chains
themselves are free of aliasing, as analog circuits are: what a model aliases is its own doing.

OUT_FOLDER gets dry.wav, wet.wav (32-bit float) and truth.json (latency, polarity, level change, DC,
rate, the chain's name and settings); point an effect at it with `effects.<name>.source: OUT_FOLDER`.
Used to check alignment and models on material unlike the bench.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy import signal

from drywet.audio import write_wav
from drywet.bench import record_dry
from drywet.bench.chain import record
from drywet.fileio import write_json

# The nonlinear stages' rate, x the audio rate. On 10 s of their default material, the amp's and the
# clipper's output at 8x differs from that at 32x by -65 / -69 dB (aliases above the recording's noise
# floor), at 16x by -79 / -85 dB: 16x, at twice 8x's time (about 3 s per 10 s of audio on one core).
OVERSAMPLE = 16
BLOCK = 1 << 15  # base-rate samples per block of an oversampled section (4 MB at 16x, any length)
# The resampling filter: flat to 0.45 x the audio rate, 100 dB down from its Nyquist on (resample_poly's
# default Kaiser window, beta 5, lets harmonics just above Nyquist fold back only ~55 dB down).
PASS_EDGE, STOP_DB = 0.45, 100.0


def drive_chain(x: np.ndarray, sr: int, gain: float = 20.0) -> np.ndarray:
    """High-pass 720 Hz (1st order) -> gain -> tanh -> low-pass 5 kHz (1st order): a simple
    overdrive whose tone shaping sits around the clipper, as in many pedals."""
    pre = signal.butter(1, 720.0, "highpass", fs=sr, output="sos")
    post = signal.butter(1, 5000.0, "lowpass", fs=sr, output="sos")
    return signal.sosfilt(post, np.tanh(gain * signal.sosfilt(pre, x)))


# ---- material ---------------------------------------------------------------------------------------


def pluck(f0: float, seconds: float, sr: int, rng: np.random.Generator, bright: float, decay: float) -> np.ndarray:
    """One plucked string (Karplus-Strong): a burst of low-passed noise, combed at the pluck position,
    circulating in a delay line of one period with a two-tap averaging loss (`decay` per period)."""
    n = int(seconds * sr)
    period = max(2, int(round(sr / f0 - 0.5)))
    b, a = signal.butter(1, min(0.99, (2000.0 + 6000.0 * bright) / (sr / 2)))
    burst = signal.lfilter(b, a, rng.standard_normal(period))
    burst = burst - np.roll(burst, int(period * rng.uniform(0.1, 0.3)))
    y = np.zeros(n + period + 1)
    y[1:period + 1] = burst
    k = period + 1
    while k < y.size:  # one period per step: each sample depends on the period before it
        m = min(period, y.size - k)
        y[k:k + m] = decay * 0.5 * (y[k - period:k - period + m] + y[k - period - 1:k - period - 1 + m])
        k += m
    return y[1:n + 1]


def _pickup_and_hiss(x: np.ndarray, sr: int, rng: np.random.Generator, pickup_hz: float,
                     hiss_dbfs: float) -> np.ndarray:
    """Strings through a pickup's resonant 2nd-order low-pass (Q 2), scaled to a 0.5 peak, plus an
    interface's white hiss (RMS `hiss_dbfs`)."""
    w0 = 2 * np.pi * pickup_hz / sr
    alpha, c = np.sin(w0) / (2 * 2.0), np.cos(w0)  # Q = 2: the pickup's resonance
    out = signal.lfilter([(1 - c) / 2, 1 - c, (1 - c) / 2], [1 + alpha, -2 * c, 1 - alpha], x)
    out *= 0.5 / np.max(np.abs(out))
    return out + 10 ** (hiss_dbfs / 20) * rng.standard_normal(out.size)


def plucked_notes(seconds: float, sr: int, seed: int = 11, pickup_hz: float = 4000.0,
                  hiss_dbfs: float = -70.0) -> np.ndarray:
    """Isolated plucked notes (E2 to E5, -30 to -6 dBFS peaks, 0.4-2.5 s each, muted at the end) with
    0.05-1.2 s of silence between them, through a pickup's resonant 2nd-order low-pass, plus hiss.
    Unlike the bench's material: rests, a dark top octave filled by noise, no strums or test tones."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * sr))
    t = 0.2
    while t < seconds - 0.5:
        length = rng.uniform(0.4, 2.5)
        note = pluck(82.41 * 2 ** (rng.integers(0, 36) / 12), length, sr, rng, rng.uniform(0, 1),
                     rng.uniform(0.990, 0.999))
        mute = int(0.02 * sr)
        note[-mute:] *= np.linspace(1.0, 0.0, mute)
        note *= 10 ** (rng.uniform(-30, -6) / 20) / (np.max(np.abs(note)) + 1e-12)
        i = int(t * sr)
        m = min(note.size, out.size - i)
        out[i:i + m] += note[:m]
        t += length + rng.uniform(0.05, 1.2)
    return _pickup_and_hiss(out, sr, rng, pickup_hz, hiss_dbfs)


OPEN_STRINGS_HZ = tuple(82.407 * 2 ** (semis / 12) for semis in (0, 5, 10, 15, 19, 24))  # E2 A2 D3 G3 B3 E4
# Chord shapes as frets above the root fret, low E to high E (None: not played): E-shape major and
# minor (root on the low E), A-shape major and minor, D-shape (4 strings).
CHORD_SHAPES = ((0, 2, 2, 1, 0, 0), (0, 2, 2, 0, 0, 0), (None, 0, 2, 2, 2, 0), (None, 0, 2, 2, 1, 0),
                (None, None, 0, 2, 3, 2))
STRUM_GAP_MS = (5.0, 25.0)  # between successive strings of one strum
MUTE_FADE_S = 0.02  # a string damped by the hand (end of a phrase, a palm mute's end)
CUT_FADE_S = 0.005  # a ringing string stopped by the pick that strikes it again


@dataclass(frozen=True)
class Pluck:
    """One string struck: onset (s), string (0 = low E), fret, peak level (linear), brightness (0-1),
    loss per period, how long it may ring (s), its kind ("down", "up", "mute" or "single") and the
    strum it belongs to (plucks of one strum share `group`)."""

    onset: float
    string: int
    fret: int
    level: float
    bright: float
    decay: float
    ring: float
    kind: str
    group: int

    @property
    def f0(self) -> float:
        """The string's fundamental (Hz)."""
        return OPEN_STRINGS_HZ[self.string] * 2 ** (self.fret / 12)


def strum_events(seconds: float, seed: int = 13) -> list[Pluck]:
    """The plucks of `strums`: phrases of strummed chords (down and up strums on eighth notes at
    70-140 BPM, 4-6 strings plucked 5-25 ms apart), palm-muted chugs (4 low strings, short and dark)
    or single notes, each phrase at its own level (-30 to -4 dB) with accents, separated by rests of
    0.3-2 s (every string muted at a phrase's end). Sorted by onset."""
    rng = np.random.default_rng(seed)
    plucks: list[Pluck] = []
    t, group = 0.1, 0
    while t < seconds - 0.3:
        kind = rng.choice(("chords", "chords", "mute", "single"))
        eighth = 30.0 / rng.uniform(70.0, 140.0)
        level = 10 ** (rng.uniform(-30.0, -4.0) / 20)
        beats = int(rng.integers(4, 17))
        end = min(seconds, t + beats * eighth)
        change = int(rng.choice((4, 8)))  # eighths per chord
        root = int(rng.integers(0, 8))
        for beat in range(beats):
            onset = t + beat * eighth
            if onset >= end - 0.05:
                break
            if beat % change == 0:
                shape = CHORD_SHAPES[int(rng.integers(len(CHORD_SHAPES)))]
                played = [(s, root + f) for s, f in enumerate(shape) if f is not None]
            accent = 1.0 if beat % 2 == 0 else 10 ** (-rng.uniform(2.0, 6.0) / 20)
            if kind == "single":
                strings = [(int(rng.integers(0, 6)), int(rng.integers(0, 13)))]
                how, ring = "single", rng.uniform(0.3, 2.0)
            elif kind == "mute":
                strings, how, ring = played[:4], "mute", rng.uniform(0.08, 0.25)
            elif rng.uniform() < 0.25 and beat:  # let the last strum ring through this eighth
                continue
            elif beat % 2 == 0:
                strings, how, ring = played, "down", rng.uniform(0.4, 2.5)
            else:
                strings, how, ring = played[::-1][:4], "up", rng.uniform(0.3, 1.5)
            gap = rng.uniform(*STRUM_GAP_MS) / 1e3  # this strum's pace across the strings
            for k, (string, fret) in enumerate(strings):
                onset += gap * rng.uniform(0.8, 1.2) if k else 0.0
                muted = how == "mute"
                plucks.append(Pluck(onset, string, fret, level * accent * rng.uniform(0.6, 1.0),
                                    0.0 if muted else rng.uniform(0.2, 1.0),
                                    rng.uniform(0.90, 0.96) if muted else rng.uniform(0.993, 0.999),
                                    max(0.02, min(ring, end - onset)), how, group))
            group += 1
        t = end + rng.uniform(0.3, 2.0)
    return sorted(plucks, key=lambda p: (p.onset, p.string))


def strums(seconds: float, sr: int, seed: int = 13, pickup_hz: float = 4000.0, hiss_dbfs: float = -70.0) -> np.ndarray:
    """`strum_events` played on Karplus-Strong strings (`pluck`): a string rings until its ring time
    ends, the pick strikes it again (5 ms fade) or its phrase ends (20 ms mute); then the pickup's
    resonant low-pass and the interface's hiss as in `plucked_notes` (0.5 peak, hiss at -70 dBFS)."""
    rng = np.random.default_rng([seed, 1])
    events = strum_events(seconds, seed)
    out = np.zeros(int(seconds * sr))
    notes = []
    following: dict[int, float] = {}  # string -> the onset of its next pluck
    for p in reversed(events):
        p_next = following.get(p.string)
        following[p.string] = p.onset
        cut = p_next is not None and p_next < p.onset + p.ring
        length = p_next - p.onset if cut else p.ring
        notes.append((p, cut, max(length, 0.01)))
    for p, cut, length in reversed(notes):
        note = pluck(p.f0, length, sr, rng, p.bright, p.decay)
        fade = min(note.size, int((CUT_FADE_S if cut else MUTE_FADE_S) * sr))
        note[note.size - fade:] *= np.linspace(1.0, 0.0, fade)
        note *= p.level / (np.max(np.abs(note)) + 1e-12)
        i = int(round(p.onset * sr))
        m = max(0, min(note.size, out.size - i))
        out[i:i + m] += note[:m]
    return _pickup_and_hiss(out, sr, rng, pickup_hz, hiss_dbfs)


MATERIALS: dict[str, Callable[[float, int, int], np.ndarray]] = {
    "bench": lambda seconds, sr, seed: record_dry(seconds, sr, -90.0, seed).astype(np.float64),
    "plucked": plucked_notes,
    "strums": strums,
}


# ---- building blocks: filters with their state, oversampling -----------------------------------------


class Sos:
    """An IIR filter (second-order sections) run block by block with its state carried: the blocks'
    outputs joined are the whole signal's."""

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = np.asarray(sos, np.float64)
        self.zi = np.zeros((self.sos.shape[0], 2))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self.zi = signal.sosfilt(self.sos, x, zi=self.zi)
        return y


def peaking(f0: float, gain_db: float, q: float, sr: float) -> np.ndarray:
    """RBJ peaking biquad (one section): `gain_db` at f0 (Hz), bandwidth set by q."""
    a, w = 10 ** (gain_db / 40), 2 * np.pi * f0 / sr
    alpha = np.sin(w) / (2 * q)
    b = [1 + alpha * a, -2 * np.cos(w), 1 - alpha * a]
    den = [1 + alpha / a, -2 * np.cos(w), 1 - alpha / a]
    return np.concatenate([b, den])[None] / den[0]


def shelf(kind: str, f0: float, gain_db: float, sr: float) -> np.ndarray:
    """RBJ shelving biquad (one section, slope 1): `kind` "low" or "high", `gain_db` beyond f0 (Hz)."""
    a, w = 10 ** (gain_db / 40), 2 * np.pi * f0 / sr
    alpha, c = np.sin(w) / np.sqrt(2), np.cos(w)
    s = 1 if kind == "low" else -1  # the high shelf is the low one with cos(w) negated
    b = [a * ((a + 1) - s * (a - 1) * c + 2 * np.sqrt(a) * alpha), s * 2 * a * ((a - 1) - s * (a + 1) * c),
         a * ((a + 1) - s * (a - 1) * c - 2 * np.sqrt(a) * alpha)]
    den = [(a + 1) + s * (a - 1) * c + 2 * np.sqrt(a) * alpha, -s * 2 * ((a - 1) + s * (a + 1) * c),
           (a + 1) + s * (a - 1) * c - 2 * np.sqrt(a) * alpha]
    return np.concatenate([b, den])[None] / den[0]


@cache
def resampling_filter(factor: int) -> np.ndarray:
    """The FIR (odd length, at `factor` x the rate) that `oversampled` interpolates and decimates with:
    passband to PASS_EDGE x the audio rate, at least STOP_DB down from half the audio rate."""
    width = (0.5 - PASS_EDGE) / (factor / 2)  # the transition band, as a share of the oversampled Nyquist
    taps, beta = signal.kaiserord(STOP_DB, width)
    taps += 1 - taps % 2
    return signal.firwin(taps, (0.5 + PASS_EDGE) / 2, window=("kaiser", beta), fs=factor)


def oversampled(x: np.ndarray, process: Callable[[np.ndarray], np.ndarray], factor: int,
                block: int = BLOCK) -> np.ndarray:
    """`process` (a causal section that carries its own state from call to call) run at `factor` x the
    rate of x: resample_poly up, process, resample_poly down (with `resampling_filter`), block by
    block so memory stays small at any length. Each block is read with enough samples either side to
    cover the filter, so the output is the whole-signal one's."""
    h = resampling_filter(factor)
    context = -(-(h.size // 2) // factor) + 2  # base-rate samples the filter reaches, and a margin
    n = x.size
    out = np.empty(n)
    pending = np.empty(0)  # processed samples from base index max(0, done - context) on
    done = 0
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        a, b = max(0, i0 - context), min(n, i1 + context)
        up = signal.resample_poly(x[a:b], factor, 1, window=h)[(i0 - a) * factor:(i1 - a) * factor]
        pending = np.concatenate([pending, process(up)])
        start = max(0, done - context)
        stop = n if i1 == n else i1 - context
        if stop > done:
            down = signal.resample_poly(pending, 1, factor, window=h)
            out[done:stop] = down[done - start:stop - start]
            keep = max(0, stop - context)
            pending = pending[(keep - start) * factor:]
            done = stop
    return out


# ---- the high-gain amp and its cabinet ---------------------------------------------------------------


@dataclass(frozen=True)
class AmpSettings:
    """A high-gain amp into a 4x12-like cabinet. Frequencies in Hz, levels in dB, gains linear; a
    stage clips at 1 (input units after its gain)."""

    input_hp_hz: float = 90.0  # the input coupling (1st order), tightens the bass before the gain
    bright_hz: float = 1500.0  # a bright cap: high shelf before the first stage
    bright_db: float = 6.0
    gain1: float = 25.0  # first stage
    asym1: float = 1.8  # its negative swing's headroom over the positive (even harmonics)
    inter_hp_hz: float = 160.0  # interstage coupling (1st order)
    inter_lp_hz: float = 9000.0  # interstage Miller roll-off (1st order)
    gain2: float = 10.0  # second stage
    asym2: float = 1.4
    stage2_lp_hz: float = 6500.0  # after the second stage (1st order)
    bias_shift: float = 0.4  # grid conduction: input units a stage's bias moves per unit driven past 0.5
    bias_ms: float = 30.0  # how fast that bias follows (one-pole time constant)
    bass_hz: float = 120.0  # tone stack: low shelf
    bass_db: float = 3.0
    mid_hz: float = 650.0  # tone stack: the mid scoop
    mid_db: float = -9.0
    mid_q: float = 0.8
    treble_hz: float = 2500.0  # tone stack: high shelf
    treble_db: float = 4.0
    power_gain: float = 2.5  # into the power amp's soft saturation
    power_knee: float = 2.5  # its knee: y = x / (1 + |x|^k)^(1/k), softer than tanh
    cab_hp_hz: float = 80.0  # cabinet: 2nd-order high-pass
    resonance_hz: float = 110.0  # cabinet: low resonance
    resonance_db: float = 6.0
    resonance_q: float = 2.0
    presence_hz: float = 2500.0  # cabinet: presence peak
    presence_db: float = 5.0
    presence_q: float = 1.2
    cab_lp_hz: float = 4800.0  # cabinet: 4th-order low-pass
    reflections: tuple[tuple[float, float], ...] = ((3.0, 0.18), (7.0, -0.1))  # (ms, level) box reflections
    level_db: float = -10.0  # output level
    oversample: int = OVERSAMPLE  # the rate of the stages, tone stack and power amp, x the audio rate


def triode(u: np.ndarray, asym: float) -> np.ndarray:
    """An asymmetric soft clip: tanh on the positive swing (grid conduction stops it at 1), the softer
    asym * tanh(u / asym) on the negative (towards cutoff); slope 1 at 0, smooth, even harmonics."""
    return np.where(u >= 0.0, np.tanh(u), asym * np.tanh(u / asym))


class _BiasShift:
    """A stage's bias moved by grid conduction: the drive past 0.5 charges the coupling capacitor
    through a one-pole low-pass (`ms` time constant); returns the shift (input units) per sample."""

    def __init__(self, depth: float, ms: float, sr: float) -> None:
        self.depth, self.pole = depth, float(np.exp(-1e3 / (ms * sr)))
        self.zi = np.zeros(1)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        s, self.zi = signal.lfilter([1.0 - self.pole], [1.0, -self.pole], np.maximum(u - 0.5, 0.0), zi=self.zi)
        return self.depth * s


class _Preamp:
    """The oversampled part of the amp (at `sr` = the oversampled rate): both stages, the tone stack
    and the power amp, each filter carrying its state from block to block."""

    def __init__(self, s: AmpSettings, sr: float) -> None:
        self.s = s
        self.bias1 = _BiasShift(s.bias_shift, s.bias_ms, sr)
        self.bias2 = _BiasShift(s.bias_shift, s.bias_ms, sr)
        self.inter = Sos(np.vstack([signal.butter(1, s.inter_hp_hz, "highpass", fs=sr, output="sos"),
                                    signal.butter(1, s.inter_lp_hz, "lowpass", fs=sr, output="sos")]))
        self.post2 = Sos(signal.butter(1, s.stage2_lp_hz, "lowpass", fs=sr, output="sos"))
        self.tone = Sos(np.vstack([shelf("low", s.bass_hz, s.bass_db, sr), peaking(s.mid_hz, s.mid_db, s.mid_q, sr),
                                   shelf("high", s.treble_hz, s.treble_db, sr)]))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        s = self.s
        u = s.gain1 * x
        y = triode(u - self.bias1(u), s.asym1)
        u = s.gain2 * self.inter(y)
        y = self.post2(triode(u - self.bias2(u), s.asym2))
        p = s.power_gain * self.tone(y)
        return p / (1.0 + np.abs(p) ** s.power_knee) ** (1.0 / s.power_knee)


def cabinet(x: np.ndarray, sr: int, s: AmpSettings = AmpSettings()) -> np.ndarray:
    """The cabinet as a linear filter: 2nd-order high-pass, low resonance, presence peak, 4th-order
    low-pass, then the box's reflections (delayed copies, whole samples)."""
    sos = np.vstack([signal.butter(2, s.cab_hp_hz, "highpass", fs=sr, output="sos"),
                     peaking(s.resonance_hz, s.resonance_db, s.resonance_q, sr),
                     peaking(s.presence_hz, s.presence_db, s.presence_q, sr),
                     signal.butter(4, s.cab_lp_hz, "lowpass", fs=sr, output="sos")])
    y = signal.sosfilt(sos, x)
    out = y.copy()
    for ms, level in s.reflections:
        d = int(round(ms * 1e-3 * sr))
        out[d:] += level * y[:y.size - d]
    return out


def amp_chain(x: np.ndarray, sr: int, s: AmpSettings = AmpSettings()) -> np.ndarray:
    """A high-gain amp and cabinet: input high-pass and bright shelf, then at 16x the rate two
    triode-like stages with bias shift and interstage filters, the mid-scoop tone stack and the power
    amp's soft saturation, then the cabinet (`cabinet`) and the output level."""
    pre = np.vstack([signal.butter(1, s.input_hp_hz, "highpass", fs=sr, output="sos"),
                     shelf("high", s.bright_hz, s.bright_db, sr)])
    y = oversampled(signal.sosfilt(pre, x), _Preamp(s, s.oversample * sr), s.oversample)
    return 10 ** (s.level_db / 20) * cabinet(y, sr, s)


# ---- the Klon-like clipper ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipperSettings:
    """A Klon-like clipping stage. Frequencies in Hz, levels in dB, gains linear; `knee`: where the
    diodes conduct (full-scale units)."""

    clean: float = 0.6  # the clean blend's gain
    clean_hp_hz: float = 60.0  # its coupling (1st order)
    hump_hp_hz: float = 300.0  # the drive path's pre-filter: 1st-order high-pass ...
    hump_lp_hz: float = 3000.0  # ... 1st-order low-pass ...
    hump_hz: float = 1000.0  # ... and a mid peak
    hump_db: float = 6.0
    drive: float = 40.0  # the drive path's gain into the diodes
    drive_lp_hz: float = 12000.0  # the op-amp stage's feedback roll-off (1st order, before the diodes)
    knee: float = 0.35
    sharpness: int = 8  # even: the curve is smooth (so oversampling makes it alias-free), its knee sharp
    drive_level: float = 1.0  # the clipped path into the sum
    tone_hz: float = 4200.0  # treble: 2nd-order low-pass after the sum
    out_hp_hz: float = 20.0  # the output coupling (1st order): clipping a lopsided wave makes DC
    level_db: float = -2.0  # output level
    oversample: int = OVERSAMPLE  # the rate of the gain and the diodes, x the audio rate


def diode_clip(u: np.ndarray, knee: float, sharpness: int) -> np.ndarray:
    """Antiparallel diodes: u / (1 + (u / knee)^p)^(1/p), linear below `knee`, flat at +-knee above it."""
    return u / (1.0 + (u / knee) ** sharpness) ** (1.0 / sharpness)


def clipper_drive(x: np.ndarray, sr: int, s: ClipperSettings = ClipperSettings()) -> np.ndarray:
    """The clipper's drive path at the audio rate: mid-hump pre-filter, then at 16x the rate the gain,
    the op-amp's roll-off and the diodes (its output is flat-topped at +-knee)."""
    hump = np.vstack([signal.butter(1, s.hump_hp_hz, "highpass", fs=sr, output="sos"),
                      signal.butter(1, s.hump_lp_hz, "lowpass", fs=sr, output="sos"),
                      peaking(s.hump_hz, s.hump_db, 0.7, sr)])
    roll = Sos(signal.butter(1, s.drive_lp_hz, "lowpass", fs=s.oversample * sr, output="sos"))
    return oversampled(signal.sosfilt(hump, x), lambda u: diode_clip(roll(s.drive * u), s.knee, s.sharpness),
                       s.oversample)


def clipper_chain(x: np.ndarray, sr: int, s: ClipperSettings = ClipperSettings()) -> np.ndarray:
    """A Klon-like stage: clean blend + hard-clipped drive path (`clipper_drive`), summed, through the
    treble low-pass and the output coupling, at the output level."""
    clean = signal.sosfilt(signal.butter(1, s.clean_hp_hz, "highpass", fs=sr, output="sos"), x)
    mix = s.clean * clean + s.drive_level * clipper_drive(x, sr, s)
    out = np.vstack([signal.butter(2, s.tone_hz, "lowpass", fs=sr, output="sos"),
                     signal.butter(1, s.out_hp_hz, "highpass", fs=sr, output="sos")])
    return 10 ** (s.level_db / 20) * signal.sosfilt(out, mix)


def player_chain(x: np.ndarray, sr: int) -> np.ndarray:
    """High-pass 80 Hz (2nd order) -> +18 dB -> tanh drive with 12 dB of gain -> low-pass 4.5 kHz
    (2nd order) -> -14 dB: a drive pedal as a player would set it up."""
    hp = signal.butter(2, 80.0, "highpass", fs=sr, output="sos")
    lp = signal.butter(2, 4500.0, "lowpass", fs=sr, output="sos")
    driven = np.tanh(10 ** (12 / 20) * 10 ** (18 / 20) * signal.sosfilt(hp, x))
    return 10 ** (-14 / 20) * signal.sosfilt(lp, driven)


def first_order_chain(x: np.ndarray, sr: int) -> np.ndarray:
    """`player_chain` with 1st-order filters (high-pass 80 Hz, low-pass 4.5 kHz), as many real drive
    pedals shape their tone: a response whose onset is gentle, where alignment used to land late."""
    hp = signal.butter(1, 80.0, "highpass", fs=sr, output="sos")
    lp = signal.butter(1, 4500.0, "lowpass", fs=sr, output="sos")
    driven = np.tanh(10 ** (12 / 20) * 10 ** (18 / 20) * signal.sosfilt(hp, x))
    return 10 ** (-14 / 20) * signal.sosfilt(lp, driven)


# ---- the recording ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """One `--chain`: its description, defaults (rate Hz, latency samples, material, drive gain) and
    how the interface records it (level change dB, noise floor dBFS)."""

    about: str
    rate: int
    latency: float
    material: str
    gain: float | None  # the drive gain `--gain` sets (None: the chain has its own settings)
    wet_level_db: float
    noise_dbfs: float


CHAINS: dict[str, Chain] = {
    "drive": Chain("HP 720 Hz 1st -> gain -> tanh -> LP 5 kHz 1st", 48000, 137.0, "bench", 20.0, -3.0, -90.0),
    "player": Chain("HP 80 Hz 2nd -> +18 dB -> tanh(x4) -> LP 4.5 kHz 2nd -> -14 dB", 48000, 137.0, "bench", None,
                    0.0, -84.0),
    "drive1": Chain("HP 80 Hz 1st -> +18 dB -> tanh(x4) -> LP 4.5 kHz 1st -> -14 dB", 48000, 137.0, "plucked", None,
                    0.0, -84.0),
    "amp": Chain("high-gain amp (2 asymmetric stages, mid scoop, power amp; 16x) -> 4x12-like cabinet", 48000, 64.0,
                 "strums", None, -3.0, -84.0),
    "clipper": Chain("Klon-like: clean blend + mid-humped drive into diodes (16x) -> treble low-pass", 44100, 64.0,
                     "bench", None, -3.0, -88.0),
}


def apply_chain(name: str, x: np.ndarray, sr: int, gain: float | None = None) -> tuple[np.ndarray, dict]:
    """The chain `name` applied to x at `sr` Hz (before the recording's latency, level and noise),
    and its settings for truth.json."""
    if name == "drive":
        gain = CHAINS[name].gain if gain is None else gain
        return drive_chain(x, sr, gain), {"gain": gain}
    if name == "player":
        return player_chain(x, sr), {}
    if name == "drive1":
        return first_order_chain(x, sr), {}
    if name == "amp":
        return amp_chain(x, sr), asdict(AmpSettings())
    return clipper_chain(x, sr), asdict(ClipperSettings())


def render(chain: str = "amp", seconds: float = 120.0, rate: int | None = None, latency: float | None = None,
           material: str | None = None, gain: float | None = None, dc: float = 0.05, polarity: int = 1,
           seed: int = 7) -> tuple[np.ndarray, np.ndarray, dict]:
    """(dry, wet, truth): the material played through the chain and recorded (latency in samples,
    the chain's level change and noise floor, polarity, then `dc` added); None takes the chain's
    default. Same arguments, same samples."""
    c = CHAINS[chain]
    rate = c.rate if rate is None else rate
    latency = c.latency if latency is None else latency
    material = c.material if material is None else material
    dry = MATERIALS[material](seconds, rate, seed)
    wet, settings = apply_chain(chain, dry, rate, gain)
    wet = record(wet, rate, latency, c.wet_level_db, polarity, c.noise_dbfs, seed=seed + 1).astype(np.float64) + dc
    truth = {"latency_samples": latency, "polarity": polarity, "dc": dc, "gain_db": c.wet_level_db,
             "gain": settings.get("gain", gain), "noise_dbfs": c.noise_dbfs, "sample_rate": rate, "seconds": seconds,
             "chain": c.about, "chain_name": chain, "settings": settings, "material": material, "seed": seed}
    return dry, wet, truth


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.make_recording", description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--rate", type=int, default=None, help="Hz (default: the chain's)")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--latency", type=float, default=None, help="samples (default: the chain's)")
    ap.add_argument("--gain", type=float, default=None, help="drive gain before the tanh (--chain drive; default 20)")
    ap.add_argument("--dc", type=float, default=0.05, help="DC offset added to the wet recording")
    ap.add_argument("--polarity", type=int, default=1, choices=(1, -1))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--material", choices=tuple(MATERIALS), default=None, help="default: the chain's")
    ap.add_argument("--chain", choices=tuple(CHAINS), default="drive")
    args = ap.parse_args(argv)
    if args.gain is not None and args.chain != "drive":
        ap.error("--gain sets the drive chain's gain; the other chains keep their own settings")
    dry, wet, truth = render(args.chain, args.seconds, args.rate, args.latency, args.material, args.gain, args.dc,
                             args.polarity, args.seed)
    out = Path(args.out)
    rate = truth["sample_rate"]
    write_wav(out / "dry.wav", dry, rate)
    write_wav(out / "wet.wav", wet, rate)
    write_json(out / "truth.json", truth)
    print(f"wrote {out}/dry.wav, wet.wav ({args.seconds:g} s at {rate} Hz, {args.chain} chain, "
          f"latency {truth['latency_samples']:g} samples)")


if __name__ == "__main__":
    main()
