/* drywet's vector helpers, one copy for all its C files (drywet/lstm/stream_kernel.c, drywet/lstm/cpu.c,
 * drywet/wavenet/wavenet_kernel.c; drywet.native compiles them with this folder on the include path
 * and counts this file in each library's cache key). GCC/Clang vector extensions, so they build on
 * any target: `vf` is VEC floats (the includer defines VEC, 8 or 16: one AVX register or one AVX-512
 * register), `vi` as many ints.
 *
 * Two tanh approximations, kept apart because each loop's numbers depend on its own (a trained or
 * streamed model's bytes do not change when this file is shared):
 *   tanh_fit / sigmoid_fit   the streaming loop's clamped rational function, the fit in
 *                            drywet/lstm/activation.py (TANH_P, TANH_Q, TANH_CLIP, written out below);
 *   tanh_exp / sigmoid_exp   the training kernel's, through a Cephes-style exp (to ~1 ulp). */

#ifndef DRYWET_VEC_H
#define DRYWET_VEC_H

#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#if !defined(VEC) || (VEC != 8 && VEC != 16)
#error "define VEC (8 or 16) before including vec.h"
#endif

#define ALWAYS static inline __attribute__((always_inline))

typedef float vf __attribute__((vector_size(4 * VEC), aligned(4 * VEC)));
typedef float vfu __attribute__((vector_size(4 * VEC), aligned(4)));  /* unaligned: rows at any offset */
typedef int vi __attribute__((vector_size(4 * VEC)));

ALWAYS vf splat(float v) {
#if VEC == 16
    return (vf){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v};
#else
    return (vf){v, v, v, v, v, v, v, v};
#endif
}

/* A vector from / to any address (no alignment asked). */
ALWAYS vf ld(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
ALWAYS void st(float *p, vf v) { memcpy(p, &v, sizeof v); }
ALWAYS vf loadu(const float *p) { return *(const vfu *)p; }

/* The sum of the lanes (a tree: 4 shuffles and 4 adds on AVX-512). */
ALWAYS float hsum(vf v) {
#if VEC == 16 && defined(__AVX512F__)
    return _mm512_reduce_add_ps((__m512)v);
#else
    float sum = 0.0f;
    for (int i = 0; i < VEC; i++) sum += v[i];
    return sum;
#endif
}

/* --- tanh_fit: the streaming loop's fitted tanh (drywet/lstm/activation.py) --- */

static const float TANH_P0 = 9.99999426e-01f, TANH_P1 = 1.29226993e-01f, TANH_P2 = 2.94852558e-03f,
                   TANH_P3 = 1.14148137e-05f;
static const float TANH_Q1 = 4.62558200e-01f, TANH_Q2 = 2.38035714e-02f, TANH_Q3 = 2.38397288e-04f,
                   TANH_Q4 = 2.45728158e-07f;
static const float TANH_CLIP = 7.9f;

ALWAYS vf clamp_fit(vf x) {
#if VEC == 16 && defined(__AVX512DQ__)
    return (vf)_mm512_range_ps((__m512)x, _mm512_set1_ps(TANH_CLIP), 0x02);  /* sign(x) min(|x|, CLIP) */
#elif VEC == 16 && defined(__AVX512F__)
    return (vf)_mm512_min_ps(_mm512_max_ps((__m512)x, _mm512_set1_ps(-TANH_CLIP)), _mm512_set1_ps(TANH_CLIP));
#else
    for (int i = 0; i < VEC; i++) x[i] = x[i] < -TANH_CLIP ? -TANH_CLIP : (x[i] > TANH_CLIP ? TANH_CLIP : x[i]);
    return x;
#endif
}

/* scale * tanh(x) + offset, the rational function evaluated for a short dependency chain (Estrin's
 * scheme; n / d as n r + n r (1 - d r) with r the reciprocal estimate on AVX-512): what decides the
 * streaming loop's speed is the chain from the gates through the cell to h, which the next sample
 * waits for. */
ALWAYS vf act_fit(vf x, float scale, float offset) {
    x = clamp_fit(x);
    const vf u = x * x, u2 = u * u;
    const vf num = (splat(scale * TANH_P1) * u + splat(scale * TANH_P0))
                   + u2 * (splat(scale * TANH_P3) * u + splat(scale * TANH_P2));
    const vf den = (splat(TANH_Q1) * u + splat(1.0f)) + u2 * ((splat(TANH_Q3) * u + splat(TANH_Q2)) + u2 * splat(TANH_Q4));
    const vf n = x * num;
#if VEC == 16 && defined(__AVX512F__)
    const vf r = (vf)_mm512_rcp14_ps((__m512)den);
    const vf y0 = n * r;
    return y0 * (splat(1.0f) - den * r) + (offset != 0.0f ? y0 + splat(offset) : y0);
#else
    return n / den + splat(offset);
#endif
}

ALWAYS vf tanh_fit(vf x) { return act_fit(x, 1.0f, 0.0f); }

/* The logistic function of the halved gate value v / 2 = x: 0.5 + 0.5 tanh(x). */
ALWAYS vf sigmoid_fit(vf x) { return act_fit(x, 0.5f, 0.5f); }

/* --- tanh_exp: the training kernel's tanh and logistic, through exp --- */

/* exp(x) to ~1 ulp for x in [-87, 88] (Cephes expf: 2^n times a degree-6 polynomial); x is clamped there. */
ALWAYS vf vexp(vf x) {
    vf lo = splat(-87.0f), hi = splat(88.0f);
    vi m = x < lo;
    x = (vf)(((vi)x & ~m) | ((vi)lo & m));
    m = x > hi;
    x = (vf)(((vi)x & ~m) | ((vi)hi & m));
    const vf magic = splat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    vf t = x * 1.44269504088896341f + magic;
    vf n = t - magic;
    vi ni = (vi)t - (vi)magic;
    vf r = x - n * 0.693359375f + n * 2.12194440e-4f;
    vf p = splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    vf e = p * r * r + r + 1.0f;
    return (vf)((vi)e + (ni << 23));
}

ALWAYS vf sigmoid_exp(vf x) { return 1.0f / (1.0f + vexp(-x)); }
ALWAYS vf tanh_exp(vf x) { return 2.0f / (1.0f + vexp(-2.0f * x)) - 1.0f; }

#endif
