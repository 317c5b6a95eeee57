/* One LSTM layer's forward and backward pass over whole frames, one batch sample at a time, for
 * drywet.lstm.cpu (compiled on first use, called through ctypes on batch chunks in threads).
 *
 * The math is Keras's LSTM (tanh cell, sigmoid gates, gate order i, f, c, o, zero initial state):
 *   z = x_t Wx + h_{t-1} Wh + b;  i, f, o = sigmoid(z_i, z_f, z_o);  g = tanh(z_c)
 *   c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
 * Keras's CPU loop runs a graph op per time step over the whole batch; here one sample's whole frame
 * stays in L1 cache: per step a (1 x n) by (n x 4U) product kept in 8-float vector registers with
 * the gate activations applied in place, and the weight gradients as one pass per sample.
 * Written with GCC/Clang vector extensions, so it builds on any target (AVX2+FMA with -march=native).
 *
 * Supported shapes: U (units) 16 or 32, inputs 1 or U; anything else returns -1.
 * Layouts (row-major float32): x (B, T, nin); Wx (nin, 4U); Wh (U, 4U); b (4U); WxT, WhT their
 * transposes; per-step records hs, cs, tcs = tanh(cs) (B, T, U) and gs = activated i, f, g, o (B, T, 4U).
 */
#include <pthread.h>
#include <string.h>

#define VEC 8
#include "vec.h"  /* drywet/native/vec.h: vf, vi, ld, st, splat, tanh_exp, sigmoid_exp */

/* Step t of one sample's frame, forward. The 4U gate sums are built 64 at a time (8 vector
 * accumulators plus the broadcast input fit AVX2's 16 registers). U and NIN are compile-time
 * constants after inlining. */
ALWAYS void fwd_step(int t, const int NIN, const int U, const float *x, const float *Wx, const float *Wh,
                     const float *b, float *hs, float *cs, float *tcs, float *gs) {
    const int NV = U / 8, G = 4 * U, BLK = G < 64 ? G : 64;
    static const float zeros[32] = {0};
    const float *hp = t > 0 ? hs + (long)(t - 1) * U : zeros, *cp = t > 0 ? cs + (long)(t - 1) * U : zeros;
    const float *xt = x + (long)t * NIN;
    float z[128];
    for (int j0 = 0; j0 < G; j0 += BLK) {
        vf a[8];
        for (int v = 0; v < BLK / 8; v++) a[v] = ld(b + j0 + 8 * v);
        for (int k = 0; k < NIN; k++) {
            const float s = xt[k], *w = Wx + k * G + j0;
            for (int v = 0; v < BLK / 8; v++) a[v] += s * ld(w + 8 * v);
        }
        for (int k = 0; k < U; k++) {
            const float s = hp[k], *w = Wh + k * G + j0;
            for (int v = 0; v < BLK / 8; v++) a[v] += s * ld(w + 8 * v);
        }
        for (int v = 0; v < BLK / 8; v++) st(z + j0 + 8 * v, a[v]);
    }
    float *g = gs + (long)t * G, *h = hs + (long)t * U, *c = cs + (long)t * U, *tc = tcs + (long)t * U;
    for (int v = 0; v < NV; v++) {
        vf i = sigmoid_exp(ld(z + 8 * v)), f = sigmoid_exp(ld(z + U + 8 * v));
        vf gg = tanh_exp(ld(z + 2 * U + 8 * v)), o = sigmoid_exp(ld(z + 3 * U + 8 * v));
        vf cv = f * ld(cp + 8 * v) + i * gg, tv = tanh_exp(cv);
        st(g + 8 * v, i);
        st(g + U + 8 * v, f);
        st(g + 2 * U + 8 * v, gg);
        st(g + 3 * U + 8 * v, o);
        st(c + 8 * v, cv);
        st(tc + 8 * v, tv);
        st(h + 8 * v, o * tv);
    }
}

/* out (W floats, W a multiple of 8) = sum_j dz[j] * M[j, :] over the 4U rows of M (4U x W),
 * in 8 / (W / 8) interleaved partial sums (8 accumulators: enough to hide the FMA latency). */
ALWAYS void rows_dot(const int G, const int W, const float *dz, const float *M, float *out) {
    const int NW = W / 8, SETS = 8 / NW;
    vf a[8];
    for (int q = 0; q < 8; q++) a[q] = splat(0.0f);
    for (int j = 0; j < G; j += SETS)
        for (int q = 0; q < SETS; q++) {
            const float s = dz[j + q], *m = M + (j + q) * W;
            for (int v = 0; v < NW; v++) a[q * NW + v] += s * ld(m + 8 * v);
        }
    for (int q = 1; q < SETS; q++)
        for (int v = 0; v < NW; v++) a[v] += a[q * NW + v];
    for (int v = 0; v < NW; v++) st(out + 8 * v, a[v]);
}

/* dW (rows x 4U) += sum_t in[(t - t0) * stride + k] * dz[t, :] for each row k, t in [t0, T). */
ALWAYS void outer_acc(int T, int t0, const int rows, const int stride, const int G, const float *in,
                      const float *dz, float *dW) {
    const int BLK = G < 64 ? G : 64;
    for (int k = 0; k < rows; k++)
        for (int j0 = 0; j0 < G; j0 += BLK) {
            vf a[8];
            float *w = dW + k * G + j0;
            for (int v = 0; v < BLK / 8; v++) a[v] = ld(w + 8 * v);
            for (int t = t0; t < T; t++) {
                const float s = in[(long)(t - t0) * stride + k], *d = dz + (long)t * G + j0;
                for (int v = 0; v < BLK / 8; v++) a[v] += s * ld(d + 8 * v);
            }
            for (int v = 0; v < BLK / 8; v++) st(w + 8 * v, a[v]);
        }
}

/* Step t of one sample's frame, backward: dht is the loss gradient of its output h_t; dh and dc carry the gradient reaching step t from step
 * t + 1 (updated in place to what reaches step t - 1); writes dz[t] (the gate-sum gradient) and dx[t]. */
ALWAYS void bwd_step(int t, const int NIN, const int U, const float *WxT, const float *WhT, const float *cs,
                     const float *tcs, const float *gs, const float *dht, float *dx, float *dz, float *dh, float *dc) {
    const int NV = U / 8, G = 4 * U;
    const float *g = gs + (long)t * G, *tc = tcs + (long)t * U;
    float *d = dz + (long)t * G;
    for (int v = 0; v < NV; v++) {
        vf dhv = ld(dht + 8 * v) + ld(dh + 8 * v);
        vf i = ld(g + 8 * v), f = ld(g + U + 8 * v), gg = ld(g + 2 * U + 8 * v), o = ld(g + 3 * U + 8 * v);
        vf tv = ld(tc + 8 * v), cp = t > 0 ? ld(cs + (long)(t - 1) * U + 8 * v) : splat(0.0f);
        vf dcv = ld(dc + 8 * v) + dhv * o * (1.0f - tv * tv);
        st(d + 8 * v, dcv * gg * i * (1.0f - i));
        st(d + U + 8 * v, dcv * cp * f * (1.0f - f));
        st(d + 2 * U + 8 * v, dcv * i * (1.0f - gg * gg));
        st(d + 3 * U + 8 * v, dhv * tv * o * (1.0f - o));
        st(dc + 8 * v, dcv * f);
    }
    rows_dot(G, U, d, WhT, dh);
    if (NIN == 1) { /* WxT is (4U x 1): a dot product */
        vf a = splat(0.0f), a2 = splat(0.0f);
        for (int v = 0; v < G / 8; v += 2) {
            a += ld(d + 8 * v) * ld(WxT + 8 * v);
            a2 += ld(d + 8 * v + 8) * ld(WxT + 8 * v + 8);
        }
        a += a2;
        float s = 0.0f;
        for (int q = 0; q < 8; q++) s += a[q];
        dx[t] = s;
    } else {
        rows_dot(G, NIN, d, WxT, dx + (long)t * NIN);
    }
}

/* One sample's weight gradients from its dz (T x 4U): adds to db, dWh (from h_{t-1}) and dWx. */
ALWAYS void weight_grads(int T, const int NIN, const int U, const float *x, const float *hs, const float *dz,
                         float *dWx, float *dWh, float *db) {
    const int G = 4 * U;
    for (int v = 0; v < G / 8; v++) {
        vf a = ld(db + 8 * v);
        for (int t = 0; t < T; t++) a += ld(dz + (long)t * G + 8 * v);
        st(db + 8 * v, a);
    }
    outer_acc(T, 1, U, U, G, hs, dz, dWh);
    outer_acc(T, 0, NIN, NIN, G, x, dz, dWx);
}

/* Samples run two at a time in lockstep: the two frames' steps are independent, so one's gate
 * arithmetic overlaps the other's multiply-adds instead of waiting on its own chain. */
#define FWD_CASE(NIN_, U_) \
    { \
        const long sx = (long)T * (NIN_), su = (long)T * (U_), sg = 4 * su; \
        int s = b0; \
        for (; s + 1 < b1; s += 2) \
            for (int t = 0; t < T; t++) { \
                fwd_step(t, NIN_, U_, x + s * sx, Wx, Wh, b, hs + s * su, cs + s * su, tcs + s * su, gs + s * sg); \
                fwd_step(t, NIN_, U_, x + (s + 1) * sx, Wx, Wh, b, hs + (s + 1) * su, cs + (s + 1) * su, \
                         tcs + (s + 1) * su, gs + (s + 1) * sg); \
            } \
        for (; s < b1; s++) \
            for (int t = 0; t < T; t++) \
                fwd_step(t, NIN_, U_, x + s * sx, Wx, Wh, b, hs + s * su, cs + s * su, tcs + s * su, gs + s * sg); \
        return 0; \
    }


/* Forward for samples [b0, b1). Returns 0, or -1 for an unsupported shape. */
static int forward_range(int b0, int b1, int T, int nin, int U, const float *x, const float *Wx, const float *Wh,
                        const float *b, float *hs, float *cs, float *tcs, float *gs) {
    if (U == 16 && nin == 1) FWD_CASE(1, 16)
    if (U == 16 && nin == 16) FWD_CASE(16, 16)
    if (U == 32 && nin == 1) FWD_CASE(1, 32)
    if (U == 32 && nin == 32) FWD_CASE(32, 32)
    return -1;
}

/* The loss gradient of sample s's output at step t: `every` step's (dhs is B x T x U), or only the
 * last step's (dhs is B x U). */
#define DHT(s, t, U_) (every ? dhs + ((long)(s) * T + (t)) * (U_) : (t) == T - 1 ? dhs + (long)(s) * (U_) : zeros)

#define BWD_CASE(NIN_, U_) \
    { \
        const long sx = (long)T * (NIN_), su = (long)T * (U_), sg = 4 * su; \
        static const float zeros[32] = {0}; \
        float st_[4][32]; \
        int s = b0; \
        for (; s + 1 < b1; s += 2) { \
            memset(st_, 0, sizeof st_); \
            for (int t = T - 1; t >= 0; t--) { \
                bwd_step(t, NIN_, U_, WxT, WhT, cs + s * su, tcs + s * su, gs + s * sg, DHT(s, t, U_), dx + s * sx, \
                         dz, st_[0], st_[1]); \
                bwd_step(t, NIN_, U_, WxT, WhT, cs + (s + 1) * su, tcs + (s + 1) * su, gs + (s + 1) * sg, \
                         DHT(s + 1, t, U_), dx + (s + 1) * sx, dz + sg, st_[2], st_[3]); \
            } \
            weight_grads(T, NIN_, U_, x + s * sx, hs + s * su, dz, dWx, dWh, db); \
            weight_grads(T, NIN_, U_, x + (s + 1) * sx, hs + (s + 1) * su, dz + sg, dWx, dWh, db); \
        } \
        for (; s < b1; s++) { \
            memset(st_, 0, sizeof st_); \
            for (int t = T - 1; t >= 0; t--) \
                bwd_step(t, NIN_, U_, WxT, WhT, cs + s * su, tcs + s * su, gs + s * sg, DHT(s, t, U_), dx + s * sx, \
                         dz, st_[0], st_[1]); \
            weight_grads(T, NIN_, U_, x + s * sx, hs + s * su, dz, dWx, dWh, db); \
        } \
        return 0; \
    }

/* Backward for samples [b0, b1): writes their dx rows and adds their share to dWx, dWh, db.
 * dz: scratch of 2 * T * 4U floats. */
static int backward_range(int b0, int b1, int T, int nin, int U, int every, const float *x, const float *WxT,
                         const float *WhT, const float *hs, const float *cs, const float *tcs, const float *gs,
                         const float *dhs,
                         float *dx, float *dWx, float *dWh, float *db, float *dz) {
    if (U == 16 && nin == 1) BWD_CASE(1, 16)
    if (U == 16 && nin == 16) BWD_CASE(16, 16)
    if (U == 32 && nin == 1) BWD_CASE(1, 32)
    if (U == 32 && nin == 32) BWD_CASE(32, 32)
    return -1;
}

/* The batch is cut into `chunks` equal parts (always the same cut for the same batch, whatever the
 * number of threads); part 0 runs on the calling thread, the others on threads of their own. */
typedef struct {
    int b0, b1, T, nin, U, every, rc;
    const float *x, *Wx, *Wh, *b, *dhs;
    const float *hs_in, *cs_in, *tcs_in, *gs_in; /* backward: the forward pass's records */
    float *hs, *cs, *tcs, *gs, *dx, *dWx, *dWh, *db, *dz;
} job_t;

static void *forward_job(void *p) {
    job_t *j = p;
    j->rc = forward_range(j->b0, j->b1, j->T, j->nin, j->U, j->x, j->Wx, j->Wh, j->b, j->hs, j->cs, j->tcs, j->gs);
    return NULL;
}

static void *backward_job(void *p) {
    job_t *j = p;
    j->rc = backward_range(j->b0, j->b1, j->T, j->nin, j->U, j->every, j->x, j->Wx, j->Wh, j->hs_in, j->cs_in,
                           j->tcs_in, j->gs_in, j->dhs, j->dx, j->dWx, j->dWh, j->db, j->dz);
    return NULL;
}

enum { MAX_CHUNKS = 16 };

static int run_chunks(int batch, int chunks, int threads, job_t *jobs, void *(*fn)(void *)) {
    pthread_t tid[MAX_CHUNKS];
    int started[MAX_CHUNKS] = {0}, rc = 0;
    if (chunks < 1 || chunks > MAX_CHUNKS) return -1;
    for (int c = 0; c < chunks; c++) {
        jobs[c].b0 = (int)((long)batch * c / chunks);
        jobs[c].b1 = (int)((long)batch * (c + 1) / chunks);
    }
    for (int c = 1; c < chunks; c++)
        started[c] = threads > 1 && pthread_create(&tid[c], NULL, fn, &jobs[c]) == 0;
    fn(&jobs[0]);
    for (int c = 1; c < chunks; c++) {
        if (started[c]) pthread_join(tid[c], NULL);
        else fn(&jobs[c]);  /* no thread: run it here, in turn */
    }
    for (int c = 0; c < chunks; c++) rc |= jobs[c].rc;
    return rc;
}

/* Forward of a whole batch (see forward_range). Returns 0, or -1 for an unsupported shape. */
int drywet_lstm_forward(int batch, int chunks, int threads, int T, int nin, int U, const float *x, const float *Wx,
                        const float *Wh, const float *b, float *hs, float *cs, float *tcs, float *gs) {
    job_t jobs[MAX_CHUNKS];
    for (int c = 0; c < MAX_CHUNKS; c++)
        jobs[c] = (job_t){.T = T, .nin = nin, .U = U, .x = x, .Wx = Wx, .Wh = Wh, .b = b, .hs = hs, .cs = cs,
                          .tcs = tcs, .gs = gs};
    return run_chunks(batch, chunks, threads, jobs, forward_job);
}

/* Backward of a whole batch: dx rows for every sample; chunk c's share of the weight gradients goes
 * to dWx + c * nin * 4U, dWh + c * U * 4U, db + c * 4U (zeroed by the caller), its scratch to
 * dz + c * 2 * T * 4U. */
int drywet_lstm_backward(int batch, int chunks, int threads, int T, int nin, int U, int every, const float *x,
                         const float *WxT, const float *WhT, const float *hs, const float *cs, const float *tcs,
                         const float *gs, const float *dhs, float *dx, float *dWx, float *dWh, float *db, float *dz) {
    job_t jobs[MAX_CHUNKS];
    const long G = 4L * U;
    for (int c = 0; c < MAX_CHUNKS; c++)
        jobs[c] = (job_t){.T = T, .nin = nin, .U = U, .every = every, .x = x, .Wx = WxT, .Wh = WhT, .hs_in = hs,
                          .cs_in = cs, .tcs_in = tcs, .gs_in = gs, .dhs = dhs, .dx = dx, .dWx = dWx + c * nin * G,
                          .dWh = dWh + c * U * G, .db = db + c * G, .dz = dz + c * 2 * T * G};
    return run_chunks(batch, chunks, threads, jobs, backward_job);
}
