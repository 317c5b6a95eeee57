"""Activation approximations, one copy each.

The LSTM streaming loops' tanh (drywet.lstm.stream): tanh(x) ~ x P(x^2) / Q(x^2) for |x| <= TANH_CLIP
and +-1 beyond, a minimax fit on [0, TANH_CLIP] (Lawson-weighted least squares; coefficients in
increasing powers of x^2). Evaluated in float32 it is within TANH_MAX_ERROR of tanh everywhere, the
clamp included (1 - tanh(7.9) = 2.7e-7). The logistic is 0.5 + 0.5 tanh(x / 2). The Numba loop
reads these numbers from here; the C loop has them written out (drywet/native/vec.h, `tanh_fit`), and
tests/lstm/test_stream.py checks that the two agree.

NAM's `fast_tanh`, which the NAM plugin
computes by default: the export players (drywet.export.players) and the WaveNet reference
(drywet.wavenet.weights) use it."""

import numpy as np

TANH_CLIP = 7.9
TANH_P = (9.99999426e-01, 1.29226993e-01, 2.94852558e-03, 1.14148137e-05)
TANH_Q = (1.0, 4.62558200e-01, 2.38035714e-02, 2.38397288e-04, 2.45728158e-07)
TANH_MAX_ERROR = 5e-7


def fast_tanh(x):
    """NeuralAmpModelerCore's rational approximation of tanh (`fast_tanh`, NAM/activations.h:28-35 at
    v0.2.0, the core the NAM plugin v0.7.13 builds; the same at v0.5.4, lines 91-98), for a float or
    a NumPy array (float64); its logistic is 0.5 (fast_tanh(x / 2) + 1) (`fast_sigmoid`). Plain
    Python: callers that need it compiled wrap it in numba.njit (drywet.export.players does)."""
    ax = np.abs(x)
    x2 = x * x
    return (x * (2.45550750702956 + 2.45550750702956 * ax + (0.893229853513558 + 0.821226666969744 * ax) * x2)
            / (2.44506634652299 + (2.44506634652299 + x2) * np.abs(x + 0.814642734961073 * x * ax)))
