/* The streaming loop of NAM's classic WaveNet (drywet/wavenet/stream.py lays out its arrays; NAM's
 * NeuralAmpModelerCore, NAM/wavenet/model.cpp, is the model it plays). Blocks of up to `block`
 * samples go through every layer in turn, each layer's work a few small matrix products over the
 * block: signals are channel-major (one row of `block` floats per channel), so every product is a
 * broadcast weight times 16 consecutive samples. Each dilated conv keeps its input in a ring, one
 * row per channel: the (K - 1) d frames it reaches back over, then room for new blocks; when the
 * room runs out the history is moved to the front (once per `cap - lookback` samples).
 *
 * An output sample's arithmetic (the order of every sum, the contractions into FMAs) is the same
 * whichever block or call it falls in, so the output does not depend on how a signal is cut into
 * calls. Blocks are padded to a multiple of 16 samples; the padding's values are never written to
 * a ring or the output. tanh and the gate's logistic are exact to float32 (see vexpm1), as NAM's
 * loader's tanhf and 1 / (1 + expf(-x)) are. Subnormal floats are flushed to zero during a call (x86).
 *
 * plan (int64): the number of layer arrays, then per array input_size, channels, head_size,
 * kernel_size, gated, layers, then per layer dilation and cap (ring frames).
 * params (float32), per array: rechannel (channels x input_size); per layer: the conv and input
 * mixer as one (mid x (channels kernel_size + 1)) matrix (conv (mid, channels, kernel) row-major,
 * the mixer as the last column), conv bias (mid), layer1x1 (channels x channels), its bias
 * (channels); head (head_size x channels), head bias (head_size, zeros when there is none).
 * state (float32): the rings, layer after layer, each channels x cap. pos (int64): each ring's
 * write position (frames); a stream from silence starts with zero rings and pos = (K - 1) d. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#define VEC 8
#include "vec.h"  /* drywet/native/vec.h: vf (8 floats), splat, loadu */

typedef double v8d __attribute__((vector_size(64), aligned(64)));  /* the activations' precision */
typedef int64_t v8l __attribute__((vector_size(64), aligned(64)));

#define TILE 16            /* samples per vector tile: two vf */
#define MAX_SOURCES 4097   /* rows a product reads: channels x kernel_size + 1 at most */

static inline __attribute__((always_inline)) v8d splatd(double v) { return (v8d){v, v, v, v, v, v, v, v}; }

/* out[o][t] = b[o] + sum_j w[o J + j] src[j][t] for o < rows, t < nt (a multiple of TILE), added to
 * out[o][t] when `acc`; out's rows `ld` floats apart, b may be NULL. Four rows by 16 samples at a
 * time: each source vector loaded serves four multiply-adds. */
static void matmul(int rows, int J, const float *restrict w, const float *const *restrict src,
                   const float *restrict b, int acc, float *restrict out, int ld, int nt) {
    for (int t = 0; t < nt; t += TILE) {
        int o = 0;
        for (; o + 4 <= rows; o += 4) {
            vf a[4][2];
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) a[r][0] = a[r][1] = splat(b ? b[o + r] : 0.0f);
            const float *w0 = w + (size_t)o * J;
            for (int j = 0; j < J; j++) {
                const vf s0 = loadu(src[j] + t), s1 = loadu(src[j] + t + 8);
                _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
                    const vf wv = splat(w0[(size_t)r * J + j]);
                    a[r][0] += wv * s0;
                    a[r][1] += wv * s1;
                }
            }
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
                vf *d = (vf *)(out + (size_t)(o + r) * ld + t);
                if (acc) {
                    d[0] += a[r][0];
                    d[1] += a[r][1];
                } else {
                    d[0] = a[r][0];
                    d[1] = a[r][1];
                }
            }
        }
        for (; o < rows; o++) {
            vf a0 = splat(b ? b[o] : 0.0f), a1 = a0;
            const float *w0 = w + (size_t)o * J;
            for (int j = 0; j < J; j++) {
                const vf wv = splat(w0[j]);
                a0 += wv * loadu(src[j] + t);
                a1 += wv * loadu(src[j] + t + 8);
            }
            vf *d = (vf *)(out + (size_t)o * ld + t);
            if (acc) {
                d[0] += a0;
                d[1] += a1;
            } else {
                d[0] = a0;
                d[1] = a1;
            }
        }
    }
}

/* tanh and the logistic, exact to float32: evaluated in double precision, where the error of the
 * method (about 1e-15 relative) is far below half a float32 ulp, then rounded once. The result is the
 * correctly rounded float32 value except where the true value lies within about 1e-15 of a rounding
 * boundary (then off by one ulp): at least as exact as the C library's tanhf (glibc allows it 2 ulp),
 * and vectorised, where a tanhf call per value would take nine tenths of the loop's time.
 * expm1(u) = 2^k (1 + p(r)) - 1 with u = k ln2 + r, |r| <= ln2 / 2 and p the Taylor series of
 * expm1 to r^11 (remainder under 2e-14 r). Checked against float64 tanh and logistic rounded to
 * float32 for every normal float with |x| < 100: tanh equal on all of them, the logistic off by one
 * ulp on 14 of 2.2e9 (glibc's tanhf is off by up to 2 ulp on 5 % of them). */
static inline __attribute__((always_inline)) v8d vexpm1(v8d u) {
    const double inv_ln2 = 1.4426950408889634, ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0;  /* 1.5 x 2^52: adding it rounds to an integer in the low bits */
    const v8d t = u * splatd(inv_ln2) + splatd(shifter);
    const v8d k = t - splatd(shifter);
    const v8d r = (u - k * splatd(ln2_hi)) - k * splatd(ln2_lo);
    v8d p = splatd(1.0 / 39916800.0);
    p = p * r + splatd(1.0 / 3628800.0);
    p = p * r + splatd(1.0 / 362880.0);
    p = p * r + splatd(1.0 / 40320.0);
    p = p * r + splatd(1.0 / 5040.0);
    p = p * r + splatd(1.0 / 720.0);
    p = p * r + splatd(1.0 / 120.0);
    p = p * r + splatd(1.0 / 24.0);
    p = p * r + splatd(1.0 / 6.0);
    p = p * r + splatd(0.5);
    p = (p * r + splatd(1.0)) * r;
    const v8l bits = ((v8l)t - (v8l)splatd(shifter) + 1023) << 52;  /* 2^k */
    const v8d scale = (v8d)bits;
    return scale * p + (scale - splatd(1.0));
}

static inline __attribute__((always_inline)) v8d vclamp(v8d u, double limit) {
    const v8l low = (v8l)(u < splatd(-limit)), high = (v8l)(u > splatd(limit));  /* lanes all ones where true */
    const v8l keep = ~(low | high);
    return (v8d)(((v8l)u & keep) | ((v8l)splatd(-limit) & low) | ((v8l)splatd(limit) & high));
}

/* tanh(x) = expm1(2x) / (expm1(2x) + 2); the logistic 1 / (1 + e^-x) = 1 / (2 + expm1(-x)). The
 * arguments are clamped where the float result no longer changes (|x| >= 20: tanh is +-1; x >= 104:
 * the logistic is 1, x <= -104: it rounds to 0). */
static inline __attribute__((always_inline)) v8d vtanh(v8d x) {
    const v8d em = vexpm1(vclamp(x + x, 40.0));
    return em / (em + splatd(2.0));
}

static inline __attribute__((always_inline)) v8d vsigmoid(v8d x) {
    return splatd(1.0) / (splatd(2.0) + vexpm1(vclamp(-x, 104.0)));
}

static inline __attribute__((always_inline)) v8d widen(const float *p) { return __builtin_convertvector(*(const vfu *)p, v8d); }
static inline __attribute__((always_inline)) void narrow(float *p, v8d v) { *(vfu *)p = __builtin_convertvector(v, vfu); }

/* tanh and the logistic of n floats (n a multiple of 8) as the loop computes them, for tests. */
void drywet_wavenet_activations(const float *x, long n, float *tanh_out, float *sigmoid_out) {
    for (long i = 0; i + 8 <= n; i += 8) {
        narrow(tanh_out + i, vtanh(widen(x + i)));
        narrow(sigmoid_out + i, vsigmoid(widen(x + i)));
    }
}

/* The activation in place over the first `channels` rows of z: tanh, or (gated) tanh of the top
 * half times the logistic of the bottom half (the product in double, rounded once); the padding
 * (t >= size) set to zero. */
static void activate(float *restrict z, int channels, int gated, int size, int nt, int ld) {
    for (int c = 0; c < channels; c++) {
        float *row = z + (size_t)c * ld;
        if (gated) {
            const float *gate = z + (size_t)(channels + c) * ld;
            for (int t = 0; t < nt; t += 8) narrow(row + t, vtanh(widen(row + t)) * vsigmoid(widen(gate + t)));
        } else {
            for (int t = 0; t < nt; t += 8) narrow(row + t, vtanh(widen(row + t)));
        }
        for (int t = size; t < nt; t++) row[t] = 0.0f;
    }
}

/* Floats of scratch a call needs for this plan and block: the input block, two residual streams,
 * the conv output, the head sum and the head output. -1 for a malformed plan. */
long drywet_wavenet_scratch_floats(const int64_t *plan, int block) {
    const int64_t arrays = plan[0];
    const int64_t *p = plan + 1;
    int64_t rows = 1, mid = 1;
    if (arrays < 1) return -1;
    for (int64_t a = 0; a < arrays; a++) {
        const int64_t in = p[0], ch = p[1], head = p[2], layers = p[5];
        const int64_t m = p[4] ? 2 * ch : ch;
        rows = in > rows ? in : rows;
        rows = ch > rows ? ch : rows;
        rows = head > rows ? head : rows;
        mid = m > mid ? m : mid;
        p += 6 + 2 * layers;
    }
    return (long)block * (1 + 4 * rows + mid);
}

/* 0 on success; -1: block not a positive multiple of TILE, scratch too small or not 32-byte
 * aligned, a ring too short for its lookback and a block, or a layer over MAX_SOURCES inputs. */
int drywet_wavenet(const int64_t *plan, const float *params, float *state, int64_t *pos, const float *x, long n,
                   float *y, float head_scale, int block, float *scratch, long scratch_floats) {
    if (block < TILE || block % TILE || (size_t)scratch % 32 ||
        drywet_wavenet_scratch_floats(plan, block) < 0 || scratch_floats < drywet_wavenet_scratch_floats(plan, block))
        return -1;
    const int64_t arrays = plan[0];
    int64_t rows = 1;
    {
        const int64_t *p = plan + 1;
        for (int64_t a = 0; a < arrays; a++) {
            const int64_t in = p[0], ch = p[1], head = p[2], k = p[3], layers = p[5];
            rows = in > rows ? in : rows;
            rows = ch > rows ? ch : rows;
            rows = head > rows ? head : rows;
            if (ch * k + 1 > MAX_SOURCES || in > MAX_SOURCES) return -1;
            for (int64_t l = 0; l < layers; l++)
                if (p[7 + 2 * l] < (k - 1) * p[6 + 2 * l] + block) return -1;
            p += 6 + 2 * layers;
        }
    }
    float *xs = scratch, *res0 = xs + block, *res1 = res0 + rows * block, *hd0 = res1 + rows * block,
          *ho0 = hd0 + rows * block, *z = ho0 + rows * block;
    const float *srcs[MAX_SOURCES];
#if defined(__SSE2__)
    /* As audio plugins do: a signal decaying through silence would otherwise reach the subnormal
     * range, where each multiply-add with it takes a microcode assist. */
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040); /* FTZ | DAZ */
#endif
    for (long start = 0; start < n; start += block) {
        const int size = (int)(n - start < block ? n - start : block);
        const int nt = (size + TILE - 1) / TILE * TILE;
        memcpy(xs, x + start, (size_t)size * sizeof(float));
        memset(xs + size, 0, (size_t)(nt - size) * sizeof(float));
        const int64_t *p = plan + 1;
        const float *w = params;
        float *ring = state, *h = res0, *other = res1, *hd = hd0, *ho = ho0;
        int64_t *wp = pos;
        const float *in = xs;
        for (int64_t a = 0; a < arrays; a++) {
            const int I = (int)p[0], C = (int)p[1], H = (int)p[2], K = (int)p[3], gated = (int)p[4];
            const int layers = (int)p[5], M = gated ? 2 * C : C, J = C * K + 1;
            p += 6;
            for (int i = 0; i < I; i++) srcs[i] = in + (size_t)i * block;
            matmul(C, I, w, srcs, NULL, 0, h, block, nt);
            w += (size_t)C * I;
            if (a == 0) {
                for (int c = 0; c < C; c++) memset(hd + (size_t)c * block, 0, (size_t)nt * sizeof(float));
            } else {  /* the head sum goes on from the previous array's head output */
                float *tmp = hd;
                hd = ho;
                ho = tmp;
            }
            for (int l = 0; l < layers; l++, p += 2, wp++) {
                const int64_t d = p[0], cap = p[1], lookback = (int64_t)(K - 1) * d;
                if (*wp + block > cap) {
                    for (int c = 0; c < C; c++)
                        memmove(ring + c * cap, ring + c * cap + *wp - lookback, (size_t)lookback * sizeof(float));
                    *wp = lookback;
                }
                for (int c = 0; c < C; c++)
                    memcpy(ring + c * cap + *wp, h + (size_t)c * block, (size_t)size * sizeof(float));
                for (int i = 0; i < C; i++)
                    for (int k = 0; k < K; k++) srcs[i * K + k] = ring + i * cap + *wp - (int64_t)(K - 1 - k) * d;
                srcs[C * K] = xs;
                matmul(M, J, w, srcs, w + (size_t)M * J, 0, z, block, nt);
                w += (size_t)M * J + M;
                activate(z, C, gated, size, nt, block);
                for (int c = 0; c < C; c++)
                    for (int t = 0; t < nt; t += 8) *(vf *)(hd + (size_t)c * block + t) += *(const vf *)(z + (size_t)c * block + t);
                for (int c = 0; c < C; c++) srcs[c] = z + (size_t)c * block;
                matmul(C, C, w, srcs, w + (size_t)C * C, 1, h, block, nt);
                w += (size_t)C * C + C;
                *wp += size;
                ring += C * cap;
            }
            for (int c = 0; c < C; c++) srcs[c] = hd + (size_t)c * block;
            matmul(H, C, w, srcs, w + (size_t)H * C, 0, ho, block, nt);
            w += (size_t)H * C + H;
            in = h;
            h = other;
            other = (float *)in;
        }
        for (int t = 0; t < size; t++) y[start + t] = head_scale * ho[t];
    }
#if defined(__SSE2__)
    _mm_setcsr(csr);
#endif
    return 0;
}
