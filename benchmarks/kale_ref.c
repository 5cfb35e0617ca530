/* KALE Keccak-256 reference miners for `shiftboss bench pow`.
 *
 * One source, two builds (cc -O3 -march=native -I<dir with kale_rounds.h>):
 *   -DLANES=1  scalar: one nonce at a time
 *   -DLANES=8  SIMD: 8 nonces in lockstep with GCC vector extensions (one 512-bit vector per lane)
 *
 * Usage: kale_ref START COUNT [INDEX ENTROPY_HEX FARMER_HEX]  — hashes nonces
 * START..START+COUNT-1 of a fixed job (index 0, zero entropy, farmer 31 zero bytes then 0x04: the
 * second vector of docs/design.md §6), or of the job given (`shiftboss bench kale` mines real
 * farmers' work with it), and prints "hashes=N seconds=S best_nonce=B best_zeros=Z" so the
 * driver can check it against our kernel.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef LANES
#define LANES 8
#endif

#if LANES == 1
typedef uint64_t word;
#else
typedef uint64_t word __attribute__((vector_size(8 * LANES)));
#endif

/* keccakf(): the unrolled permutation, written by engine/pow/_codegen.py:generate_c() into the
 * build directory (the same algorithm as our kernel, as a C compiler sees it). */
#include "kale_rounds.h"

static int zero_nibbles(uint64_t lane0) {
    int zeros = 0;
    for (int b = 0; b < 8; b++) {
        unsigned byte = (lane0 >> (8 * b)) & 0xFF;
        if (byte == 0) { zeros += 2; continue; }
        if (byte < 16) zeros += 1;
        break;
    }
    return zeros;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 6) {
        fprintf(stderr, "usage: %s START COUNT [INDEX ENTROPY_HEX FARMER_HEX]\n", argv[0]);
        return 2;
    }
    uint64_t start = strtoull(argv[1], NULL, 10), count = strtoull(argv[2], NULL, 10);
    uint8_t block[200] = {0};
    block[75] = 0x04;              /* farmer = 31 zero bytes ‖ 0x04; index 0; zero entropy */
    if (argc == 6) {               /* index (u32 BE) ‖ nonce (u64 BE) ‖ entropy (32) ‖ farmer (32) */
        uint32_t index = (uint32_t)strtoul(argv[3], NULL, 10);
        for (int i = 0; i < 4; i++) block[i] = (uint8_t)(index >> (24 - 8 * i));
        if (strlen(argv[4]) != 64 || strlen(argv[5]) != 64) { fprintf(stderr, "entropy and farmer: 64 hex digits\n"); return 2; }
        for (int i = 0; i < 32; i++) {
            unsigned e, f;
            if (sscanf(argv[4] + 2 * i, "%2x", &e) != 1 || sscanf(argv[5] + 2 * i, "%2x", &f) != 1) return 2;
            block[12 + i] = (uint8_t)e;
            block[44 + i] = (uint8_t)f;
        }
    }
    block[76] ^= 0x01;             /* Keccak padding */
    block[135] ^= 0x80;
    uint64_t base[25];
    memcpy(base, block, 200);      /* little-endian lanes (x86) */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t best_nonce = 0;
    int best_zeros = -1;
    for (uint64_t g = 0; g < count; g += LANES) {
        word s[25];
        for (int i = 2; i < 25; i++) s[i] = (word){0} + base[i];
#if LANES == 1
        uint64_t n = start + g;
        s[0] = base[0] | ((uint64_t)__builtin_bswap32((uint32_t)(n >> 32)) << 32);
        s[1] = base[1] | __builtin_bswap32((uint32_t)n);
#else
        for (int k = 0; k < LANES; k++) {
            uint64_t n = start + g + k;
            s[0][k] = base[0] | ((uint64_t)__builtin_bswap32((uint32_t)(n >> 32)) << 32);
            s[1][k] = base[1] | __builtin_bswap32((uint32_t)n);
        }
#endif
        keccakf(s);
        for (int k = 0; k < LANES; k++) {
#if LANES == 1
            uint64_t lane0 = s[0];
#else
            uint64_t lane0 = s[0][k];
#endif
            if ((lane0 & 0xF0) == 0) {
                int z = zero_nibbles(lane0);
                if (z > best_zeros) { best_zeros = z; best_nonce = start + g + k; }
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("hashes=%llu seconds=%.6f best_nonce=%llu best_zeros=%d\n", (unsigned long long)count, secs,
           (unsigned long long)best_nonce, best_zeros);
    return 0;
}
