"""What each released plugin does around the model with its default settings (`Host`): the filters,
gains and gate on the audio before and after the model, NAM's fast tanh inside it, and the prewarm,
each written from the plugin's own source (tags and lines below), at the host's sample rate as the
source computes it. Arrays in, arrays out; `drywet.export.bundle` plays each file through its
plugins' hosts for `exports.json`.

Left out, and said so in each `adds`: output level only (NAM's Normalized output, Proteus' Master
0.5), the cabinet IRs AIDA-X and Proteus load by default, the tone stacks (flat at their defaults).

    Neural Amp Modeler plugin v0.7.13 (NeuralAmpModeler/NeuralAmpModeler.cpp; its NeuralAmpModelerCore
    is v0.2.0, its AudioDSPTools 008718f)
        cpp:82          Activation::enable_fast_tanh(): every tanh and logistic of the LSTM
                        (core NAM/lstm.cpp:44-54) and the WaveNets' "Tanh" (core NAM/activations.cpp:26-35)
        cpp:88-89       noise gate on, threshold -80 dB
        cpp:306-330     gate parameters (time 0.01 s, ratio 0.1, open 5 ms, hold 10 ms, close 50 ms);
                        its trigger reads the model's input, its gain scales the model's output
        cpp:84-86, 90   tone stack on at Bass / Middle / Treble 5: 0 dB each (ToneStack.cpp:29-58), flat
        cpp:23, 340-345 DC blocker: AudioDSPTools' first-order HighPass at 5 Hz
        cpp:91, 655-669 Output mode Normalized: gain -18 dB - the file's loudness (level only)
        AudioDSPTools dsp/NoiseGate.cpp:36-110, NoiseGate.h:26-27, 112-118: the gate (`gate_gain`)
        AudioDSPTools dsp/RecursiveLinearFilter.h:136-169: y[n] = a (y[n-1] + x[n] - x[n-1]),
                        a = 1 / (1 + 2 pi f / rate)
        core NAM/lstm.cpp:87-93, dsp.cpp:22-45: 0.5 s of zeros through a loaded LSTM (prewarm)
    AIDA-X 1.1.0 (src/aidadsp-plugin.cpp, src/DistrhoPluginCommon.hpp, src/Biquad.cpp)
        Common.hpp:132   ANTIALIASING 66.216 %; plugin.cpp:48-49, 81: the input low-pass's Fc (a
                         fraction of the rate) maps 0-100 % to 0.495-0.125: 0.25 x rate by default;
                         plugin.cpp:521-522: 0 % turns it off
        plugin.cpp:57-58, 43  both filters are Biquads of Q 0.707
        plugin.cpp:79    DC blocker high-pass at 35 Hz / rate; Common.hpp:152: DCBLOCKER on
        plugin.cpp:1011-1041  low-pass, pre-gain (0 dB), model, DC blocker, cabinet, EQ (0 dB), master
        Biquad.cpp:67-88 lowpass / highpass: K = tan(pi Fc), norm = 1 / (1 + K/Q + K^2), ...;
                         Biquad.h:53-58: transposed direct form II
    Proteus 1.2 (src/PluginProcessor.cpp, tag v1.2)
        cpp:26           Drive defaults to 0.5; cpp:203: input x 2.5 Drive (x 1.25), before the model
        cpp:126, 239     DC blocker: JUCE IIR::Coefficients::makeHighPass(rate, 35 Hz), Q 1/sqrt(2)
                         (juce_dsp/processors/juce_IIRFilter.cpp), after the model, at the host rate
        cpp:30, 253-264  cabinet IR (x 2) and Master 0.5 (x 0.5); Eq4Band at 0 dB is flat (Eq4Band.cpp)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from drywet.export.players import njit

NAM_GATE_DB = -80.0  # NeuralAmpModeler.cpp:88
NAM_DC_HZ = 5.0  # NeuralAmpModeler.cpp:23 kDCBlockerFrequency
AIDAX_LPF_PERCENT = 66.216  # DistrhoPluginCommon.hpp:132 ANTIALIASING default
AIDAX_Q = float(np.float32(0.707))  # aidadsp-plugin.cpp:43 COMMON_Q (a float)
DC_HZ = 35.0  # AIDA-X aidadsp-plugin.cpp:79, Proteus PluginProcessor.cpp:126
PROTEUS_DRIVE = 0.5  # PluginProcessor.cpp:26


def biquad(kind: str, fc: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of a second-order "lowpass" / "highpass" at `fc` (a fraction of the rate) and Q `q`,
    as AIDA-X's Biquad.cpp:67-88 and JUCE's makeHighPass compute them (the bilinear transform with
    K = tan(pi fc))."""
    k = np.tan(np.pi * fc)
    norm = 1.0 / (1.0 + k / q + k * k)
    b = norm * (np.array([k * k, 2 * k * k, k * k]) if kind == "lowpass" else np.array([1.0, -2.0, 1.0]))
    return b, np.array([1.0, 2.0 * (k * k - 1.0) * norm, (1.0 - k / q + k * k) * norm])


def aidax_lowpass_fc(percent: float = AIDAX_LPF_PERCENT) -> float:
    """AIDA-X's input low-pass corner as a fraction of the rate, computed in float32 as
    aidadsp-plugin.cpp:37-40, 48-49, 81 do (MAP of 0-100 % onto 0.99/2 .. 0.25/2)."""
    f32 = np.float32
    hi, lo = f32(0.99) * f32(0.5), f32(0.25) * f32(0.5)
    return float((f32(percent) - f32(0.0)) * (lo - hi) / (f32(100.0) - f32(0.0)) + hi)


def nam_dc_blocker(y: np.ndarray, rate: int, hz: float = NAM_DC_HZ) -> np.ndarray:
    """AudioDSPTools' HighPass (RecursiveLinearFilter.h:136-169): y[n] = a (y[n-1] + x[n] - x[n-1])."""
    a = 1.0 / (2.0 * np.pi * hz / rate + 1.0)
    return lfilter([a, -a], [1.0, -a], y)


@njit
def _gate_db(x, rate, threshold, ratio, time, open_s, hold_s, close_s):  # pragma: no cover - compiled
    """The gain reduction (dB as the gate counts them) per sample, from a freshly built gate: closed,
    its level at the floor (NoiseGate.cpp:36-100, 112-145)."""
    floor_db = -120.0  # NoiseGate.h:26 MINIMUM_LOUDNESS_DB
    floor = 10.0 ** (floor_db / 10.0)
    alpha = 0.5 ** (1.0 / (time * rate))
    dt = 1.0 / rate
    most = -ratio * (floor_db - threshold) ** 2 if floor_db < threshold else 0.0
    d_open, d_close = -most / open_s * dt, most / close_s * dt
    level, last, held, holding = floor, most, 0.0, False
    out = np.empty(len(x))
    for s in range(len(x)):
        level = min(max(alpha * level + (1.0 - alpha) * x[s] * x[s], floor), 1000.0)
        level_db = 10.0 * np.log10(level)
        if holding:
            out[s] = last = 0.0
            if level_db < threshold:
                held += dt
                holding = held < hold_s
            else:
                held = 0.0
            continue
        target = -ratio * (level_db - threshold) ** 2 if level_db < threshold else 0.0
        if target > last:
            last += min(max(0.5 * (target - last), 0.0), d_open)
            if last >= 0.0:
                last, holding, held = 0.0, True, 0.0
        elif target < last:
            last = max(last + min(max(0.5 * (target - last), d_close), 0.0), most)
        out[s] = last
    return out


def gate_gain(x: np.ndarray, rate: int, threshold: float = NAM_GATE_DB) -> np.ndarray:
    """The NAM plugin's noise gate gain per sample for input `x` (its trigger, NeuralAmpModeler.cpp:
    306-317, 329-330): a 10 ms power average; below `threshold` dB a reduction of 0.1 (level -
    threshold)^2 dB, applied as 10^(dB/10) (NoiseGate.cpp:20-23, 179), opening within 5 ms, closing
    over 50 ms after 10 ms held; built closed (so the first ~5 ms of a take after silence are cut)."""
    x = np.ascontiguousarray(x, np.float64)
    return 10.0 ** (_gate_db(x, float(rate), threshold, 0.1, 0.01, 0.005, 0.01, 0.05) / 10.0)


def aidax_lowpass(x: np.ndarray, rate: int) -> np.ndarray:
    """AIDA-X's default input low-pass (0.25 x `rate`, Q 0.707)."""
    return lfilter(*biquad("lowpass", aidax_lowpass_fc(), AIDAX_Q), x)


def _dc_blocker(q: float) -> Callable[[np.ndarray, np.ndarray, int], np.ndarray]:
    """The 35 Hz second-order high-pass AIDA-X (Q 0.707) and Proteus (Q 1/sqrt 2) run after the model."""
    def after(y: np.ndarray, x: np.ndarray, rate: int) -> np.ndarray:
        return lfilter(*biquad("highpass", DC_HZ / rate, q), y)
    return after


def _same(x: np.ndarray, rate: int) -> np.ndarray:
    return x


def _unchanged(y: np.ndarray, x: np.ndarray, rate: int) -> np.ndarray:
    return y


@dataclass(frozen=True)
class Host:
    """A released plugin's default processing around the model.

    before(dry, rate Hz): what reaches the model; after(model output, model input, rate Hz): what the
    player hears; fast_tanh: the plugin computes the model's tanh and logistic with NAM's approximation;
    adds: what it does by default (one line); to_match: the settings that play the model alone, or
    None when no setting does."""

    adds: str
    to_match: str | None
    before: Callable[[np.ndarray, int], np.ndarray] = _same
    after: Callable[[np.ndarray, np.ndarray, int], np.ndarray] = _unchanged
    fast_tanh: bool = False


NAM_HOST = Host(
    adds=("fast tanh approximation in the model, 0.5 s prewarm, noise gate at -80 dB (cuts the first ~5 ms after "
          "silence), 5 Hz DC blocker; also Normalized output level (not counted: level only); no setting turns "
          "the fast tanh or the DC blocker off (Noise Gate off removes the gate)"),
    to_match=None,
    after=lambda y, x, rate: nam_dc_blocker(y * gate_gain(x, rate), rate),
    fast_tanh=True)
AIDAX_HOST = Host(
    adds=("input low-pass at 0.25 x the host rate (ANTIALIASING 66 %: 12 kHz at 48 kHz), 35 Hz DC blocker after the "
          "model, 2048-sample prewarm; its default cabinet IR is left out"),
    to_match="ANTIALIASING 0 % and DCBLOCKER off (and the cabinet off)",
    before=aidax_lowpass,
    after=_dc_blocker(AIDAX_Q))
PROTEUS_HOST = Host(
    adds=(f"input x {2.5 * PROTEUS_DRIVE:g} (Drive {PROTEUS_DRIVE:g}), 35 Hz DC blocker after the model; its "
          "cabinet IR (x 2) and Master 0.5 are left out"),
    to_match="Drive 0.4 (unity input); no setting turns the DC blocker off",
    before=lambda x, rate: 2.5 * PROTEUS_DRIVE * x,
    after=_dc_blocker(1.0 / np.sqrt(2.0)))
