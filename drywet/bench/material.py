"""Dry program material: synthetic guitar playing plus a short section of test signals.

Strings are modal (additive) models: each partial is a damped sinusoid whose frequency follows the
stiff-string law f_k = k f0 sqrt(1 + B k^2), whose amplitude follows the pluck and pickup positions
and a pickup resonance, and whose decay grows with frequency (air and internal friction), so notes
get darker as they ring. Phrases alternate between single-note lines, strummed chords, palm-muted
chugs and lead lines with bends and vibrato, at peak levels from -40 dBFS (very soft) to -1 dBFS.

Everything is vectorised: a fixed-pitch note is a matrix product (see `_modal_fixed`), a bent note
evaluates only the partials still audible. Deterministic for a given seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from drywet.errors import ConfigError

OPEN_MIDI = (40, 45, 50, 55, 59, 64)  # standard tuning, low E (E2, 82.4 Hz) to high E (E4)
N_FRETS = 24  # the high E string's 24th fret is E6 (1318.5 Hz)
PEAK_LIMIT = 0.9
LEVEL_TIERS_DBFS = {"soft": (-40.0, -24.0), "medium": (-24.0, -10.0), "hard": (-10.0, -1.0)}
KINDS = ("single", "chords", "chugs", "lead")
TEST_SECTION_S = 21.0  # nominal length of the test-signal section (see `_test_section`)
TEST_FRACTION = 0.08  # share of a short recording given to test signals
# The repeated section (see `repeat_layout`): like Neural Amp Modeler's capture signal, one section
# is played twice so the two wet takes show how repeatable the capture is. Both copies lie inside
# the last 20 % (the default test part), so the same dry never reaches training and test.
REPEAT_S = 6.0  # length of each copy, at most
REPEAT_FRACTION = 0.06  # ... and at most this share of the recording
REPEAT_PART = 0.2  # both copies lie inside this final share of the recording
MAX_PARTIAL_HZ = 10_000.0  # a magnetic pickup's output is small above this
CHUNK = 256  # samples per block of the fixed-pitch synthesis
ROWS_PER_PRODUCT = 8  # chunks per matrix product


def _rng(seed: int, stream: str) -> np.random.Generator:
    """A generator for one named random stream of the seed (streams are independent)."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode())])


def midi_hz(midi: float) -> float:
    """Equal-tempered frequency of a MIDI note number (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


@dataclass(frozen=True)
class Tone:
    """Per-phrase instrument setup: pickup position and resonance, pick hardness."""

    pickup_pos: float  # distance from the bridge / open string length
    pickup_hz: float  # pickup + cable resonance, Hz
    pickup_q: float
    pick_hz: float  # pick brightness corner, Hz


@dataclass(frozen=True)
class Note:
    """One plucked note; times in seconds from the phrase start."""

    onset: float
    dur: float  # until the string is damped
    string: int  # 0 = low E ... 5 = high E
    fret: int
    vel: float  # linear amplitude factor
    muted: bool = False  # palm mute: short, dark
    bend_cents: float = 0.0
    bend_at: float = 0.0  # s after onset
    bend_rise: float = 0.1  # s
    bend_release: float | None = None  # s after onset at which the bend returns, if it does
    vib_cents: float = 0.0
    vib_hz: float = 5.5
    vib_delay: float = 0.2  # s


def _partials(note: Note, tone: Tone, sr: int, rng: np.random.Generator):
    """Frequencies (Hz, at the unbent pitch), amplitudes and decay rates (1/s) of a note's partials."""
    f0 = midi_hz(OPEN_MIDI[note.string] + note.fret)
    shorten = 2.0 ** (-note.fret / 12.0)  # vibrating length / open length
    # Stiffness grows as the vibrating length shrinks (B ~ 1/L^2); wound low strings are stiffer.
    b_inh = (1.2e-4, 8e-5, 6e-5, 4e-5, 3e-5, 2e-5)[note.string] / shorten**2
    f_max = min(MAX_PARTIAL_HZ, 0.45 * sr)
    k = np.arange(1, 81, dtype=np.float64)
    freqs = f0 * k * np.sqrt((1.0 + b_inh * k**2) / (1.0 + b_inh))
    keep = freqs < f_max
    k, freqs = k[keep], freqs[keep]
    # A string plucked at p and sensed (velocity) at q: modal amplitude ~ sin(pi k p) sin(pi k q) / k.
    pluck = min(0.45, rng.uniform(0.09, 0.16) / shorten)  # pick ~6-10 cm from the bridge
    pickup = min(0.45, tone.pickup_pos / shorten)
    amps = np.sin(np.pi * k * pluck) * np.sin(np.pi * k * pickup) / k
    r = freqs / tone.pickup_hz  # pickup inductance + cable capacitance: a resonant low-pass
    amps /= np.sqrt((1.0 - r**2) ** 2 + (r / tone.pickup_q) ** 2)
    pick_hz = tone.pick_hz * (0.6 + 0.6 * min(note.vel, 1.5))  # harder picking is brighter
    amps *= np.exp(-freqs / pick_hz)
    # Decay: sigma = sigma_1 + c f^2 (friction and air damping rise with frequency).
    t60 = (6.0, 5.5, 5.0, 4.5, 4.0, 3.5)[note.string] * 2.0 ** (-note.fret / 24.0)
    c = 2.9e-6
    if note.muted:  # the palm damps the string near the bridge: short and dark
        t60, c = rng.uniform(0.15, 0.35), 1.2e-5
        amps *= np.exp(-freqs / 1500.0)
    sigmas = 6.91 / t60 + c * freqs**2
    amps *= note.vel / max(np.abs(amps).sum(), 1e-9)
    return freqs, amps, sigmas


def _lives(amps: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Seconds until each partial falls 80 dB below the note's strongest partial (<= 0: inaudible)."""
    return np.log(np.abs(amps) / (1e-4 * np.abs(amps).max() + 1e-300) + 1e-300) / sigmas


def _modal_fixed(freqs: np.ndarray, amps: np.ndarray, sigmas: np.ndarray, n: int, sr: int) -> np.ndarray:
    """sum_k a_k exp(-s_k t) sin(2 pi f_k t) for t < n / sr, as matrix products.

    With t = t_c + tau (chunk start + offset), each partial splits into chunk coefficients
    (a e^{-s t_c} sin(w t_c), a e^{-s t_c} cos(w t_c)) times offset waveforms
    (e^{-s tau} cos(w tau), e^{-s tau} sin(w tau)); the sum over partials is then a matrix
    product. Partials are sorted by how long they stay audible, so later chunks multiply only
    the first few rows (high partials die within a fraction of a second).
    """
    lives = _lives(amps, sigmas)
    order = np.argsort(-lives)
    order = order[lives[order] > 0]
    freqs, amps, sigmas, lives = freqs[order], amps[order], sigmas[order], lives[order]
    n_chunks = -(-n // CHUNK)
    w = 2 * np.pi * freqs
    tau = np.arange(CHUNK) / sr
    damp = np.exp(-np.outer(sigmas, tau))
    basis = np.empty((2 * freqs.size, CHUNK))
    basis[0::2] = damp * np.cos(np.outer(w, tau))
    basis[1::2] = damp * np.sin(np.outer(w, tau))
    tc = np.arange(n_chunks) * (CHUNK / sr)
    env = amps * np.exp(-np.outer(tc, sigmas))
    phase = np.outer(tc, w)
    coef = np.empty((n_chunks, 2 * freqs.size))
    coef[:, 0::2] = env * np.sin(phase)
    coef[:, 1::2] = env * np.cos(phase)
    # Partials alive at each chunk start (lives are sorted, longest first), rounded up to 4.
    alive = np.searchsorted(-lives, -tc, side="left")
    alive = np.minimum(-(-alive // 4) * 4, freqs.size)
    out = np.zeros((n_chunks, CHUNK))
    edges = np.concatenate([[0], np.flatnonzero(np.diff(alive)) + 1, [n_chunks]])
    for r0, r1 in zip(edges[:-1], edges[1:], strict=True):
        m = 2 * int(alive[r0])
        if m:
            # Row slices keep each product small: BLAS then stays single-threaded, which is
            # faster for these shapes and immune to contention from other processes.
            for r in range(r0, r1, ROWS_PER_PRODUCT):
                out[r : min(r + ROWS_PER_PRODUCT, r1)] = coef[r : min(r + ROWS_PER_PRODUCT, r1), :m] @ basis[:m]
    return out.ravel()[:n]


def _modal_bent(note: Note, freqs, amps, sigmas, n: int, sr: int) -> np.ndarray:
    """Like `_modal_fixed` but with the pitch following the bend and vibrato curves.

    Each partial keeps its ratio to the fundamental; only partials still above -80 dB are
    evaluated, so the high ones (which die within a fraction of a second) cost little.
    """
    t = np.arange(n) / sr
    cents = np.zeros(n)
    if note.bend_cents:
        up = np.clip((t - note.bend_at) / note.bend_rise, 0.0, 1.0)
        shape = up * up * (3 - 2 * up)  # smoothstep: the finger pushes, then holds
        if note.bend_release is not None:
            down = np.clip((t - note.bend_release) / note.bend_rise, 0.0, 1.0)
            shape -= down * down * (3 - 2 * down)
        cents += note.bend_cents * shape
    if note.vib_cents:
        fade = np.clip((t - note.vib_delay) / 0.25, 0.0, 1.0)
        cents += note.vib_cents * fade * np.sin(2 * np.pi * note.vib_hz * t)
    ratio = 2.0 ** (cents / 1200.0)
    cycles = np.cumsum(ratio) / sr  # fundamental phase / (2 pi f0), in seconds of nominal pitch
    out = np.zeros(n)
    lives = np.minimum(n, np.ceil(9.2 * sr / sigmas).astype(np.int64))  # -80 dB
    for f, a, s, life in zip(freqs, amps, sigmas, lives, strict=True):
        out[:life] += a * np.exp(-s * t[:life]) * np.sin(2 * np.pi * f * cycles[:life])
    return out


def _render_note(note: Note, tone: Tone, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One note from its onset: string partials, pick noise, then finger damping at note-off."""
    freqs, amps, sigmas = _partials(note, tone, sr, rng)
    release = rng.uniform(0.008, 0.025)  # s, finger-damping time constant
    n_on = max(1, int(note.dur * sr))
    n = n_on + int(7 * release * sr)
    if note.bend_cents or note.vib_cents:
        y = _modal_bent(note, freqs, amps, sigmas, n, sr)
    else:
        y = _modal_fixed(freqs, amps, sigmas, n, sr)
    # Pick noise: a few ms of bright scrape as the pick leaves the string.
    n_pick = min(n, int(rng.uniform(0.002, 0.004) * sr))
    scrape = np.diff(rng.standard_normal(n_pick + 1)) * np.exp(-np.arange(n_pick) / (0.0007 * sr))
    y[:n_pick] += 0.04 * note.vel * scrape
    tail = np.arange(n - n_on) / sr
    if tail.size > 1:  # exponential damping, ending exactly at zero
        y[n_on:] *= np.exp(-tail / release) * np.cos(0.5 * np.pi * tail / tail[-1])
    return y


# ----------------------------------------------------------------------------------------------
# Phrases


SCALES = {
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "blues": (0, 3, 5, 6, 7, 10),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
}
CHORD_SHAPES = {  # frets low E -> high E, -1 = not played
    "E": (0, 2, 2, 1, 0, 0),
    "Em": (0, 2, 2, 0, 0, 0),
    "A": (-1, 0, 2, 2, 2, 0),
    "Am": (-1, 0, 2, 2, 1, 0),
    "D": (-1, -1, 0, 2, 3, 2),
    "Dm": (-1, -1, 0, 2, 3, 1),
    "G": (3, 2, 0, 0, 0, 3),
    "C": (-1, 3, 2, 0, 1, 0),
}


def _barre(root_fret: int, shape: str) -> tuple[int, ...]:
    r = root_fret
    return {
        "E_major": (r, r + 2, r + 2, r + 1, r, r),
        "E_minor": (r, r + 2, r + 2, r, r, r),
        "A_major": (-1, r, r + 2, r + 2, r + 2, r),
        "A_minor": (-1, r, r + 2, r + 2, r + 1, r),
        "power6": (r, r + 2, r + 2, -1, -1, -1),
        "power5": (-1, r, r + 2, r + 2, -1, -1),
    }[shape]


def _random_chord(rng: np.random.Generator) -> tuple[int, ...]:
    if rng.random() < 0.45:
        return CHORD_SHAPES[str(rng.choice(list(CHORD_SHAPES)))]
    shape = str(rng.choice(["E_major", "E_minor", "A_major", "A_minor", "power6", "power5"]))
    return _barre(int(rng.integers(1, 13)), shape)


def _positions(key: int, scale: tuple[int, ...], lo_fret: int, hi_fret: int, strings) -> list:
    """(string, fret, midi) of the scale's notes inside a fret window, sorted by pitch."""
    pos = [
        (s, f, OPEN_MIDI[s] + f)
        for s in strings
        for f in range(lo_fret, min(hi_fret, N_FRETS) + 1)
        if (OPEN_MIDI[s] + f - key) % 12 in scale
    ]
    return sorted(pos, key=lambda p: (p[2], -p[0]))


def _melody(rng: np.random.Generator, positions: list, count: int, max_step: int) -> list:
    """A random walk over scale positions, mostly stepwise with occasional leaps."""
    i = int(rng.integers(len(positions)))
    out = []
    for _ in range(count):
        out.append(positions[i])
        step = int(rng.integers(-max_step, max_step + 1)) if rng.random() < 0.85 else int(rng.integers(-6, 7))
        i = int(np.clip(i + step, 0, len(positions) - 1))
    return out


def _phrase_single(rng: np.random.Generator, length: float) -> list[Note]:
    """A single-note line somewhere on the neck: 8ths, triplets or 16ths, legato or staccato."""
    beat = 60.0 / rng.uniform(70, 160)
    per_beat = int(rng.choice([2, 3, 4]))
    ioi = beat / per_beat
    lo = int(rng.integers(0, 20))  # fret window lo..lo+4, anywhere up to the 24th fret
    positions = _positions(int(rng.integers(40, 52)), SCALES[str(rng.choice(list(SCALES)))],
                           lo, lo + 4, range(6))
    legato = rng.uniform(0.35, 1.5)
    notes, step = [], 0
    for s, f, _ in _melody(rng, positions, max(1, int(length / ioi)), 2):
        if step * ioi >= length:
            break
        steps = 2 if rng.random() < 0.15 else 1
        if rng.random() > 0.08:  # otherwise a rest
            accent = 1.4 if step % per_beat == 0 else 1.0
            notes.append(Note(step * ioi, steps * ioi * legato, s, f, accent * _vel(rng)))
        step += steps
    return notes


def _vel(rng: np.random.Generator, spread_db: float = 3.0) -> float:
    return float(10.0 ** (rng.uniform(-spread_db, spread_db) / 20.0))


def _strum(rng, t: float, shape: tuple[int, ...], down: bool, vel: float, hold: float) -> list[Note]:
    """One strum: the pick crosses the strings a few ms apart (downstroke from low E)."""
    strings = [s for s in range(6) if shape[s] >= 0]
    if not down:  # upstrokes usually catch only the top strings
        strings = strings[-int(rng.integers(3, len(strings) + 1)):][::-1]
    gap = rng.uniform(0.004, 0.012)
    return [
        Note(t + i * gap * rng.uniform(0.7, 1.3), hold, s, shape[s], vel * _vel(rng, 2.0) * (0.9**i))
        for i, s in enumerate(strings)
    ]


def _phrase_chords(rng: np.random.Generator, length: float) -> list[Note]:
    """Strummed chords (8th-note patterns) or, sometimes, an arpeggio that lets the strings ring."""
    beat = 60.0 / rng.uniform(70, 140)
    per_chord = beat * int(rng.choice([2, 4]))
    notes: list[Note] = []
    arpeggio = rng.random() < 0.3
    t = 0.0
    while t < length - 1e-9:
        shape = _random_chord(rng)
        end = min(t + per_chord, length)
        if arpeggio:
            strings = [s for s in range(6) if shape[s] >= 0]
            order = strings + strings[-2:0:-1]
            step = beat / 2
            for i, tt in enumerate(np.arange(t, end - 1e-9, step)):
                s = order[i % len(order)]
                notes.append(Note(float(tt), end - tt + 0.05, s, shape[s], _vel(rng)))
        else:
            hits = [(tt, k % 2 == 0) for k, tt in enumerate(np.arange(t, end - 1e-9, beat / 2))
                    if rng.random() < (0.9 if k % 2 == 0 else 0.55)]
            for j, (tt, down) in enumerate(hits):
                nxt = hits[j + 1][0] if j + 1 < len(hits) else end + 0.4
                notes += _strum(rng, float(tt), shape, down, 1.0 if down else 0.7, nxt - tt)
        t = end
    return notes


def _phrase_chugs(rng: np.random.Generator, length: float) -> list[Note]:
    """Palm-muted low notes on a 16th grid, with open power-chord accents."""
    sixteenth = 60.0 / rng.uniform(90, 170) / 4
    root_string = int(rng.choice([0, 0, 1]))
    root = int(rng.choice([0, 0, 1, 3, 5, 7]))
    notes: list[Note] = []
    grid = np.arange(0.0, length - 1e-9, sixteenth)
    for k, t in enumerate(grid):
        u = rng.random()
        if u < 0.68:
            notes.append(Note(float(t), rng.uniform(0.07, 0.16), root_string, root, _vel(rng) * 0.9,
                              muted=True))
        elif u < 0.85:
            hold = min(sixteenth * int(rng.integers(2, 5)), length - t)
            shape = _barre(root, "power6" if root_string == 0 else "power5")
            notes += _strum(rng, float(t), shape, True, 1.2, hold)
            if k % 4 == 0 and rng.random() < 0.5:
                root = int(np.clip(root + rng.choice([-2, 2, 3, 5]), 0, 9))
    return notes


def _phrase_lead(rng: np.random.Generator, length: float) -> list[Note]:
    """Lead line high on the neck: longer notes with bends (some released) and vibrato."""
    beat = 60.0 / rng.uniform(60, 130)
    lo = int(rng.integers(5, 21))
    positions = _positions(int(rng.integers(40, 52)), SCALES[str(rng.choice(["minor_pentatonic", "blues",
                                                                             "major_pentatonic", "dorian"]))],
                           lo, lo + 4, range(2, 6))
    notes, t = [], 0.0
    for s, f, _ in _melody(rng, positions, max(1, int(length / (beat / 2))), 2):
        if t >= length:
            break
        hold = beat * float(rng.choice([0.5, 0.5, 1.0, 1.0, 2.0, 3.0]))
        kw: dict = {}
        if hold >= beat and rng.random() < 0.5:
            kw.update(bend_cents=float(rng.choice([100.0, 200.0, 200.0, 150.0])),
                      bend_at=rng.uniform(0.0, 0.08), bend_rise=rng.uniform(0.06, 0.22))
            if rng.random() < 0.4:
                kw["bend_release"] = kw["bend_at"] + kw["bend_rise"] + rng.uniform(0.1, 0.4)
        if hold >= 0.3 and rng.random() < 0.75:
            kw.update(vib_cents=rng.uniform(12.0, 45.0), vib_hz=rng.uniform(4.8, 7.0),
                      vib_delay=rng.uniform(0.05, 0.3))
        notes.append(Note(t, min(hold * rng.uniform(0.85, 1.1), length - t + 0.3), s, f,
                          _vel(rng) * 1.2, **kw))
        t += hold
    return notes


PHRASES = {"single": _phrase_single, "chords": _phrase_chords, "chugs": _phrase_chugs, "lead": _phrase_lead}


def _cut_at_restrike(notes: list[Note]) -> list[Note]:
    """A re-plucked string stops ringing: end each note where the next one on its string starts."""
    notes = sorted(notes, key=lambda n: n.onset)
    out = []
    for i, n in enumerate(notes):
        nxt = next((m.onset for m in notes[i + 1:] if m.string == n.string), None)
        dur = n.dur if nxt is None else min(n.dur, max(0.01, nxt - n.onset - 0.003))
        out.append(replace(n, dur=dur))
    return out


def _render_phrase(kind: str, length: float, peak_dbfs: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A phrase of `length` s (plus the ringing tail, at most 0.6 s) scaled to a peak level."""
    tone = Tone(
        pickup_pos=float(rng.choice([0.06, 0.06, 0.12, 0.25])),  # bridge, middle, neck
        pickup_hz=rng.uniform(2800.0, 5500.0),
        pickup_q=rng.uniform(1.2, 3.0),
        pick_hz=rng.uniform(1800.0, 5000.0),
    )
    notes = _cut_at_restrike(PHRASES[kind](rng, length))
    n_total = int((length + 0.8) * sr)
    buf = np.zeros(n_total)
    swell = rng.uniform(-6.0, 6.0) if rng.random() < 0.25 else 0.0  # crescendo / decrescendo
    for note in notes:
        gain = 10.0 ** (swell * (note.onset / max(length, 1e-9) - 0.5) / 20.0)
        note = replace(note, dur=min(note.dur, length + 0.6 - note.onset))
        y = _render_note(note, tone, sr, rng)
        start = int(note.onset * sr)
        y = y[: n_total - start]
        buf[start : start + y.size] += gain * y
    peak = np.abs(buf).max()
    if peak > 0:
        buf *= 10.0 ** (peak_dbfs / 20.0) / peak
    return buf


# ----------------------------------------------------------------------------------------------
# Test signals


def _fade(x: np.ndarray, sr: int, seconds: float = 0.005) -> np.ndarray:
    n = min(int(seconds * sr), x.size // 4)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def _test_section(scale: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Silence, a log sweep 20 Hz-20 kHz, steady sines, noise bursts; nominal 21 s x scale."""
    parts = []

    def silence(s: float) -> None:
        parts.append(np.zeros(int(s * scale * sr)))

    silence(1.0)
    n = max(int(10.0 * scale * sr), 2)
    f1, f2 = 20.0, min(20_000.0, 0.45 * sr)
    t = np.arange(n) / sr
    dur = n / sr
    k = np.log(f2 / f1)
    sweep = np.sin(2 * np.pi * f1 * dur / k * (np.exp(t * k / dur) - 1.0))  # exponential (Farina) sweep
    parts.append(_fade(10.0 ** (-12 / 20) * sweep, sr))
    silence(0.5)
    for f, level_db in ((82.41, -18.0), (440.0, -6.0), (1000.0, -30.0), (3150.0, -12.0)):
        n = int(1.5 * scale * sr)
        parts.append(_fade(10.0 ** (level_db / 20) * np.sin(2 * np.pi * f * np.arange(n) / sr), sr))
        silence(0.25)
    for rms_db in (-36.0, -24.0, -15.0):
        n = int(0.4 * scale * sr)
        parts.append(_fade(10.0 ** (rms_db / 20) * rng.standard_normal(n), sr))
        silence(0.4)
    silence(0.1)
    return np.concatenate(parts)


# ----------------------------------------------------------------------------------------------


def repeat_layout(n_total: int, sr: int) -> tuple[int, int, int] | None:
    """Where `make_dry` repeats a section: (first copy's start, second copy's start, length) in
    samples, or None when the recording is too short (under 0.1 s per copy).

    The block [gap | copy | gap | copy | gap] ends a margin (1 % of the length, at least 0.1 s,
    more than alignment trims) before the end, and starts after the last REPEAT_PART of the
    recording begins, with the same margin.
    """
    margin = max(int(0.1 * sr), n_total // 100)
    part = int(REPEAT_PART * n_total) - 2 * margin
    length = min(int(REPEAT_S * sr), int(REPEAT_FRACTION * n_total))
    gap = max(1, length // 20)
    if length < int(0.1 * sr) or 2 * length + 3 * gap > part:
        return None
    second = n_total - margin - gap - length
    first = second - gap - length
    return first, second, length


def _fade_edges(x: np.ndarray, start: int, stop: int, sr: int, seconds: float = 0.01) -> None:
    """Fade the material out just before `start` and in just after `stop` (no clicks at the cuts)."""
    n = int(seconds * sr)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / max(n, 1))
    lo = max(0, start - n)
    x[lo:start] *= ramp[::-1][n - (start - lo):]
    hi = min(x.size, stop + n)
    x[stop:hi] *= ramp[:hi - stop]


def make_dry(duration_s: float = 480.0, sample_rate: int = 44100, seed: int = 0) -> np.ndarray:
    """Deterministic dry guitar program material, float32 mono, `duration_s` long, peak <= 0.9.

    Starts with a test-signal section (at most 21 s), then phrases whose kinds cycle through a
    shuffled order of single notes, chords, chugs and lead lines, so even a few seconds hold all
    of them; each group of four phrases spans soft, medium (x2) and hard levels. Near the end, one
    section is played twice (see `repeat_layout`).
    """
    if not duration_s > 0:
        raise ConfigError(f"bench duration_s must be positive, got {duration_s}")
    if sample_rate < 8000:
        raise ConfigError(f"bench sample_rate must be at least 8000 Hz, got {sample_rate}")
    if seed < 0:
        raise ConfigError(f"bench seed must be >= 0, got {seed}")
    sr = int(sample_rate)
    n_total = int(round(duration_s * sr))
    rng = _rng(seed, "dry-material")
    out = np.zeros(n_total + int(1.0 * sr))  # room for the last phrase's tail
    test = _test_section(min(1.0, TEST_FRACTION * duration_s / TEST_SECTION_S), sr, rng)
    out[: min(test.size, n_total)] = test[:n_total]
    t = test.size / sr
    playing = max(duration_s - t, 0.0)
    cycle: list[tuple[str, str]] = []
    while t < duration_s - 0.05:
        if not cycle:
            kinds = list(rng.permutation(KINDS))
            tiers = list(rng.permutation(["soft", "medium", "medium", "hard"]))
            cycle = list(zip(kinds, tiers, strict=True))
        kind, tier = cycle.pop()
        # Phrases of 2-7 s; a short recording gets four (with their gaps), one of each kind.
        length = min(rng.uniform(2.0, 7.0), max(playing / 4.3, 0.2), duration_s - t)
        phrase = _render_phrase(kind, length, rng.uniform(*LEVEL_TIERS_DBFS[tier]), sr, rng)
        start = int(t * sr)
        phrase = phrase[: out.size - start]
        out[start : start + phrase.size] += phrase
        t += length + (rng.uniform(0.0, 0.06 * length) if rng.random() < 0.6 else 0.0)
    out = out[:n_total]
    layout = repeat_layout(n_total, sr)
    if layout is not None:
        first, second, length = layout
        gap = second - first - length
        section = _fade(out[first:first + length].copy(), sr, 0.01)
        # Silence before, between and after the copies, so both start from the same (rested) state.
        out[first - gap:second + length + gap] = 0.0
        out[first:first + length] = section
        out[second:second + length] = section
        _fade_edges(out, first - gap, second + length + gap, sr)
    if n_total:
        out[-min(n_total, int(0.01 * sr)):] *= np.linspace(1.0, 0.0, min(n_total, int(0.01 * sr)))
        peak = np.abs(out).max()
        if peak > PEAK_LIMIT:  # overlapping tails can add up; keep the headroom the docs promise
            out *= PEAK_LIMIT / peak
    return out.astype(np.float32)
