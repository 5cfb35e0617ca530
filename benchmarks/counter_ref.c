/* "prefix ‖ counter" reference miners for `shiftboss bench pow`, for nonces START … START+COUNT-1
 * (all with the same number of digits):
 *   default      Structs: SHA-256("5-42BUILD1000NONCE" ‖ decimal nonce), scored in zero hex digits
 *   -DHASHCASH   Hashcash: SHA-1("1:20:040428:foo::0298b26853c8ebb3:" ‖ hex counter), in zero bits
 *
 * Builds (cc -O3 -march=native -I<dir with rounds.h, written by engine/pow/_codegen_counter.py>):
 *   -DLANES=1          scalar, one nonce at a time
 *   -DLANES=16         SIMD: 16 nonces in lockstep (GCC vector extensions, 16 × uint32)
 *   -DOPENSSL -lcrypto OpenSSL's one-shot SHA256() on each formatted message
 *   -DOPENSSL -DOPENSSL_CTX -lcrypto  the low-level SHA256_Init/Update/Final path (SHA-NI where
 *                      the CPU has it; OpenSSL 3's one-shot SHA256() looks the digest up per call)
 * All print "hashes=N seconds=S best_nonce=B best_zeros=Z".
 * The lockstep builds use the same scheme as our kernel: the high digits are fixed per run of
 * 10,000 nonces, the four low digits are formatted per lane.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef OPENSSL
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#endif

#ifndef LANES
#define LANES 16
#endif
#if LANES == 1
typedef uint32_t word;
#define LANE(v, k) (v)
#else
typedef uint32_t word __attribute__((vector_size(4 * LANES)));
#define LANE(v, k) ((v)[k])
#endif

#ifdef HASHCASH
static const char PREFIX[] = "1:20:040428:foo::0298b26853c8ebb3:";
#define NW 5
#define BASE 16
#define CHUNK 65536
static const uint32_t IV[NW] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
static int zeros_of(const uint8_t *digest) {  /* leading zero bits */
    int z = 0;
    for (int i = 0; i < 4 * NW; i++) {
        if (digest[i] == 0) { z += 8; continue; }
        return z + __builtin_clz((unsigned)digest[i]) - 24;
    }
    return z;
}
#else
static const char PREFIX[] = "5-42BUILD1000NONCE";
#define NW 8
#define BASE 10
#define CHUNK 10000
static const uint32_t IV[NW] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
static int zeros_of(const uint8_t *digest) {  /* leading zero hex digits */
    int z = 0;
    for (int i = 0; i < 4 * NW; i++) {
        if (digest[i] == 0) { z += 2; continue; }
        if (digest[i] < 16) z += 1;
        break;
    }
    return z;
}
#endif

static char digit(unsigned v) { return (char)(v < 10 ? '0' + v : 'a' + v - 10); }

static int format(char *out, uint64_t n) {  /* digits in BASE, returns the count */
    char tmp[24];
    int d = 0;
    do { tmp[d++] = digit((unsigned)(n % BASE)); n /= BASE; } while (n);
    for (int i = 0; i < d; i++) out[i] = tmp[d - 1 - i];
    return d;
}

#ifndef OPENSSL
#include "rounds.h"
#endif

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s START COUNT\n", argv[0]); return 2; }
    uint64_t start = strtoull(argv[1], NULL, 10), count = strtoull(argv[2], NULL, 10);
    uint64_t best_nonce = 0;
    int best_zeros = -1;
    size_t plen = sizeof(PREFIX) - 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
#ifdef OPENSSL
    char msg[64];
    memcpy(msg, PREFIX, plen);
    uint8_t digest[32];
    for (uint64_t n = start; n < start + count; n++) {
        int d = format(msg + plen, n);
#ifdef OPENSSL_CTX
        SHA256_CTX ctx;
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, msg, plen + d);
        SHA256_Final(digest, &ctx);
#else
        SHA256((const unsigned char *)msg, plen + d, digest);
#endif
        if (digest[0] < 16) {
            int z = zeros_of(digest);
            if (z > best_zeros) { best_zeros = z; best_nonce = n; }
        }
    }
#else
    word s[NW], out[NW], w[16];
    for (int j = 0; j < NW; j++) s[j] = (word){0} + IV[j];
    char msg[64];
    memcpy(msg, PREFIX, plen);
    int d = format(msg + plen, start);
    size_t len = plen + d;  /* one block: the benchmark keeps len + 9 <= 64 */
    uint64_t end = start + count;
    for (uint64_t chunk = start - start % CHUNK; chunk < end; chunk += CHUNK) {
        uint8_t block[64] = {0};
        memcpy(block, PREFIX, plen);
        format((char *)block + plen, chunk);  /* the high digits; the low four are OR-ed in per lane, */
        memset(block + len - 4, 0, 4);         /* so they must start as zero bytes, not '0's */
        block[len] = 0x80;
        uint64_t bits = (uint64_t)len * 8;
        for (int i = 0; i < 8; i++) block[63 - i] = (uint8_t)(bits >> (8 * i));
        uint32_t tw[16];
        for (int i = 0; i < 16; i++)
            tw[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
        size_t p = len - 4;
        int wa = (int)(p / 4), off = (int)(p % 4);
        for (uint64_t g = (chunk < start ? start : chunk); g < chunk + CHUNK && g < end; g += LANES) {
            word lo;
#if LANES == 1
            lo = (uint32_t)(g - chunk);
#else
            for (int k = 0; k < LANES; k++) lo[k] = (uint32_t)(g - chunk + k);
#endif
#ifdef HASHCASH
            word n0 = (lo >> 12) & 15, n1 = (lo >> 8) & 15, n2 = (lo >> 4) & 15, n3 = lo & 15;
            word dd = ((n0 + 48 + ((9 - n0) >> 31) * 39) << 24) | ((n1 + 48 + ((9 - n1) >> 31) * 39) << 16)
                    | ((n2 + 48 + ((9 - n2) >> 31) * 39) << 8) | (n3 + 48 + ((9 - n3) >> 31) * 39);
#else
            word dd = ((48 + lo / 1000 % 10) << 24) | ((48 + lo / 100 % 10) << 16) | ((48 + lo / 10 % 10) << 8) | (48 + lo % 10);
#endif
            for (int i = 0; i < 16; i++) w[i] = (word){0} + tw[i];
            w[wa] |= dd >> (8 * off);
            if (off) w[wa + 1] |= dd << (32 - 8 * off);
            compress(s, w, out);
            for (int k = 0; k < LANES && g + k < end; k++) {
                uint32_t h0 = LANE(out[0], k);
                if (h0 < 0x10000000u) {
                    uint8_t digest[4 * NW];
                    for (int j = 0; j < NW; j++) {
                        uint32_t v = LANE(out[j], k);
                        digest[4 * j] = v >> 24; digest[4 * j + 1] = v >> 16; digest[4 * j + 2] = v >> 8; digest[4 * j + 3] = v;
                    }
                    int z = zeros_of(digest);
                    if (z > best_zeros) { best_zeros = z; best_nonce = g + k; }
                }
            }
        }
    }
#endif
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("hashes=%llu seconds=%.6f best_nonce=%llu best_zeros=%d\n", (unsigned long long)count, secs,
           (unsigned long long)best_nonce, best_zeros);
    return 0;
}
