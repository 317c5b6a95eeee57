"""The streaming loops' tanh (drywet.stream): tanh(x) ~ x P(x^2) / Q(x^2) for |x| <= TANH_CLIP and
+-1 beyond, a minimax fit on [0, TANH_CLIP] (Lawson-weighted least squares; coefficients in
increasing powers of x^2). Evaluated in float32 it is within TANH_MAX_ERROR of tanh everywhere, the
clamp included (1 - tanh(7.9) = 2.7e-7). The logistic is 0.5 + 0.5 tanh(x / 2). The Numba loop
reads these numbers from here; the C loop (stream_kernel.c) has them written out, and
tests/test_stream.py checks that the two agree."""

TANH_CLIP = 7.9
TANH_P = (9.99999426e-01, 1.29226993e-01, 2.94852558e-03, 1.14148137e-05)
TANH_Q = (1.0, 4.62558200e-01, 2.38035714e-02, 2.38397288e-04, 2.45728158e-07)
TANH_MAX_ERROR = 5e-7
