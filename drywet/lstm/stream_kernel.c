/* drywet's streaming loop in C: stacked LSTM layers + a Dense(1) head, one sample after another,
 * carried state, on the calling thread. drywet/lstm/stream.py prepares the arrays (gate columns at
 * g * width, the i, f, o columns halved so that sigmoid(v) = 0.5 + 0.5 tanh(v / 2), knobs folded
 * into layer 0's bias) and calls `drywet_stream` through ctypes; its Numba loop computes the same
 * thing where no C compiler is found.
 *
 * Layout: width is a multiple of 16 (narrower layers are padded with all-zero units, whose cell and
 * output stay exactly 0); arrays are 64-byte aligned; w_ins[l], w_recs[l] are (width, 4 width),
 * bs[l] (4 width), hs[l], cs[l] (width), changed in place.
 *
 * Speed: the layers are pipelined over blocks of BLOCK samples. In round r layer l runs block r - l,
 * so within a round the layers' steps are independent and are interleaved (their multiply-add
 * chains fill each other's latency); a layer's input part (bias + the layer below's output times
 * its input kernel) is computed for a whole block before its recurrence, four samples per weight
 * load. Each layer's arithmetic is the same whichever round or call it runs in: the output does not
 * depend on how a signal is cut into calls. Vectors are 16 floats (GCC vector extensions: one
 * AVX-512 register, two AVX or four SSE / NEON registers); tanh is the clamped rational function of
 * drywet/lstm/activation.py (`tanh_fit` in drywet/native/vec.h, where TANH_P, TANH_Q, TANH_CLIP are
 * written out), the reciprocal a refined estimate on AVX-512. Subnormal floats are flushed to zero during a call (x86). */

#include <stddef.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#define VEC 16
#include "vec.h"  /* drywet/native/vec.h: vf, splat, hsum, tanh_fit, sigmoid_fit */

#define BLOCK 64
#define MAX_LAYERS 8
#define MAX_WIDTH 128
#define NVMAX (MAX_WIDTH / 4)  /* gate vectors at MAX_WIDTH: 4 * 128 / 16 */

/* tanh and the logistic (of 2 x) as the loop computes them, for checking their error bounds. */
void drywet_activations(const float *x, long n, float *tanh_out, float *sigmoid_out) {
    for (long i = 0; i < n; i++) {
        vf v = splat(x[i]);
        tanh_out[i] = tanh_fit(v)[0];
        sigmoid_out[i] = sigmoid_fit(splat(0.5f * x[i]))[0];
    }
}

/* The cell from the summed gates acc (nv vectors: i, f, c, o quarters, i f o halved), c and h in
 * place, h also to out. */
static inline __attribute__((always_inline)) void cell(const vf *acc, int nv, float *restrict h, float *restrict c, float *restrict out) {
    const int q = nv / 4;
    _Pragma("GCC unroll 8") for (int v = 0; v < q; v++) {
        vf i = sigmoid_fit(acc[v]);
        vf f = sigmoid_fit(acc[q + v]);
        vf g = tanh_fit(acc[2 * q + v]);
        vf o = sigmoid_fit(acc[3 * q + v]);
        vf cv = f * *(const vf *)(c + 16 * v) + i * g;
        *(vf *)(c + 16 * v) = cv;
        vf hv = o * tanh_fit(cv);
        *(vf *)(h + 16 * v) = hv;
        *(vf *)(out + 16 * v) = hv;
    }
}

/* One layer's step from its input part z: acc = z + h @ w_rec, then the cell. `split` (single-layer
 * models) sums even and odd rows apart, halving the multiply-add chains when no other layer's step
 * runs beside it. */
static inline __attribute__((always_inline)) void step1(const float *restrict z, const float *restrict w_rec, float *restrict h,
                         float *restrict c, float *restrict out, int width, int nv, int split) {
    vf acc[NVMAX], acc2[NVMAX];
    _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) { acc[v] = ((const vf *)z)[v]; acc2[v] = splat(0.0f); }
    if (split) {
        for (int j = 0; j < width; j += 2) {
            const vf a = splat(h[j]), b = splat(h[j + 1]);
            const vf *r0 = (const vf *)(w_rec + (size_t)j * 4 * width), *r1 = r0 + nv;
            _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) { acc[v] += a * r0[v]; acc2[v] += b * r1[v]; }
        }
        _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) acc[v] += acc2[v];
    } else {
        for (int j = 0; j < width; j++) {
            const vf a = splat(h[j]);
            const vf *r0 = (const vf *)(w_rec + (size_t)j * 4 * width);
            _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) acc[v] += a * r0[v];
        }
    }
    cell(acc, nv, h, c, out);
}

/* Two layers' steps at once (different samples: independent), their matrix-vector products
 * interleaved; each layer's arithmetic is step1's without `split`. */
static inline __attribute__((always_inline)) void step2(const float *restrict z0, const float *restrict w0, float *restrict h0, float *restrict c0,
                         float *restrict out0, const float *restrict z1, const float *restrict w1, float *restrict h1,
                         float *restrict c1, float *restrict out1, int width, int nv) {
    vf acc[NVMAX], bcc[NVMAX];
    _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) { acc[v] = ((const vf *)z0)[v]; bcc[v] = ((const vf *)z1)[v]; }
    for (int j = 0; j < width; j++) {
        const vf a = splat(h0[j]), b = splat(h1[j]);
        const vf *r0 = (const vf *)(w0 + (size_t)j * 4 * width), *r1 = (const vf *)(w1 + (size_t)j * 4 * width);
        _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) { acc[v] += a * r0[v]; bcc[v] += b * r1[v]; }
    }
    cell(acc, nv, h0, c0, out0);
    cell(bcc, nv, h1, c1, out1);
}

/* u[t] = b + src[t] @ w_in for t < size (rows of 4 width): four samples at a time over four gate
 * vectors at a time (16 accumulators; nv = width / 4 is a multiple of 4), so each weight vector
 * loaded serves four multiply-adds. */
static inline __attribute__((always_inline)) void input_parts(float *restrict u, const float *restrict src,
                                                              const float *restrict w_in, const float *restrict b,
                                                              int size, int width, int nv) {
    const size_t row = 4 * (size_t)width;
    int t = 0;
    for (; t + 3 < size; t += 4) {
        const float *s0 = src + (size_t)t * width;
        for (int g = 0; g < nv; g += 4) {
            vf acc[4][4];
            _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++)
                _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) acc[i][v] = ((const vf *)b)[g + v];
            for (int j = 0; j < width; j++) {
                const vf *r = (const vf *)(w_in + (size_t)j * row) + g;
                const vf a0 = splat(s0[j]), a1 = splat(s0[width + j]), a2 = splat(s0[2 * width + j]),
                          a3 = splat(s0[3 * width + j]);
                _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) {
                    const vf w = r[v];
                    acc[0][v] += a0 * w;
                    acc[1][v] += a1 * w;
                    acc[2][v] += a2 * w;
                    acc[3][v] += a3 * w;
                }
            }
            _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++)
                _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) ((vf *)(u + (t + i) * row))[g + v] = acc[i][v];
        }
    }
    for (; t < size; t++) {
        vf acc[NVMAX];
        const float *s0 = src + (size_t)t * width;
        _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) acc[v] = ((const vf *)b)[v];
        for (int j = 0; j < width; j++) {
            const vf a = splat(s0[j]);
            const vf *r = (const vf *)(w_in + (size_t)j * row);
            _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) acc[v] += a * r[v];
        }
        _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) ((vf *)(u + t * row))[v] = acc[v];
    }
}

/* Scratch, 64-byte aligned: each layer's outputs over its block, layers >= 1's input parts. */
struct scratch {
    float out[MAX_LAYERS][BLOCK * MAX_WIDTH];
    float u[MAX_LAYERS][BLOCK * 4 * MAX_WIDTH];
    float z0[4 * MAX_WIDTH];
};

static inline __attribute__((always_inline)) void run(int layers, int width, const float *restrict x, long n, const float *restrict w_in0,
                       const float *restrict w_ins, const float *restrict w_recs, const float *restrict bs,
                       float *restrict hs, float *restrict cs, const float *restrict head_w, float head_b,
                       int skip, float *restrict y, struct scratch *s) {
    const int nv = width / 4;  /* gate vectors: 4 width / 16 */
    const int split = layers == 1;
    const size_t mat = (size_t)width * 4 * width;
    const long nblocks = (n + BLOCK - 1) / BLOCK;
    const int last = layers - 1;
    for (long r = 0; r < nblocks + last; r++) {
        int size[MAX_LAYERS];
        for (int l = 0; l < layers; l++) {
            long blk = r - l;
            size[l] = (blk < 0 || blk >= nblocks) ? 0 : (int)(n - blk * BLOCK < BLOCK ? n - blk * BLOCK : BLOCK);
        }
        /* input parts of layers >= 1 from the outputs the layer below left in the last round */
        for (int l = 1; l < layers; l++)
            if (size[l]) input_parts(s->u[l], s->out[l - 1], w_ins + l * mat, bs + (size_t)l * 4 * width, size[l],
                                     width, nv);
        const float *x0 = x + (r < nblocks ? r : 0) * BLOCK;
        for (int t = 0; t < BLOCK; t++) {
            int active[MAX_LAYERS], na = 0;
            for (int l = 0; l < layers; l++)
                if (t < size[l]) active[na++] = l;
            if (!na) break;
            if (size[0] > t) {
                const vf xt = splat(x0[t]);
                _Pragma("GCC unroll 32") for (int v = 0; v < nv; v++) ((vf *)s->z0)[v] = ((const vf *)bs)[v] + xt * ((const vf *)w_in0)[v];
            }
            int k = 0;
            for (; k + 1 < na; k += 2) {
                const int a = active[k], b = active[k + 1];
                const float *za = a ? s->u[a] + (size_t)t * 4 * width : s->z0;
                step2(za, w_recs + a * mat, hs + a * width, cs + a * width, s->out[a] + (size_t)t * width,
                      s->u[b] + (size_t)t * 4 * width, w_recs + b * mat, hs + b * width, cs + b * width,
                      s->out[b] + (size_t)t * width, width, nv);
            }
            if (k < na) {
                const int a = active[k];
                const float *za = a ? s->u[a] + (size_t)t * 4 * width : s->z0;
                step1(za, w_recs + a * mat, hs + a * width, cs + a * width, s->out[a] + (size_t)t * width, width, nv,
                      split);
            }
        }
        /* the head over the top layer's block */
        const long start = (r - last) * BLOCK;
        for (int t = 0; t < size[last]; t++) {
            const float *row = s->out[last] + (size_t)t * width;
            vf acc = splat(0.0f);
            for (int v = 0; v < width / 16; v++) acc += ((const vf *)row)[v] * ((const vf *)head_w)[v];
            float sum = head_b + hsum(acc);
            y[start + t] = skip ? sum + x[start + t] : sum;
        }
    }
}

/* Specialised on the width (the gate loops unroll, the accumulators stay in registers). */
#define WIDTH_CASE(W)                                                                                   \
    static void run_##W(int layers, const float *x, long n, const float *w_in0, const float *w_ins,       \
                        const float *w_recs, const float *bs, float *hs, float *cs, const float *head_w,  \
                        float head_b, int skip, float *y, struct scratch *s) {                             \
        run(layers, W, x, n, w_in0, w_ins, w_recs, bs, hs, cs, head_w, head_b, skip, y, s);               \
    }
WIDTH_CASE(16)
WIDTH_CASE(32)
WIDTH_CASE(48)
WIDTH_CASE(64)

/* Bytes of scratch a call needs (the caller's, 64-byte aligned: one per stream, so streams can run
 * on several threads at once). */
long drywet_stream_scratch_bytes(void) { return (long)sizeof(struct scratch); }

/* 0 on success; -1: width not a multiple of 16 or over MAX_WIDTH, layers outside 1..MAX_LAYERS, or
 * scratch not 64-byte aligned. */
int drywet_stream(int layers, int width, const float *x, long n, const float *w_in0, const float *w_ins,
                  const float *w_recs, const float *bs, float *hs, float *cs, const float *head_w, float head_b,
                  int skip, float *y, void *scratch) {
    if (layers < 1 || layers > MAX_LAYERS || width < 16 || width > MAX_WIDTH || width % 16 || (size_t)scratch % 64)
        return -1;
    struct scratch *s = scratch;
#if defined(__SSE2__)
    /* Denormals flushed to zero for the call, as audio plugins do: a state decaying through silence
     * would otherwise reach the subnormal range, where every multiply-add with it takes a microcode
     * assist (a third slower overall on bench material). Values below 1.2e-38 change; nothing else. */
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);  /* FTZ | DAZ */
#endif
    switch (width) {
    case 16: run_16(layers, x, n, w_in0, w_ins, w_recs, bs, hs, cs, head_w, head_b, skip, y, s); break;
    case 32: run_32(layers, x, n, w_in0, w_ins, w_recs, bs, hs, cs, head_w, head_b, skip, y, s); break;
    case 48: run_48(layers, x, n, w_in0, w_ins, w_recs, bs, hs, cs, head_w, head_b, skip, y, s); break;
    case 64: run_64(layers, x, n, w_in0, w_ins, w_recs, bs, hs, cs, head_w, head_b, skip, y, s); break;
    default: run(layers, width, x, n, w_in0, w_ins, w_recs, bs, hs, cs, head_w, head_b, skip, y, s);
    }
#if defined(__SSE2__)
    _mm_setcsr(csr);
#endif
    return 0;
}
