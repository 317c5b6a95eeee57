/* The machine's multiply-add limit on one core, for benchmarks/stream_speed.py: 12 independent
 * accumulators of 16 floats (GCC vector extensions: AVX-512 registers where there are some), each
 * updated by one fused multiply-add per iteration and held in registers (the empty asm statements
 * keep them there and keep the loop), so nothing but the multiply-add units limits the rate.
 * Returns the multiply-adds done: 16 lanes x 12 x iterations. */

typedef float v16 __attribute__((vector_size(64)));

double drywet_fma_peak(long iterations) {
    const v16 m = (v16){0} + 0.9999f, b = (v16){0} + 1e-4f;
    v16 a0 = (v16){0} + 1.0f, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0,
        a10 = a0, a11 = a0;
    for (long i = 0; i < iterations; i++) {
#define STEP(x) x = x * m + b;
        STEP(a0) STEP(a1) STEP(a2) STEP(a3) STEP(a4) STEP(a5) STEP(a6) STEP(a7) STEP(a8) STEP(a9) STEP(a10) STEP(a11)
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7),
                         "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
    const v16 s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    return (double)iterations * 16 * 12 + (s[0] == 12345.0f);  /* s used: the loop stays */
}
