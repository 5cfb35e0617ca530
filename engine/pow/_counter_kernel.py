"""The "prefix ‖ counter" kernels, 16 counters in lockstep:

* ``SHA256`` (Structs): SHA-256 of ``prefix ‖ decimal(nonce)``, scored in leading zero hex digits;
* ``SHA1`` (Hashcash): SHA-1 of ``stamp ‖ hex(counter)``, scored in leading zero bits.

Shape (the same idea as the KALE kernel): one ``for k in range(LANES)`` loop computes a whole
compression per lane as straight-line code on uint32 values in single-assignment form — the
generator renames the working variables round by round, so the source never shuffles
``h = g; g = f …``. Written that way LLVM vectorizes the loop to 16 × uint32 (one AVX-512
register); with the shuffling assignments it does not vectorize at all. Those lane loops and the
round constants are spliced in by ``python -m engine.pow._codegen_counter`` between the
GENERATED markers; everything else here is written by hand.

The message: whole 64-byte blocks of the prefix are absorbed once into a midstate (Python, per
job, :func:`compress_scalar`). :func:`search` builds the remaining one or two blocks itself: the
rest of the prefix, the counter's digits, padding and length. For a run of counters with the
same number of digits, all digits but the last four are the same for BASE⁴ counters at a time
(written once per chunk); the last four are computed per lane and OR-ed into the (at most two)
message words they fall in. If the digits all lie in the second block, the first block is
compressed once per chunk and only the second per counter.

Every expression on uint32 is wrapped in ``V()``: one bare ``a & b`` is typed 64-bit by numba
and turns the whole loop into 64-bit lanes (measured: 17 MH/s instead of 52).
"""

import numpy as np

from engine.pow._target import configure

configure()  # the CPU target, before numba builds it

from numba import njit  # noqa: E402

LANES = 16
BLOCK = 512  # lanes per lane-function call: 32 vector groups
SHA256 = 0  # Structs: decimal digits, leading zero hex digits
SHA1 = 1  # Hashcash: hex digits, leading zero bits
V = np.uint32
ALL = V(0xFFFFFFFF)

# BEGIN GENERATED sha256-constants: python -m engine.pow._codegen_counter
K0 = V(0x428a2f98)
K1 = V(0x71374491)
K2 = V(0xb5c0fbcf)
K3 = V(0xe9b5dba5)
K4 = V(0x3956c25b)
K5 = V(0x59f111f1)
K6 = V(0x923f82a4)
K7 = V(0xab1c5ed5)
K8 = V(0xd807aa98)
K9 = V(0x12835b01)
K10 = V(0x243185be)
K11 = V(0x550c7dc3)
K12 = V(0x72be5d74)
K13 = V(0x80deb1fe)
K14 = V(0x9bdc06a7)
K15 = V(0xc19bf174)
K16 = V(0xe49b69c1)
K17 = V(0xefbe4786)
K18 = V(0x0fc19dc6)
K19 = V(0x240ca1cc)
K20 = V(0x2de92c6f)
K21 = V(0x4a7484aa)
K22 = V(0x5cb0a9dc)
K23 = V(0x76f988da)
K24 = V(0x983e5152)
K25 = V(0xa831c66d)
K26 = V(0xb00327c8)
K27 = V(0xbf597fc7)
K28 = V(0xc6e00bf3)
K29 = V(0xd5a79147)
K30 = V(0x06ca6351)
K31 = V(0x14292967)
K32 = V(0x27b70a85)
K33 = V(0x2e1b2138)
K34 = V(0x4d2c6dfc)
K35 = V(0x53380d13)
K36 = V(0x650a7354)
K37 = V(0x766a0abb)
K38 = V(0x81c2c92e)
K39 = V(0x92722c85)
K40 = V(0xa2bfe8a1)
K41 = V(0xa81a664b)
K42 = V(0xc24b8b70)
K43 = V(0xc76c51a3)
K44 = V(0xd192e819)
K45 = V(0xd6990624)
K46 = V(0xf40e3585)
K47 = V(0x106aa070)
K48 = V(0x19a4c116)
K49 = V(0x1e376c08)
K50 = V(0x2748774c)
K51 = V(0x34b0bcb5)
K52 = V(0x391c0cb3)
K53 = V(0x4ed8aa4a)
K54 = V(0x5b9cca4f)
K55 = V(0x682e6ff3)
K56 = V(0x748f82ee)
K57 = V(0x78a5636f)
K58 = V(0x84c87814)
K59 = V(0x8cc70208)
K60 = V(0x90befffa)
K61 = V(0xa4506ceb)
K62 = V(0xbef9a3f7)
K63 = V(0xc67178f2)
KT = np.array([0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2], dtype=np.uint32)
# END GENERATED sha256-constants


@njit(nogil=True, cache=True)
def _sha256_scalar(state, block):
    """One SHA-256 compression (scalar: per job or per chunk, never per nonce)."""
    w = np.empty(64, dtype=np.uint32)
    for i in range(16):
        w[i] = block[i]
    for i in range(16, 64):
        x, y = w[i - 15], w[i - 2]
        s0 = V(V((x >> V(7)) | (x << V(25))) ^ V((x >> V(18)) | (x << V(14))) ^ V(x >> V(3)))
        s1 = V(V((y >> V(17)) | (y << V(15))) ^ V((y >> V(19)) | (y << V(13))) ^ V(y >> V(10)))
        w[i] = V(w[i - 16] + s0 + w[i - 7] + s1)
    a, b, c, d, e, f, g, h = state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7]
    for i in range(64):
        s1 = V(V((e >> V(6)) | (e << V(26))) ^ V((e >> V(11)) | (e << V(21))) ^ V((e >> V(25)) | (e << V(7))))
        ch = V((e & f) ^ (V(~e) & g))
        t1 = V(h + s1 + ch + KT[i] + w[i])
        s0 = V(V((a >> V(2)) | (a << V(30))) ^ V((a >> V(13)) | (a << V(19))) ^ V((a >> V(22)) | (a << V(10))))
        maj = V((a & b) ^ (a & c) ^ (b & c))
        h, g, f, e, d, c, b, a = g, f, e, V(d + t1), c, b, a, V(t1 + s0 + maj)
    out = np.empty(8, dtype=np.uint32)
    for j, v in enumerate((a, b, c, d, e, f, g, h)):
        out[j] = V(state[j] + v)
    return out


@njit(nogil=True, cache=True)
def _sha1_scalar(state, block):
    """One SHA-1 compression (scalar: per job or per chunk, never per nonce)."""
    w = np.empty(80, dtype=np.uint32)
    for i in range(16):
        w[i] = block[i]
    for i in range(16, 80):
        x = V(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16])
        w[i] = V((x << V(1)) | (x >> V(31)))
    a, b, c, d, e = state[0], state[1], state[2], state[3], state[4]
    for i in range(80):
        if i < 20:
            f, k = V((b & c) | (V(~b) & d)), V(0x5A827999)
        elif i < 40:
            f, k = V(b ^ c ^ d), V(0x6ED9EBA1)
        elif i < 60:
            f, k = V((b & c) | (b & d) | (c & d)), V(0x8F1BBCDC)
        else:
            f, k = V(b ^ c ^ d), V(0xCA62C1D6)
        tmp = V(V((a << V(5)) | (a >> V(27))) + f + e + k + w[i])
        e, d, c, b, a = d, c, V((b << V(30)) | (b >> V(2))), a, tmp
    out = np.empty(5, dtype=np.uint32)
    for j, v in enumerate((a, b, c, d, e)):
        out[j] = V(state[j] + v)
    return out


@njit(nogil=True, cache=True)
def compress_scalar(algo, state, block):
    """One compression of ``block`` (16 big-endian words) into ``state`` with ``algo``'s hash."""
    if algo == SHA256:
        return _sha256_scalar(state, block)
    return _sha1_scalar(state, block)


@njit(nogil=True, cache=True)
def score(algo, h):
    """A digest's score (``h``: its big-endian uint32 words): leading zero hex digits for SHA256,
    leading zero bits for SHA1."""
    zeros = 0
    if algo == SHA256:
        for j in range(h.shape[0]):
            v = h[j]
            for shift in range(28, -4, -4):
                if (v >> V(shift)) & V(0xF) != 0:
                    return zeros
                zeros += 1
        return zeros
    for j in range(h.shape[0]):
        v = h[j]
        if v == 0:
            zeros += 32
            continue
        while (v & V(0x80000000)) == 0:
            zeros += 1
            v = V(v << V(1))
        return zeros
    return zeros


@njit(nogil=True, cache=True)
def _char(v):
    """ASCII of one digit (0-9, then a-f)."""
    return np.uint8(48 + v + (39 if v > 9 else 0))


@njit(nogil=True, cache=True)
def _powb(d, base):
    v = np.uint64(1)
    for _ in range(d):
        v *= base
    return v


@njit(nogil=True, cache=True)
def _digits(n, base, maxd):
    d = 1
    while n >= base and d < maxd:
        n //= base
        d += 1
    return d


@njit(nogil=True, cache=True)
def _fill(st, hv, nw):
    """Every lane starts from the state ``hv`` (a constant word count, so the copy unrolls)."""
    if nw == 8:
        for k in range(st.shape[1]):
            for j in range(8):
                st[j, k] = hv[j]
    else:
        for k in range(st.shape[1]):
            for j in range(5):
                st[j, k] = hv[j]


@njit(nogil=True, cache=True)
def _threshold(algo, best):
    """First digest words below this may score above ``best``: zero hex digits (SHA256) or bits."""
    need = best + 1
    if need <= 0:
        return np.uint64(1) << np.uint64(32)
    bits = 4 * need if algo == SHA256 else need
    if bits >= 32:
        return np.uint64(1)  # a zero first word; the rest decides
    return np.uint64(1) << np.uint64(32 - bits)


@njit(nogil=True, cache=True)
def _digit_tables(TA, TB, dshift, pshift, lshift, lmask):
    """For lo = 0 … 9999 (and the lanes past): the ASCII of lo's four low decimal digits, placed
    as the lane loop ORs them into the word they start in (TA) and the next one (TB)."""
    for i in range(TA.shape[0]):
        lo = i % 10000
        dd = V((V(48 + lo // 1000 % 10) << V(24)) | (V(48 + lo // 100 % 10) << V(16))
               | (V(48 + lo // 10 % 10) << V(8)) | V(48 + lo % 10))
        dd = V(dd << dshift)  # fewer than four low digits: drop the unused leading ones
        TA[i] = V(dd >> pshift)
        TB[i] = V(V(dd << lshift) & lmask)


@njit(nogil=True, cache=True)
def _sha256_lanes(st, init, tw, SA, SB, TA, TB, g0, n, WA, SPILL):
    """One SHA-256 compression for each of ``n`` consecutive low values g0 … g0+n-1: message
    words from the template ``tw`` plus each lane's four low decimal digits (from the tables
    TA/TB, loaded contiguously)."""
    # BEGIN GENERATED sha256-lanes: python -m engine.pow._codegen_counter
    tw0 = tw[0]
    tw1 = tw[1]
    tw2 = tw[2]
    tw3 = tw[3]
    tw4 = tw[4]
    tw5 = tw[5]
    tw6 = tw[6]
    tw7 = tw[7]
    tw8 = tw[8]
    tw9 = tw[9]
    tw10 = tw[10]
    tw11 = tw[11]
    tw12 = tw[12]
    tw13 = tw[13]
    tw14 = tw[14]
    tw15 = tw[15]
    sa0 = (ALL if WA == 0 else V(0)) if WA >= 0 else SA[0]
    sa1 = (ALL if WA == 1 else V(0)) if WA >= 0 else SA[1]
    sa2 = (ALL if WA == 2 else V(0)) if WA >= 0 else SA[2]
    sa3 = (ALL if WA == 3 else V(0)) if WA >= 0 else SA[3]
    sa4 = (ALL if WA == 4 else V(0)) if WA >= 0 else SA[4]
    sa5 = (ALL if WA == 5 else V(0)) if WA >= 0 else SA[5]
    sa6 = (ALL if WA == 6 else V(0)) if WA >= 0 else SA[6]
    sa7 = (ALL if WA == 7 else V(0)) if WA >= 0 else SA[7]
    sa8 = (ALL if WA == 8 else V(0)) if WA >= 0 else SA[8]
    sa9 = (ALL if WA == 9 else V(0)) if WA >= 0 else SA[9]
    sa10 = (ALL if WA == 10 else V(0)) if WA >= 0 else SA[10]
    sa11 = (ALL if WA == 11 else V(0)) if WA >= 0 else SA[11]
    sa12 = (ALL if WA == 12 else V(0)) if WA >= 0 else SA[12]
    sa13 = (ALL if WA == 13 else V(0)) if WA >= 0 else SA[13]
    sa14 = (ALL if WA == 14 else V(0)) if WA >= 0 else SA[14]
    sa15 = (ALL if WA == 15 else V(0)) if WA >= 0 else SA[15]
    sb0 = (ALL if SPILL == 1 and WA + 1 == 0 else V(0)) if WA >= 0 else SB[0]
    sb1 = (ALL if SPILL == 1 and WA + 1 == 1 else V(0)) if WA >= 0 else SB[1]
    sb2 = (ALL if SPILL == 1 and WA + 1 == 2 else V(0)) if WA >= 0 else SB[2]
    sb3 = (ALL if SPILL == 1 and WA + 1 == 3 else V(0)) if WA >= 0 else SB[3]
    sb4 = (ALL if SPILL == 1 and WA + 1 == 4 else V(0)) if WA >= 0 else SB[4]
    sb5 = (ALL if SPILL == 1 and WA + 1 == 5 else V(0)) if WA >= 0 else SB[5]
    sb6 = (ALL if SPILL == 1 and WA + 1 == 6 else V(0)) if WA >= 0 else SB[6]
    sb7 = (ALL if SPILL == 1 and WA + 1 == 7 else V(0)) if WA >= 0 else SB[7]
    sb8 = (ALL if SPILL == 1 and WA + 1 == 8 else V(0)) if WA >= 0 else SB[8]
    sb9 = (ALL if SPILL == 1 and WA + 1 == 9 else V(0)) if WA >= 0 else SB[9]
    sb10 = (ALL if SPILL == 1 and WA + 1 == 10 else V(0)) if WA >= 0 else SB[10]
    sb11 = (ALL if SPILL == 1 and WA + 1 == 11 else V(0)) if WA >= 0 else SB[11]
    sb12 = (ALL if SPILL == 1 and WA + 1 == 12 else V(0)) if WA >= 0 else SB[12]
    sb13 = (ALL if SPILL == 1 and WA + 1 == 13 else V(0)) if WA >= 0 else SB[13]
    sb14 = (ALL if SPILL == 1 and WA + 1 == 14 else V(0)) if WA >= 0 else SB[14]
    sb15 = (ALL if SPILL == 1 and WA + 1 == 15 else V(0)) if WA >= 0 else SB[15]
    h0 = init[0, 0]
    h1 = init[1, 0]
    h2 = init[2, 0]
    h3 = init[3, 0]
    h4 = init[4, 0]
    h5 = init[5, 0]
    h6 = init[6, 0]
    h7 = init[7, 0]
    for k in range(n):
        ph = TA[np.uint64(g0 + k)]
        pl = TB[np.uint64(g0 + k)]
        i0 = h0 if WA >= 0 else init[0, k]
        i1 = h1 if WA >= 0 else init[1, k]
        i2 = h2 if WA >= 0 else init[2, k]
        i3 = h3 if WA >= 0 else init[3, k]
        i4 = h4 if WA >= 0 else init[4, k]
        i5 = h5 if WA >= 0 else init[5, k]
        i6 = h6 if WA >= 0 else init[6, k]
        i7 = h7 if WA >= 0 else init[7, k]
        xw0 = V(tw0 | (ph & sa0) | (pl & sb0))
        xw1 = V(tw1 | (ph & sa1) | (pl & sb1))
        xw2 = V(tw2 | (ph & sa2) | (pl & sb2))
        xw3 = V(tw3 | (ph & sa3) | (pl & sb3))
        xw4 = V(tw4 | (ph & sa4) | (pl & sb4))
        xw5 = V(tw5 | (ph & sa5) | (pl & sb5))
        xw6 = V(tw6 | (ph & sa6) | (pl & sb6))
        xw7 = V(tw7 | (ph & sa7) | (pl & sb7))
        xw8 = V(tw8 | (ph & sa8) | (pl & sb8))
        xw9 = V(tw9 | (ph & sa9) | (pl & sb9))
        xw10 = V(tw10 | (ph & sa10) | (pl & sb10))
        xw11 = V(tw11 | (ph & sa11) | (pl & sb11))
        xw12 = V(tw12 | (ph & sa12) | (pl & sb12))
        xw13 = V(tw13 | (ph & sa13) | (pl & sb13))
        xw14 = V(tw14 | (ph & sa14) | (pl & sb14))
        xw15 = V(tw15 | (ph & sa15) | (pl & sb15))
        xt0 = V(i7 + (V((i4 >> V(6)) | (i4 << V(26))) ^ V((i4 >> V(11)) | (i4 << V(21))) ^ V((i4 >> V(25)) | (i4 << V(7)))) + ((i4 & i5) ^ (V(~i4) & i6)) + K0 + xw0)
        xe0 = V(i3 + xt0)
        xa0 = V(xt0 + (V((i0 >> V(2)) | (i0 << V(30))) ^ V((i0 >> V(13)) | (i0 << V(19))) ^ V((i0 >> V(22)) | (i0 << V(10)))) + ((i0 & i1) ^ (i0 & i2) ^ (i1 & i2)))
        xt1 = V(i6 + (V((xe0 >> V(6)) | (xe0 << V(26))) ^ V((xe0 >> V(11)) | (xe0 << V(21))) ^ V((xe0 >> V(25)) | (xe0 << V(7)))) + ((xe0 & i4) ^ (V(~xe0) & i5)) + K1 + xw1)
        xe1 = V(i2 + xt1)
        xa1 = V(xt1 + (V((xa0 >> V(2)) | (xa0 << V(30))) ^ V((xa0 >> V(13)) | (xa0 << V(19))) ^ V((xa0 >> V(22)) | (xa0 << V(10)))) + ((xa0 & i0) ^ (xa0 & i1) ^ (i0 & i1)))
        xt2 = V(i5 + (V((xe1 >> V(6)) | (xe1 << V(26))) ^ V((xe1 >> V(11)) | (xe1 << V(21))) ^ V((xe1 >> V(25)) | (xe1 << V(7)))) + ((xe1 & xe0) ^ (V(~xe1) & i4)) + K2 + xw2)
        xe2 = V(i1 + xt2)
        xa2 = V(xt2 + (V((xa1 >> V(2)) | (xa1 << V(30))) ^ V((xa1 >> V(13)) | (xa1 << V(19))) ^ V((xa1 >> V(22)) | (xa1 << V(10)))) + ((xa1 & xa0) ^ (xa1 & i0) ^ (xa0 & i0)))
        xt3 = V(i4 + (V((xe2 >> V(6)) | (xe2 << V(26))) ^ V((xe2 >> V(11)) | (xe2 << V(21))) ^ V((xe2 >> V(25)) | (xe2 << V(7)))) + ((xe2 & xe1) ^ (V(~xe2) & xe0)) + K3 + xw3)
        xe3 = V(i0 + xt3)
        xa3 = V(xt3 + (V((xa2 >> V(2)) | (xa2 << V(30))) ^ V((xa2 >> V(13)) | (xa2 << V(19))) ^ V((xa2 >> V(22)) | (xa2 << V(10)))) + ((xa2 & xa1) ^ (xa2 & xa0) ^ (xa1 & xa0)))
        xt4 = V(xe0 + (V((xe3 >> V(6)) | (xe3 << V(26))) ^ V((xe3 >> V(11)) | (xe3 << V(21))) ^ V((xe3 >> V(25)) | (xe3 << V(7)))) + ((xe3 & xe2) ^ (V(~xe3) & xe1)) + K4 + xw4)
        xe4 = V(xa0 + xt4)
        xa4 = V(xt4 + (V((xa3 >> V(2)) | (xa3 << V(30))) ^ V((xa3 >> V(13)) | (xa3 << V(19))) ^ V((xa3 >> V(22)) | (xa3 << V(10)))) + ((xa3 & xa2) ^ (xa3 & xa1) ^ (xa2 & xa1)))
        xt5 = V(xe1 + (V((xe4 >> V(6)) | (xe4 << V(26))) ^ V((xe4 >> V(11)) | (xe4 << V(21))) ^ V((xe4 >> V(25)) | (xe4 << V(7)))) + ((xe4 & xe3) ^ (V(~xe4) & xe2)) + K5 + xw5)
        xe5 = V(xa1 + xt5)
        xa5 = V(xt5 + (V((xa4 >> V(2)) | (xa4 << V(30))) ^ V((xa4 >> V(13)) | (xa4 << V(19))) ^ V((xa4 >> V(22)) | (xa4 << V(10)))) + ((xa4 & xa3) ^ (xa4 & xa2) ^ (xa3 & xa2)))
        xt6 = V(xe2 + (V((xe5 >> V(6)) | (xe5 << V(26))) ^ V((xe5 >> V(11)) | (xe5 << V(21))) ^ V((xe5 >> V(25)) | (xe5 << V(7)))) + ((xe5 & xe4) ^ (V(~xe5) & xe3)) + K6 + xw6)
        xe6 = V(xa2 + xt6)
        xa6 = V(xt6 + (V((xa5 >> V(2)) | (xa5 << V(30))) ^ V((xa5 >> V(13)) | (xa5 << V(19))) ^ V((xa5 >> V(22)) | (xa5 << V(10)))) + ((xa5 & xa4) ^ (xa5 & xa3) ^ (xa4 & xa3)))
        xt7 = V(xe3 + (V((xe6 >> V(6)) | (xe6 << V(26))) ^ V((xe6 >> V(11)) | (xe6 << V(21))) ^ V((xe6 >> V(25)) | (xe6 << V(7)))) + ((xe6 & xe5) ^ (V(~xe6) & xe4)) + K7 + xw7)
        xe7 = V(xa3 + xt7)
        xa7 = V(xt7 + (V((xa6 >> V(2)) | (xa6 << V(30))) ^ V((xa6 >> V(13)) | (xa6 << V(19))) ^ V((xa6 >> V(22)) | (xa6 << V(10)))) + ((xa6 & xa5) ^ (xa6 & xa4) ^ (xa5 & xa4)))
        xt8 = V(xe4 + (V((xe7 >> V(6)) | (xe7 << V(26))) ^ V((xe7 >> V(11)) | (xe7 << V(21))) ^ V((xe7 >> V(25)) | (xe7 << V(7)))) + ((xe7 & xe6) ^ (V(~xe7) & xe5)) + K8 + xw8)
        xe8 = V(xa4 + xt8)
        xa8 = V(xt8 + (V((xa7 >> V(2)) | (xa7 << V(30))) ^ V((xa7 >> V(13)) | (xa7 << V(19))) ^ V((xa7 >> V(22)) | (xa7 << V(10)))) + ((xa7 & xa6) ^ (xa7 & xa5) ^ (xa6 & xa5)))
        xt9 = V(xe5 + (V((xe8 >> V(6)) | (xe8 << V(26))) ^ V((xe8 >> V(11)) | (xe8 << V(21))) ^ V((xe8 >> V(25)) | (xe8 << V(7)))) + ((xe8 & xe7) ^ (V(~xe8) & xe6)) + K9 + xw9)
        xe9 = V(xa5 + xt9)
        xa9 = V(xt9 + (V((xa8 >> V(2)) | (xa8 << V(30))) ^ V((xa8 >> V(13)) | (xa8 << V(19))) ^ V((xa8 >> V(22)) | (xa8 << V(10)))) + ((xa8 & xa7) ^ (xa8 & xa6) ^ (xa7 & xa6)))
        xt10 = V(xe6 + (V((xe9 >> V(6)) | (xe9 << V(26))) ^ V((xe9 >> V(11)) | (xe9 << V(21))) ^ V((xe9 >> V(25)) | (xe9 << V(7)))) + ((xe9 & xe8) ^ (V(~xe9) & xe7)) + K10 + xw10)
        xe10 = V(xa6 + xt10)
        xa10 = V(xt10 + (V((xa9 >> V(2)) | (xa9 << V(30))) ^ V((xa9 >> V(13)) | (xa9 << V(19))) ^ V((xa9 >> V(22)) | (xa9 << V(10)))) + ((xa9 & xa8) ^ (xa9 & xa7) ^ (xa8 & xa7)))
        xt11 = V(xe7 + (V((xe10 >> V(6)) | (xe10 << V(26))) ^ V((xe10 >> V(11)) | (xe10 << V(21))) ^ V((xe10 >> V(25)) | (xe10 << V(7)))) + ((xe10 & xe9) ^ (V(~xe10) & xe8)) + K11 + xw11)
        xe11 = V(xa7 + xt11)
        xa11 = V(xt11 + (V((xa10 >> V(2)) | (xa10 << V(30))) ^ V((xa10 >> V(13)) | (xa10 << V(19))) ^ V((xa10 >> V(22)) | (xa10 << V(10)))) + ((xa10 & xa9) ^ (xa10 & xa8) ^ (xa9 & xa8)))
        xt12 = V(xe8 + (V((xe11 >> V(6)) | (xe11 << V(26))) ^ V((xe11 >> V(11)) | (xe11 << V(21))) ^ V((xe11 >> V(25)) | (xe11 << V(7)))) + ((xe11 & xe10) ^ (V(~xe11) & xe9)) + K12 + xw12)
        xe12 = V(xa8 + xt12)
        xa12 = V(xt12 + (V((xa11 >> V(2)) | (xa11 << V(30))) ^ V((xa11 >> V(13)) | (xa11 << V(19))) ^ V((xa11 >> V(22)) | (xa11 << V(10)))) + ((xa11 & xa10) ^ (xa11 & xa9) ^ (xa10 & xa9)))
        xt13 = V(xe9 + (V((xe12 >> V(6)) | (xe12 << V(26))) ^ V((xe12 >> V(11)) | (xe12 << V(21))) ^ V((xe12 >> V(25)) | (xe12 << V(7)))) + ((xe12 & xe11) ^ (V(~xe12) & xe10)) + K13 + xw13)
        xe13 = V(xa9 + xt13)
        xa13 = V(xt13 + (V((xa12 >> V(2)) | (xa12 << V(30))) ^ V((xa12 >> V(13)) | (xa12 << V(19))) ^ V((xa12 >> V(22)) | (xa12 << V(10)))) + ((xa12 & xa11) ^ (xa12 & xa10) ^ (xa11 & xa10)))
        xt14 = V(xe10 + (V((xe13 >> V(6)) | (xe13 << V(26))) ^ V((xe13 >> V(11)) | (xe13 << V(21))) ^ V((xe13 >> V(25)) | (xe13 << V(7)))) + ((xe13 & xe12) ^ (V(~xe13) & xe11)) + K14 + xw14)
        xe14 = V(xa10 + xt14)
        xa14 = V(xt14 + (V((xa13 >> V(2)) | (xa13 << V(30))) ^ V((xa13 >> V(13)) | (xa13 << V(19))) ^ V((xa13 >> V(22)) | (xa13 << V(10)))) + ((xa13 & xa12) ^ (xa13 & xa11) ^ (xa12 & xa11)))
        xt15 = V(xe11 + (V((xe14 >> V(6)) | (xe14 << V(26))) ^ V((xe14 >> V(11)) | (xe14 << V(21))) ^ V((xe14 >> V(25)) | (xe14 << V(7)))) + ((xe14 & xe13) ^ (V(~xe14) & xe12)) + K15 + xw15)
        xe15 = V(xa11 + xt15)
        xa15 = V(xt15 + (V((xa14 >> V(2)) | (xa14 << V(30))) ^ V((xa14 >> V(13)) | (xa14 << V(19))) ^ V((xa14 >> V(22)) | (xa14 << V(10)))) + ((xa14 & xa13) ^ (xa14 & xa12) ^ (xa13 & xa12)))
        xw16 = V(xw0 + (V((xw1 >> V(7)) | (xw1 << V(25))) ^ V((xw1 >> V(18)) | (xw1 << V(14))) ^ (xw1 >> V(3))) + xw9 + (V((xw14 >> V(17)) | (xw14 << V(15))) ^ V((xw14 >> V(19)) | (xw14 << V(13))) ^ (xw14 >> V(10))))
        xt16 = V(xe12 + (V((xe15 >> V(6)) | (xe15 << V(26))) ^ V((xe15 >> V(11)) | (xe15 << V(21))) ^ V((xe15 >> V(25)) | (xe15 << V(7)))) + ((xe15 & xe14) ^ (V(~xe15) & xe13)) + K16 + xw16)
        xe16 = V(xa12 + xt16)
        xa16 = V(xt16 + (V((xa15 >> V(2)) | (xa15 << V(30))) ^ V((xa15 >> V(13)) | (xa15 << V(19))) ^ V((xa15 >> V(22)) | (xa15 << V(10)))) + ((xa15 & xa14) ^ (xa15 & xa13) ^ (xa14 & xa13)))
        xw17 = V(xw1 + (V((xw2 >> V(7)) | (xw2 << V(25))) ^ V((xw2 >> V(18)) | (xw2 << V(14))) ^ (xw2 >> V(3))) + xw10 + (V((xw15 >> V(17)) | (xw15 << V(15))) ^ V((xw15 >> V(19)) | (xw15 << V(13))) ^ (xw15 >> V(10))))
        xt17 = V(xe13 + (V((xe16 >> V(6)) | (xe16 << V(26))) ^ V((xe16 >> V(11)) | (xe16 << V(21))) ^ V((xe16 >> V(25)) | (xe16 << V(7)))) + ((xe16 & xe15) ^ (V(~xe16) & xe14)) + K17 + xw17)
        xe17 = V(xa13 + xt17)
        xa17 = V(xt17 + (V((xa16 >> V(2)) | (xa16 << V(30))) ^ V((xa16 >> V(13)) | (xa16 << V(19))) ^ V((xa16 >> V(22)) | (xa16 << V(10)))) + ((xa16 & xa15) ^ (xa16 & xa14) ^ (xa15 & xa14)))
        xw18 = V(xw2 + (V((xw3 >> V(7)) | (xw3 << V(25))) ^ V((xw3 >> V(18)) | (xw3 << V(14))) ^ (xw3 >> V(3))) + xw11 + (V((xw16 >> V(17)) | (xw16 << V(15))) ^ V((xw16 >> V(19)) | (xw16 << V(13))) ^ (xw16 >> V(10))))
        xt18 = V(xe14 + (V((xe17 >> V(6)) | (xe17 << V(26))) ^ V((xe17 >> V(11)) | (xe17 << V(21))) ^ V((xe17 >> V(25)) | (xe17 << V(7)))) + ((xe17 & xe16) ^ (V(~xe17) & xe15)) + K18 + xw18)
        xe18 = V(xa14 + xt18)
        xa18 = V(xt18 + (V((xa17 >> V(2)) | (xa17 << V(30))) ^ V((xa17 >> V(13)) | (xa17 << V(19))) ^ V((xa17 >> V(22)) | (xa17 << V(10)))) + ((xa17 & xa16) ^ (xa17 & xa15) ^ (xa16 & xa15)))
        xw19 = V(xw3 + (V((xw4 >> V(7)) | (xw4 << V(25))) ^ V((xw4 >> V(18)) | (xw4 << V(14))) ^ (xw4 >> V(3))) + xw12 + (V((xw17 >> V(17)) | (xw17 << V(15))) ^ V((xw17 >> V(19)) | (xw17 << V(13))) ^ (xw17 >> V(10))))
        xt19 = V(xe15 + (V((xe18 >> V(6)) | (xe18 << V(26))) ^ V((xe18 >> V(11)) | (xe18 << V(21))) ^ V((xe18 >> V(25)) | (xe18 << V(7)))) + ((xe18 & xe17) ^ (V(~xe18) & xe16)) + K19 + xw19)
        xe19 = V(xa15 + xt19)
        xa19 = V(xt19 + (V((xa18 >> V(2)) | (xa18 << V(30))) ^ V((xa18 >> V(13)) | (xa18 << V(19))) ^ V((xa18 >> V(22)) | (xa18 << V(10)))) + ((xa18 & xa17) ^ (xa18 & xa16) ^ (xa17 & xa16)))
        xw20 = V(xw4 + (V((xw5 >> V(7)) | (xw5 << V(25))) ^ V((xw5 >> V(18)) | (xw5 << V(14))) ^ (xw5 >> V(3))) + xw13 + (V((xw18 >> V(17)) | (xw18 << V(15))) ^ V((xw18 >> V(19)) | (xw18 << V(13))) ^ (xw18 >> V(10))))
        xt20 = V(xe16 + (V((xe19 >> V(6)) | (xe19 << V(26))) ^ V((xe19 >> V(11)) | (xe19 << V(21))) ^ V((xe19 >> V(25)) | (xe19 << V(7)))) + ((xe19 & xe18) ^ (V(~xe19) & xe17)) + K20 + xw20)
        xe20 = V(xa16 + xt20)
        xa20 = V(xt20 + (V((xa19 >> V(2)) | (xa19 << V(30))) ^ V((xa19 >> V(13)) | (xa19 << V(19))) ^ V((xa19 >> V(22)) | (xa19 << V(10)))) + ((xa19 & xa18) ^ (xa19 & xa17) ^ (xa18 & xa17)))
        xw21 = V(xw5 + (V((xw6 >> V(7)) | (xw6 << V(25))) ^ V((xw6 >> V(18)) | (xw6 << V(14))) ^ (xw6 >> V(3))) + xw14 + (V((xw19 >> V(17)) | (xw19 << V(15))) ^ V((xw19 >> V(19)) | (xw19 << V(13))) ^ (xw19 >> V(10))))
        xt21 = V(xe17 + (V((xe20 >> V(6)) | (xe20 << V(26))) ^ V((xe20 >> V(11)) | (xe20 << V(21))) ^ V((xe20 >> V(25)) | (xe20 << V(7)))) + ((xe20 & xe19) ^ (V(~xe20) & xe18)) + K21 + xw21)
        xe21 = V(xa17 + xt21)
        xa21 = V(xt21 + (V((xa20 >> V(2)) | (xa20 << V(30))) ^ V((xa20 >> V(13)) | (xa20 << V(19))) ^ V((xa20 >> V(22)) | (xa20 << V(10)))) + ((xa20 & xa19) ^ (xa20 & xa18) ^ (xa19 & xa18)))
        xw22 = V(xw6 + (V((xw7 >> V(7)) | (xw7 << V(25))) ^ V((xw7 >> V(18)) | (xw7 << V(14))) ^ (xw7 >> V(3))) + xw15 + (V((xw20 >> V(17)) | (xw20 << V(15))) ^ V((xw20 >> V(19)) | (xw20 << V(13))) ^ (xw20 >> V(10))))
        xt22 = V(xe18 + (V((xe21 >> V(6)) | (xe21 << V(26))) ^ V((xe21 >> V(11)) | (xe21 << V(21))) ^ V((xe21 >> V(25)) | (xe21 << V(7)))) + ((xe21 & xe20) ^ (V(~xe21) & xe19)) + K22 + xw22)
        xe22 = V(xa18 + xt22)
        xa22 = V(xt22 + (V((xa21 >> V(2)) | (xa21 << V(30))) ^ V((xa21 >> V(13)) | (xa21 << V(19))) ^ V((xa21 >> V(22)) | (xa21 << V(10)))) + ((xa21 & xa20) ^ (xa21 & xa19) ^ (xa20 & xa19)))
        xw23 = V(xw7 + (V((xw8 >> V(7)) | (xw8 << V(25))) ^ V((xw8 >> V(18)) | (xw8 << V(14))) ^ (xw8 >> V(3))) + xw16 + (V((xw21 >> V(17)) | (xw21 << V(15))) ^ V((xw21 >> V(19)) | (xw21 << V(13))) ^ (xw21 >> V(10))))
        xt23 = V(xe19 + (V((xe22 >> V(6)) | (xe22 << V(26))) ^ V((xe22 >> V(11)) | (xe22 << V(21))) ^ V((xe22 >> V(25)) | (xe22 << V(7)))) + ((xe22 & xe21) ^ (V(~xe22) & xe20)) + K23 + xw23)
        xe23 = V(xa19 + xt23)
        xa23 = V(xt23 + (V((xa22 >> V(2)) | (xa22 << V(30))) ^ V((xa22 >> V(13)) | (xa22 << V(19))) ^ V((xa22 >> V(22)) | (xa22 << V(10)))) + ((xa22 & xa21) ^ (xa22 & xa20) ^ (xa21 & xa20)))
        xw24 = V(xw8 + (V((xw9 >> V(7)) | (xw9 << V(25))) ^ V((xw9 >> V(18)) | (xw9 << V(14))) ^ (xw9 >> V(3))) + xw17 + (V((xw22 >> V(17)) | (xw22 << V(15))) ^ V((xw22 >> V(19)) | (xw22 << V(13))) ^ (xw22 >> V(10))))
        xt24 = V(xe20 + (V((xe23 >> V(6)) | (xe23 << V(26))) ^ V((xe23 >> V(11)) | (xe23 << V(21))) ^ V((xe23 >> V(25)) | (xe23 << V(7)))) + ((xe23 & xe22) ^ (V(~xe23) & xe21)) + K24 + xw24)
        xe24 = V(xa20 + xt24)
        xa24 = V(xt24 + (V((xa23 >> V(2)) | (xa23 << V(30))) ^ V((xa23 >> V(13)) | (xa23 << V(19))) ^ V((xa23 >> V(22)) | (xa23 << V(10)))) + ((xa23 & xa22) ^ (xa23 & xa21) ^ (xa22 & xa21)))
        xw25 = V(xw9 + (V((xw10 >> V(7)) | (xw10 << V(25))) ^ V((xw10 >> V(18)) | (xw10 << V(14))) ^ (xw10 >> V(3))) + xw18 + (V((xw23 >> V(17)) | (xw23 << V(15))) ^ V((xw23 >> V(19)) | (xw23 << V(13))) ^ (xw23 >> V(10))))
        xt25 = V(xe21 + (V((xe24 >> V(6)) | (xe24 << V(26))) ^ V((xe24 >> V(11)) | (xe24 << V(21))) ^ V((xe24 >> V(25)) | (xe24 << V(7)))) + ((xe24 & xe23) ^ (V(~xe24) & xe22)) + K25 + xw25)
        xe25 = V(xa21 + xt25)
        xa25 = V(xt25 + (V((xa24 >> V(2)) | (xa24 << V(30))) ^ V((xa24 >> V(13)) | (xa24 << V(19))) ^ V((xa24 >> V(22)) | (xa24 << V(10)))) + ((xa24 & xa23) ^ (xa24 & xa22) ^ (xa23 & xa22)))
        xw26 = V(xw10 + (V((xw11 >> V(7)) | (xw11 << V(25))) ^ V((xw11 >> V(18)) | (xw11 << V(14))) ^ (xw11 >> V(3))) + xw19 + (V((xw24 >> V(17)) | (xw24 << V(15))) ^ V((xw24 >> V(19)) | (xw24 << V(13))) ^ (xw24 >> V(10))))
        xt26 = V(xe22 + (V((xe25 >> V(6)) | (xe25 << V(26))) ^ V((xe25 >> V(11)) | (xe25 << V(21))) ^ V((xe25 >> V(25)) | (xe25 << V(7)))) + ((xe25 & xe24) ^ (V(~xe25) & xe23)) + K26 + xw26)
        xe26 = V(xa22 + xt26)
        xa26 = V(xt26 + (V((xa25 >> V(2)) | (xa25 << V(30))) ^ V((xa25 >> V(13)) | (xa25 << V(19))) ^ V((xa25 >> V(22)) | (xa25 << V(10)))) + ((xa25 & xa24) ^ (xa25 & xa23) ^ (xa24 & xa23)))
        xw27 = V(xw11 + (V((xw12 >> V(7)) | (xw12 << V(25))) ^ V((xw12 >> V(18)) | (xw12 << V(14))) ^ (xw12 >> V(3))) + xw20 + (V((xw25 >> V(17)) | (xw25 << V(15))) ^ V((xw25 >> V(19)) | (xw25 << V(13))) ^ (xw25 >> V(10))))
        xt27 = V(xe23 + (V((xe26 >> V(6)) | (xe26 << V(26))) ^ V((xe26 >> V(11)) | (xe26 << V(21))) ^ V((xe26 >> V(25)) | (xe26 << V(7)))) + ((xe26 & xe25) ^ (V(~xe26) & xe24)) + K27 + xw27)
        xe27 = V(xa23 + xt27)
        xa27 = V(xt27 + (V((xa26 >> V(2)) | (xa26 << V(30))) ^ V((xa26 >> V(13)) | (xa26 << V(19))) ^ V((xa26 >> V(22)) | (xa26 << V(10)))) + ((xa26 & xa25) ^ (xa26 & xa24) ^ (xa25 & xa24)))
        xw28 = V(xw12 + (V((xw13 >> V(7)) | (xw13 << V(25))) ^ V((xw13 >> V(18)) | (xw13 << V(14))) ^ (xw13 >> V(3))) + xw21 + (V((xw26 >> V(17)) | (xw26 << V(15))) ^ V((xw26 >> V(19)) | (xw26 << V(13))) ^ (xw26 >> V(10))))
        xt28 = V(xe24 + (V((xe27 >> V(6)) | (xe27 << V(26))) ^ V((xe27 >> V(11)) | (xe27 << V(21))) ^ V((xe27 >> V(25)) | (xe27 << V(7)))) + ((xe27 & xe26) ^ (V(~xe27) & xe25)) + K28 + xw28)
        xe28 = V(xa24 + xt28)
        xa28 = V(xt28 + (V((xa27 >> V(2)) | (xa27 << V(30))) ^ V((xa27 >> V(13)) | (xa27 << V(19))) ^ V((xa27 >> V(22)) | (xa27 << V(10)))) + ((xa27 & xa26) ^ (xa27 & xa25) ^ (xa26 & xa25)))
        xw29 = V(xw13 + (V((xw14 >> V(7)) | (xw14 << V(25))) ^ V((xw14 >> V(18)) | (xw14 << V(14))) ^ (xw14 >> V(3))) + xw22 + (V((xw27 >> V(17)) | (xw27 << V(15))) ^ V((xw27 >> V(19)) | (xw27 << V(13))) ^ (xw27 >> V(10))))
        xt29 = V(xe25 + (V((xe28 >> V(6)) | (xe28 << V(26))) ^ V((xe28 >> V(11)) | (xe28 << V(21))) ^ V((xe28 >> V(25)) | (xe28 << V(7)))) + ((xe28 & xe27) ^ (V(~xe28) & xe26)) + K29 + xw29)
        xe29 = V(xa25 + xt29)
        xa29 = V(xt29 + (V((xa28 >> V(2)) | (xa28 << V(30))) ^ V((xa28 >> V(13)) | (xa28 << V(19))) ^ V((xa28 >> V(22)) | (xa28 << V(10)))) + ((xa28 & xa27) ^ (xa28 & xa26) ^ (xa27 & xa26)))
        xw30 = V(xw14 + (V((xw15 >> V(7)) | (xw15 << V(25))) ^ V((xw15 >> V(18)) | (xw15 << V(14))) ^ (xw15 >> V(3))) + xw23 + (V((xw28 >> V(17)) | (xw28 << V(15))) ^ V((xw28 >> V(19)) | (xw28 << V(13))) ^ (xw28 >> V(10))))
        xt30 = V(xe26 + (V((xe29 >> V(6)) | (xe29 << V(26))) ^ V((xe29 >> V(11)) | (xe29 << V(21))) ^ V((xe29 >> V(25)) | (xe29 << V(7)))) + ((xe29 & xe28) ^ (V(~xe29) & xe27)) + K30 + xw30)
        xe30 = V(xa26 + xt30)
        xa30 = V(xt30 + (V((xa29 >> V(2)) | (xa29 << V(30))) ^ V((xa29 >> V(13)) | (xa29 << V(19))) ^ V((xa29 >> V(22)) | (xa29 << V(10)))) + ((xa29 & xa28) ^ (xa29 & xa27) ^ (xa28 & xa27)))
        xw31 = V(xw15 + (V((xw16 >> V(7)) | (xw16 << V(25))) ^ V((xw16 >> V(18)) | (xw16 << V(14))) ^ (xw16 >> V(3))) + xw24 + (V((xw29 >> V(17)) | (xw29 << V(15))) ^ V((xw29 >> V(19)) | (xw29 << V(13))) ^ (xw29 >> V(10))))
        xt31 = V(xe27 + (V((xe30 >> V(6)) | (xe30 << V(26))) ^ V((xe30 >> V(11)) | (xe30 << V(21))) ^ V((xe30 >> V(25)) | (xe30 << V(7)))) + ((xe30 & xe29) ^ (V(~xe30) & xe28)) + K31 + xw31)
        xe31 = V(xa27 + xt31)
        xa31 = V(xt31 + (V((xa30 >> V(2)) | (xa30 << V(30))) ^ V((xa30 >> V(13)) | (xa30 << V(19))) ^ V((xa30 >> V(22)) | (xa30 << V(10)))) + ((xa30 & xa29) ^ (xa30 & xa28) ^ (xa29 & xa28)))
        xw32 = V(xw16 + (V((xw17 >> V(7)) | (xw17 << V(25))) ^ V((xw17 >> V(18)) | (xw17 << V(14))) ^ (xw17 >> V(3))) + xw25 + (V((xw30 >> V(17)) | (xw30 << V(15))) ^ V((xw30 >> V(19)) | (xw30 << V(13))) ^ (xw30 >> V(10))))
        xt32 = V(xe28 + (V((xe31 >> V(6)) | (xe31 << V(26))) ^ V((xe31 >> V(11)) | (xe31 << V(21))) ^ V((xe31 >> V(25)) | (xe31 << V(7)))) + ((xe31 & xe30) ^ (V(~xe31) & xe29)) + K32 + xw32)
        xe32 = V(xa28 + xt32)
        xa32 = V(xt32 + (V((xa31 >> V(2)) | (xa31 << V(30))) ^ V((xa31 >> V(13)) | (xa31 << V(19))) ^ V((xa31 >> V(22)) | (xa31 << V(10)))) + ((xa31 & xa30) ^ (xa31 & xa29) ^ (xa30 & xa29)))
        xw33 = V(xw17 + (V((xw18 >> V(7)) | (xw18 << V(25))) ^ V((xw18 >> V(18)) | (xw18 << V(14))) ^ (xw18 >> V(3))) + xw26 + (V((xw31 >> V(17)) | (xw31 << V(15))) ^ V((xw31 >> V(19)) | (xw31 << V(13))) ^ (xw31 >> V(10))))
        xt33 = V(xe29 + (V((xe32 >> V(6)) | (xe32 << V(26))) ^ V((xe32 >> V(11)) | (xe32 << V(21))) ^ V((xe32 >> V(25)) | (xe32 << V(7)))) + ((xe32 & xe31) ^ (V(~xe32) & xe30)) + K33 + xw33)
        xe33 = V(xa29 + xt33)
        xa33 = V(xt33 + (V((xa32 >> V(2)) | (xa32 << V(30))) ^ V((xa32 >> V(13)) | (xa32 << V(19))) ^ V((xa32 >> V(22)) | (xa32 << V(10)))) + ((xa32 & xa31) ^ (xa32 & xa30) ^ (xa31 & xa30)))
        xw34 = V(xw18 + (V((xw19 >> V(7)) | (xw19 << V(25))) ^ V((xw19 >> V(18)) | (xw19 << V(14))) ^ (xw19 >> V(3))) + xw27 + (V((xw32 >> V(17)) | (xw32 << V(15))) ^ V((xw32 >> V(19)) | (xw32 << V(13))) ^ (xw32 >> V(10))))
        xt34 = V(xe30 + (V((xe33 >> V(6)) | (xe33 << V(26))) ^ V((xe33 >> V(11)) | (xe33 << V(21))) ^ V((xe33 >> V(25)) | (xe33 << V(7)))) + ((xe33 & xe32) ^ (V(~xe33) & xe31)) + K34 + xw34)
        xe34 = V(xa30 + xt34)
        xa34 = V(xt34 + (V((xa33 >> V(2)) | (xa33 << V(30))) ^ V((xa33 >> V(13)) | (xa33 << V(19))) ^ V((xa33 >> V(22)) | (xa33 << V(10)))) + ((xa33 & xa32) ^ (xa33 & xa31) ^ (xa32 & xa31)))
        xw35 = V(xw19 + (V((xw20 >> V(7)) | (xw20 << V(25))) ^ V((xw20 >> V(18)) | (xw20 << V(14))) ^ (xw20 >> V(3))) + xw28 + (V((xw33 >> V(17)) | (xw33 << V(15))) ^ V((xw33 >> V(19)) | (xw33 << V(13))) ^ (xw33 >> V(10))))
        xt35 = V(xe31 + (V((xe34 >> V(6)) | (xe34 << V(26))) ^ V((xe34 >> V(11)) | (xe34 << V(21))) ^ V((xe34 >> V(25)) | (xe34 << V(7)))) + ((xe34 & xe33) ^ (V(~xe34) & xe32)) + K35 + xw35)
        xe35 = V(xa31 + xt35)
        xa35 = V(xt35 + (V((xa34 >> V(2)) | (xa34 << V(30))) ^ V((xa34 >> V(13)) | (xa34 << V(19))) ^ V((xa34 >> V(22)) | (xa34 << V(10)))) + ((xa34 & xa33) ^ (xa34 & xa32) ^ (xa33 & xa32)))
        xw36 = V(xw20 + (V((xw21 >> V(7)) | (xw21 << V(25))) ^ V((xw21 >> V(18)) | (xw21 << V(14))) ^ (xw21 >> V(3))) + xw29 + (V((xw34 >> V(17)) | (xw34 << V(15))) ^ V((xw34 >> V(19)) | (xw34 << V(13))) ^ (xw34 >> V(10))))
        xt36 = V(xe32 + (V((xe35 >> V(6)) | (xe35 << V(26))) ^ V((xe35 >> V(11)) | (xe35 << V(21))) ^ V((xe35 >> V(25)) | (xe35 << V(7)))) + ((xe35 & xe34) ^ (V(~xe35) & xe33)) + K36 + xw36)
        xe36 = V(xa32 + xt36)
        xa36 = V(xt36 + (V((xa35 >> V(2)) | (xa35 << V(30))) ^ V((xa35 >> V(13)) | (xa35 << V(19))) ^ V((xa35 >> V(22)) | (xa35 << V(10)))) + ((xa35 & xa34) ^ (xa35 & xa33) ^ (xa34 & xa33)))
        xw37 = V(xw21 + (V((xw22 >> V(7)) | (xw22 << V(25))) ^ V((xw22 >> V(18)) | (xw22 << V(14))) ^ (xw22 >> V(3))) + xw30 + (V((xw35 >> V(17)) | (xw35 << V(15))) ^ V((xw35 >> V(19)) | (xw35 << V(13))) ^ (xw35 >> V(10))))
        xt37 = V(xe33 + (V((xe36 >> V(6)) | (xe36 << V(26))) ^ V((xe36 >> V(11)) | (xe36 << V(21))) ^ V((xe36 >> V(25)) | (xe36 << V(7)))) + ((xe36 & xe35) ^ (V(~xe36) & xe34)) + K37 + xw37)
        xe37 = V(xa33 + xt37)
        xa37 = V(xt37 + (V((xa36 >> V(2)) | (xa36 << V(30))) ^ V((xa36 >> V(13)) | (xa36 << V(19))) ^ V((xa36 >> V(22)) | (xa36 << V(10)))) + ((xa36 & xa35) ^ (xa36 & xa34) ^ (xa35 & xa34)))
        xw38 = V(xw22 + (V((xw23 >> V(7)) | (xw23 << V(25))) ^ V((xw23 >> V(18)) | (xw23 << V(14))) ^ (xw23 >> V(3))) + xw31 + (V((xw36 >> V(17)) | (xw36 << V(15))) ^ V((xw36 >> V(19)) | (xw36 << V(13))) ^ (xw36 >> V(10))))
        xt38 = V(xe34 + (V((xe37 >> V(6)) | (xe37 << V(26))) ^ V((xe37 >> V(11)) | (xe37 << V(21))) ^ V((xe37 >> V(25)) | (xe37 << V(7)))) + ((xe37 & xe36) ^ (V(~xe37) & xe35)) + K38 + xw38)
        xe38 = V(xa34 + xt38)
        xa38 = V(xt38 + (V((xa37 >> V(2)) | (xa37 << V(30))) ^ V((xa37 >> V(13)) | (xa37 << V(19))) ^ V((xa37 >> V(22)) | (xa37 << V(10)))) + ((xa37 & xa36) ^ (xa37 & xa35) ^ (xa36 & xa35)))
        xw39 = V(xw23 + (V((xw24 >> V(7)) | (xw24 << V(25))) ^ V((xw24 >> V(18)) | (xw24 << V(14))) ^ (xw24 >> V(3))) + xw32 + (V((xw37 >> V(17)) | (xw37 << V(15))) ^ V((xw37 >> V(19)) | (xw37 << V(13))) ^ (xw37 >> V(10))))
        xt39 = V(xe35 + (V((xe38 >> V(6)) | (xe38 << V(26))) ^ V((xe38 >> V(11)) | (xe38 << V(21))) ^ V((xe38 >> V(25)) | (xe38 << V(7)))) + ((xe38 & xe37) ^ (V(~xe38) & xe36)) + K39 + xw39)
        xe39 = V(xa35 + xt39)
        xa39 = V(xt39 + (V((xa38 >> V(2)) | (xa38 << V(30))) ^ V((xa38 >> V(13)) | (xa38 << V(19))) ^ V((xa38 >> V(22)) | (xa38 << V(10)))) + ((xa38 & xa37) ^ (xa38 & xa36) ^ (xa37 & xa36)))
        xw40 = V(xw24 + (V((xw25 >> V(7)) | (xw25 << V(25))) ^ V((xw25 >> V(18)) | (xw25 << V(14))) ^ (xw25 >> V(3))) + xw33 + (V((xw38 >> V(17)) | (xw38 << V(15))) ^ V((xw38 >> V(19)) | (xw38 << V(13))) ^ (xw38 >> V(10))))
        xt40 = V(xe36 + (V((xe39 >> V(6)) | (xe39 << V(26))) ^ V((xe39 >> V(11)) | (xe39 << V(21))) ^ V((xe39 >> V(25)) | (xe39 << V(7)))) + ((xe39 & xe38) ^ (V(~xe39) & xe37)) + K40 + xw40)
        xe40 = V(xa36 + xt40)
        xa40 = V(xt40 + (V((xa39 >> V(2)) | (xa39 << V(30))) ^ V((xa39 >> V(13)) | (xa39 << V(19))) ^ V((xa39 >> V(22)) | (xa39 << V(10)))) + ((xa39 & xa38) ^ (xa39 & xa37) ^ (xa38 & xa37)))
        xw41 = V(xw25 + (V((xw26 >> V(7)) | (xw26 << V(25))) ^ V((xw26 >> V(18)) | (xw26 << V(14))) ^ (xw26 >> V(3))) + xw34 + (V((xw39 >> V(17)) | (xw39 << V(15))) ^ V((xw39 >> V(19)) | (xw39 << V(13))) ^ (xw39 >> V(10))))
        xt41 = V(xe37 + (V((xe40 >> V(6)) | (xe40 << V(26))) ^ V((xe40 >> V(11)) | (xe40 << V(21))) ^ V((xe40 >> V(25)) | (xe40 << V(7)))) + ((xe40 & xe39) ^ (V(~xe40) & xe38)) + K41 + xw41)
        xe41 = V(xa37 + xt41)
        xa41 = V(xt41 + (V((xa40 >> V(2)) | (xa40 << V(30))) ^ V((xa40 >> V(13)) | (xa40 << V(19))) ^ V((xa40 >> V(22)) | (xa40 << V(10)))) + ((xa40 & xa39) ^ (xa40 & xa38) ^ (xa39 & xa38)))
        xw42 = V(xw26 + (V((xw27 >> V(7)) | (xw27 << V(25))) ^ V((xw27 >> V(18)) | (xw27 << V(14))) ^ (xw27 >> V(3))) + xw35 + (V((xw40 >> V(17)) | (xw40 << V(15))) ^ V((xw40 >> V(19)) | (xw40 << V(13))) ^ (xw40 >> V(10))))
        xt42 = V(xe38 + (V((xe41 >> V(6)) | (xe41 << V(26))) ^ V((xe41 >> V(11)) | (xe41 << V(21))) ^ V((xe41 >> V(25)) | (xe41 << V(7)))) + ((xe41 & xe40) ^ (V(~xe41) & xe39)) + K42 + xw42)
        xe42 = V(xa38 + xt42)
        xa42 = V(xt42 + (V((xa41 >> V(2)) | (xa41 << V(30))) ^ V((xa41 >> V(13)) | (xa41 << V(19))) ^ V((xa41 >> V(22)) | (xa41 << V(10)))) + ((xa41 & xa40) ^ (xa41 & xa39) ^ (xa40 & xa39)))
        xw43 = V(xw27 + (V((xw28 >> V(7)) | (xw28 << V(25))) ^ V((xw28 >> V(18)) | (xw28 << V(14))) ^ (xw28 >> V(3))) + xw36 + (V((xw41 >> V(17)) | (xw41 << V(15))) ^ V((xw41 >> V(19)) | (xw41 << V(13))) ^ (xw41 >> V(10))))
        xt43 = V(xe39 + (V((xe42 >> V(6)) | (xe42 << V(26))) ^ V((xe42 >> V(11)) | (xe42 << V(21))) ^ V((xe42 >> V(25)) | (xe42 << V(7)))) + ((xe42 & xe41) ^ (V(~xe42) & xe40)) + K43 + xw43)
        xe43 = V(xa39 + xt43)
        xa43 = V(xt43 + (V((xa42 >> V(2)) | (xa42 << V(30))) ^ V((xa42 >> V(13)) | (xa42 << V(19))) ^ V((xa42 >> V(22)) | (xa42 << V(10)))) + ((xa42 & xa41) ^ (xa42 & xa40) ^ (xa41 & xa40)))
        xw44 = V(xw28 + (V((xw29 >> V(7)) | (xw29 << V(25))) ^ V((xw29 >> V(18)) | (xw29 << V(14))) ^ (xw29 >> V(3))) + xw37 + (V((xw42 >> V(17)) | (xw42 << V(15))) ^ V((xw42 >> V(19)) | (xw42 << V(13))) ^ (xw42 >> V(10))))
        xt44 = V(xe40 + (V((xe43 >> V(6)) | (xe43 << V(26))) ^ V((xe43 >> V(11)) | (xe43 << V(21))) ^ V((xe43 >> V(25)) | (xe43 << V(7)))) + ((xe43 & xe42) ^ (V(~xe43) & xe41)) + K44 + xw44)
        xe44 = V(xa40 + xt44)
        xa44 = V(xt44 + (V((xa43 >> V(2)) | (xa43 << V(30))) ^ V((xa43 >> V(13)) | (xa43 << V(19))) ^ V((xa43 >> V(22)) | (xa43 << V(10)))) + ((xa43 & xa42) ^ (xa43 & xa41) ^ (xa42 & xa41)))
        xw45 = V(xw29 + (V((xw30 >> V(7)) | (xw30 << V(25))) ^ V((xw30 >> V(18)) | (xw30 << V(14))) ^ (xw30 >> V(3))) + xw38 + (V((xw43 >> V(17)) | (xw43 << V(15))) ^ V((xw43 >> V(19)) | (xw43 << V(13))) ^ (xw43 >> V(10))))
        xt45 = V(xe41 + (V((xe44 >> V(6)) | (xe44 << V(26))) ^ V((xe44 >> V(11)) | (xe44 << V(21))) ^ V((xe44 >> V(25)) | (xe44 << V(7)))) + ((xe44 & xe43) ^ (V(~xe44) & xe42)) + K45 + xw45)
        xe45 = V(xa41 + xt45)
        xa45 = V(xt45 + (V((xa44 >> V(2)) | (xa44 << V(30))) ^ V((xa44 >> V(13)) | (xa44 << V(19))) ^ V((xa44 >> V(22)) | (xa44 << V(10)))) + ((xa44 & xa43) ^ (xa44 & xa42) ^ (xa43 & xa42)))
        xw46 = V(xw30 + (V((xw31 >> V(7)) | (xw31 << V(25))) ^ V((xw31 >> V(18)) | (xw31 << V(14))) ^ (xw31 >> V(3))) + xw39 + (V((xw44 >> V(17)) | (xw44 << V(15))) ^ V((xw44 >> V(19)) | (xw44 << V(13))) ^ (xw44 >> V(10))))
        xt46 = V(xe42 + (V((xe45 >> V(6)) | (xe45 << V(26))) ^ V((xe45 >> V(11)) | (xe45 << V(21))) ^ V((xe45 >> V(25)) | (xe45 << V(7)))) + ((xe45 & xe44) ^ (V(~xe45) & xe43)) + K46 + xw46)
        xe46 = V(xa42 + xt46)
        xa46 = V(xt46 + (V((xa45 >> V(2)) | (xa45 << V(30))) ^ V((xa45 >> V(13)) | (xa45 << V(19))) ^ V((xa45 >> V(22)) | (xa45 << V(10)))) + ((xa45 & xa44) ^ (xa45 & xa43) ^ (xa44 & xa43)))
        xw47 = V(xw31 + (V((xw32 >> V(7)) | (xw32 << V(25))) ^ V((xw32 >> V(18)) | (xw32 << V(14))) ^ (xw32 >> V(3))) + xw40 + (V((xw45 >> V(17)) | (xw45 << V(15))) ^ V((xw45 >> V(19)) | (xw45 << V(13))) ^ (xw45 >> V(10))))
        xt47 = V(xe43 + (V((xe46 >> V(6)) | (xe46 << V(26))) ^ V((xe46 >> V(11)) | (xe46 << V(21))) ^ V((xe46 >> V(25)) | (xe46 << V(7)))) + ((xe46 & xe45) ^ (V(~xe46) & xe44)) + K47 + xw47)
        xe47 = V(xa43 + xt47)
        xa47 = V(xt47 + (V((xa46 >> V(2)) | (xa46 << V(30))) ^ V((xa46 >> V(13)) | (xa46 << V(19))) ^ V((xa46 >> V(22)) | (xa46 << V(10)))) + ((xa46 & xa45) ^ (xa46 & xa44) ^ (xa45 & xa44)))
        xw48 = V(xw32 + (V((xw33 >> V(7)) | (xw33 << V(25))) ^ V((xw33 >> V(18)) | (xw33 << V(14))) ^ (xw33 >> V(3))) + xw41 + (V((xw46 >> V(17)) | (xw46 << V(15))) ^ V((xw46 >> V(19)) | (xw46 << V(13))) ^ (xw46 >> V(10))))
        xt48 = V(xe44 + (V((xe47 >> V(6)) | (xe47 << V(26))) ^ V((xe47 >> V(11)) | (xe47 << V(21))) ^ V((xe47 >> V(25)) | (xe47 << V(7)))) + ((xe47 & xe46) ^ (V(~xe47) & xe45)) + K48 + xw48)
        xe48 = V(xa44 + xt48)
        xa48 = V(xt48 + (V((xa47 >> V(2)) | (xa47 << V(30))) ^ V((xa47 >> V(13)) | (xa47 << V(19))) ^ V((xa47 >> V(22)) | (xa47 << V(10)))) + ((xa47 & xa46) ^ (xa47 & xa45) ^ (xa46 & xa45)))
        xw49 = V(xw33 + (V((xw34 >> V(7)) | (xw34 << V(25))) ^ V((xw34 >> V(18)) | (xw34 << V(14))) ^ (xw34 >> V(3))) + xw42 + (V((xw47 >> V(17)) | (xw47 << V(15))) ^ V((xw47 >> V(19)) | (xw47 << V(13))) ^ (xw47 >> V(10))))
        xt49 = V(xe45 + (V((xe48 >> V(6)) | (xe48 << V(26))) ^ V((xe48 >> V(11)) | (xe48 << V(21))) ^ V((xe48 >> V(25)) | (xe48 << V(7)))) + ((xe48 & xe47) ^ (V(~xe48) & xe46)) + K49 + xw49)
        xe49 = V(xa45 + xt49)
        xa49 = V(xt49 + (V((xa48 >> V(2)) | (xa48 << V(30))) ^ V((xa48 >> V(13)) | (xa48 << V(19))) ^ V((xa48 >> V(22)) | (xa48 << V(10)))) + ((xa48 & xa47) ^ (xa48 & xa46) ^ (xa47 & xa46)))
        xw50 = V(xw34 + (V((xw35 >> V(7)) | (xw35 << V(25))) ^ V((xw35 >> V(18)) | (xw35 << V(14))) ^ (xw35 >> V(3))) + xw43 + (V((xw48 >> V(17)) | (xw48 << V(15))) ^ V((xw48 >> V(19)) | (xw48 << V(13))) ^ (xw48 >> V(10))))
        xt50 = V(xe46 + (V((xe49 >> V(6)) | (xe49 << V(26))) ^ V((xe49 >> V(11)) | (xe49 << V(21))) ^ V((xe49 >> V(25)) | (xe49 << V(7)))) + ((xe49 & xe48) ^ (V(~xe49) & xe47)) + K50 + xw50)
        xe50 = V(xa46 + xt50)
        xa50 = V(xt50 + (V((xa49 >> V(2)) | (xa49 << V(30))) ^ V((xa49 >> V(13)) | (xa49 << V(19))) ^ V((xa49 >> V(22)) | (xa49 << V(10)))) + ((xa49 & xa48) ^ (xa49 & xa47) ^ (xa48 & xa47)))
        xw51 = V(xw35 + (V((xw36 >> V(7)) | (xw36 << V(25))) ^ V((xw36 >> V(18)) | (xw36 << V(14))) ^ (xw36 >> V(3))) + xw44 + (V((xw49 >> V(17)) | (xw49 << V(15))) ^ V((xw49 >> V(19)) | (xw49 << V(13))) ^ (xw49 >> V(10))))
        xt51 = V(xe47 + (V((xe50 >> V(6)) | (xe50 << V(26))) ^ V((xe50 >> V(11)) | (xe50 << V(21))) ^ V((xe50 >> V(25)) | (xe50 << V(7)))) + ((xe50 & xe49) ^ (V(~xe50) & xe48)) + K51 + xw51)
        xe51 = V(xa47 + xt51)
        xa51 = V(xt51 + (V((xa50 >> V(2)) | (xa50 << V(30))) ^ V((xa50 >> V(13)) | (xa50 << V(19))) ^ V((xa50 >> V(22)) | (xa50 << V(10)))) + ((xa50 & xa49) ^ (xa50 & xa48) ^ (xa49 & xa48)))
        xw52 = V(xw36 + (V((xw37 >> V(7)) | (xw37 << V(25))) ^ V((xw37 >> V(18)) | (xw37 << V(14))) ^ (xw37 >> V(3))) + xw45 + (V((xw50 >> V(17)) | (xw50 << V(15))) ^ V((xw50 >> V(19)) | (xw50 << V(13))) ^ (xw50 >> V(10))))
        xt52 = V(xe48 + (V((xe51 >> V(6)) | (xe51 << V(26))) ^ V((xe51 >> V(11)) | (xe51 << V(21))) ^ V((xe51 >> V(25)) | (xe51 << V(7)))) + ((xe51 & xe50) ^ (V(~xe51) & xe49)) + K52 + xw52)
        xe52 = V(xa48 + xt52)
        xa52 = V(xt52 + (V((xa51 >> V(2)) | (xa51 << V(30))) ^ V((xa51 >> V(13)) | (xa51 << V(19))) ^ V((xa51 >> V(22)) | (xa51 << V(10)))) + ((xa51 & xa50) ^ (xa51 & xa49) ^ (xa50 & xa49)))
        xw53 = V(xw37 + (V((xw38 >> V(7)) | (xw38 << V(25))) ^ V((xw38 >> V(18)) | (xw38 << V(14))) ^ (xw38 >> V(3))) + xw46 + (V((xw51 >> V(17)) | (xw51 << V(15))) ^ V((xw51 >> V(19)) | (xw51 << V(13))) ^ (xw51 >> V(10))))
        xt53 = V(xe49 + (V((xe52 >> V(6)) | (xe52 << V(26))) ^ V((xe52 >> V(11)) | (xe52 << V(21))) ^ V((xe52 >> V(25)) | (xe52 << V(7)))) + ((xe52 & xe51) ^ (V(~xe52) & xe50)) + K53 + xw53)
        xe53 = V(xa49 + xt53)
        xa53 = V(xt53 + (V((xa52 >> V(2)) | (xa52 << V(30))) ^ V((xa52 >> V(13)) | (xa52 << V(19))) ^ V((xa52 >> V(22)) | (xa52 << V(10)))) + ((xa52 & xa51) ^ (xa52 & xa50) ^ (xa51 & xa50)))
        xw54 = V(xw38 + (V((xw39 >> V(7)) | (xw39 << V(25))) ^ V((xw39 >> V(18)) | (xw39 << V(14))) ^ (xw39 >> V(3))) + xw47 + (V((xw52 >> V(17)) | (xw52 << V(15))) ^ V((xw52 >> V(19)) | (xw52 << V(13))) ^ (xw52 >> V(10))))
        xt54 = V(xe50 + (V((xe53 >> V(6)) | (xe53 << V(26))) ^ V((xe53 >> V(11)) | (xe53 << V(21))) ^ V((xe53 >> V(25)) | (xe53 << V(7)))) + ((xe53 & xe52) ^ (V(~xe53) & xe51)) + K54 + xw54)
        xe54 = V(xa50 + xt54)
        xa54 = V(xt54 + (V((xa53 >> V(2)) | (xa53 << V(30))) ^ V((xa53 >> V(13)) | (xa53 << V(19))) ^ V((xa53 >> V(22)) | (xa53 << V(10)))) + ((xa53 & xa52) ^ (xa53 & xa51) ^ (xa52 & xa51)))
        xw55 = V(xw39 + (V((xw40 >> V(7)) | (xw40 << V(25))) ^ V((xw40 >> V(18)) | (xw40 << V(14))) ^ (xw40 >> V(3))) + xw48 + (V((xw53 >> V(17)) | (xw53 << V(15))) ^ V((xw53 >> V(19)) | (xw53 << V(13))) ^ (xw53 >> V(10))))
        xt55 = V(xe51 + (V((xe54 >> V(6)) | (xe54 << V(26))) ^ V((xe54 >> V(11)) | (xe54 << V(21))) ^ V((xe54 >> V(25)) | (xe54 << V(7)))) + ((xe54 & xe53) ^ (V(~xe54) & xe52)) + K55 + xw55)
        xe55 = V(xa51 + xt55)
        xa55 = V(xt55 + (V((xa54 >> V(2)) | (xa54 << V(30))) ^ V((xa54 >> V(13)) | (xa54 << V(19))) ^ V((xa54 >> V(22)) | (xa54 << V(10)))) + ((xa54 & xa53) ^ (xa54 & xa52) ^ (xa53 & xa52)))
        xw56 = V(xw40 + (V((xw41 >> V(7)) | (xw41 << V(25))) ^ V((xw41 >> V(18)) | (xw41 << V(14))) ^ (xw41 >> V(3))) + xw49 + (V((xw54 >> V(17)) | (xw54 << V(15))) ^ V((xw54 >> V(19)) | (xw54 << V(13))) ^ (xw54 >> V(10))))
        xt56 = V(xe52 + (V((xe55 >> V(6)) | (xe55 << V(26))) ^ V((xe55 >> V(11)) | (xe55 << V(21))) ^ V((xe55 >> V(25)) | (xe55 << V(7)))) + ((xe55 & xe54) ^ (V(~xe55) & xe53)) + K56 + xw56)
        xe56 = V(xa52 + xt56)
        xa56 = V(xt56 + (V((xa55 >> V(2)) | (xa55 << V(30))) ^ V((xa55 >> V(13)) | (xa55 << V(19))) ^ V((xa55 >> V(22)) | (xa55 << V(10)))) + ((xa55 & xa54) ^ (xa55 & xa53) ^ (xa54 & xa53)))
        xw57 = V(xw41 + (V((xw42 >> V(7)) | (xw42 << V(25))) ^ V((xw42 >> V(18)) | (xw42 << V(14))) ^ (xw42 >> V(3))) + xw50 + (V((xw55 >> V(17)) | (xw55 << V(15))) ^ V((xw55 >> V(19)) | (xw55 << V(13))) ^ (xw55 >> V(10))))
        xt57 = V(xe53 + (V((xe56 >> V(6)) | (xe56 << V(26))) ^ V((xe56 >> V(11)) | (xe56 << V(21))) ^ V((xe56 >> V(25)) | (xe56 << V(7)))) + ((xe56 & xe55) ^ (V(~xe56) & xe54)) + K57 + xw57)
        xe57 = V(xa53 + xt57)
        xa57 = V(xt57 + (V((xa56 >> V(2)) | (xa56 << V(30))) ^ V((xa56 >> V(13)) | (xa56 << V(19))) ^ V((xa56 >> V(22)) | (xa56 << V(10)))) + ((xa56 & xa55) ^ (xa56 & xa54) ^ (xa55 & xa54)))
        xw58 = V(xw42 + (V((xw43 >> V(7)) | (xw43 << V(25))) ^ V((xw43 >> V(18)) | (xw43 << V(14))) ^ (xw43 >> V(3))) + xw51 + (V((xw56 >> V(17)) | (xw56 << V(15))) ^ V((xw56 >> V(19)) | (xw56 << V(13))) ^ (xw56 >> V(10))))
        xt58 = V(xe54 + (V((xe57 >> V(6)) | (xe57 << V(26))) ^ V((xe57 >> V(11)) | (xe57 << V(21))) ^ V((xe57 >> V(25)) | (xe57 << V(7)))) + ((xe57 & xe56) ^ (V(~xe57) & xe55)) + K58 + xw58)
        xe58 = V(xa54 + xt58)
        xa58 = V(xt58 + (V((xa57 >> V(2)) | (xa57 << V(30))) ^ V((xa57 >> V(13)) | (xa57 << V(19))) ^ V((xa57 >> V(22)) | (xa57 << V(10)))) + ((xa57 & xa56) ^ (xa57 & xa55) ^ (xa56 & xa55)))
        xw59 = V(xw43 + (V((xw44 >> V(7)) | (xw44 << V(25))) ^ V((xw44 >> V(18)) | (xw44 << V(14))) ^ (xw44 >> V(3))) + xw52 + (V((xw57 >> V(17)) | (xw57 << V(15))) ^ V((xw57 >> V(19)) | (xw57 << V(13))) ^ (xw57 >> V(10))))
        xt59 = V(xe55 + (V((xe58 >> V(6)) | (xe58 << V(26))) ^ V((xe58 >> V(11)) | (xe58 << V(21))) ^ V((xe58 >> V(25)) | (xe58 << V(7)))) + ((xe58 & xe57) ^ (V(~xe58) & xe56)) + K59 + xw59)
        xe59 = V(xa55 + xt59)
        xa59 = V(xt59 + (V((xa58 >> V(2)) | (xa58 << V(30))) ^ V((xa58 >> V(13)) | (xa58 << V(19))) ^ V((xa58 >> V(22)) | (xa58 << V(10)))) + ((xa58 & xa57) ^ (xa58 & xa56) ^ (xa57 & xa56)))
        xw60 = V(xw44 + (V((xw45 >> V(7)) | (xw45 << V(25))) ^ V((xw45 >> V(18)) | (xw45 << V(14))) ^ (xw45 >> V(3))) + xw53 + (V((xw58 >> V(17)) | (xw58 << V(15))) ^ V((xw58 >> V(19)) | (xw58 << V(13))) ^ (xw58 >> V(10))))
        xt60 = V(xe56 + (V((xe59 >> V(6)) | (xe59 << V(26))) ^ V((xe59 >> V(11)) | (xe59 << V(21))) ^ V((xe59 >> V(25)) | (xe59 << V(7)))) + ((xe59 & xe58) ^ (V(~xe59) & xe57)) + K60 + xw60)
        xe60 = V(xa56 + xt60)
        xa60 = V(xt60 + (V((xa59 >> V(2)) | (xa59 << V(30))) ^ V((xa59 >> V(13)) | (xa59 << V(19))) ^ V((xa59 >> V(22)) | (xa59 << V(10)))) + ((xa59 & xa58) ^ (xa59 & xa57) ^ (xa58 & xa57)))
        xw61 = V(xw45 + (V((xw46 >> V(7)) | (xw46 << V(25))) ^ V((xw46 >> V(18)) | (xw46 << V(14))) ^ (xw46 >> V(3))) + xw54 + (V((xw59 >> V(17)) | (xw59 << V(15))) ^ V((xw59 >> V(19)) | (xw59 << V(13))) ^ (xw59 >> V(10))))
        xt61 = V(xe57 + (V((xe60 >> V(6)) | (xe60 << V(26))) ^ V((xe60 >> V(11)) | (xe60 << V(21))) ^ V((xe60 >> V(25)) | (xe60 << V(7)))) + ((xe60 & xe59) ^ (V(~xe60) & xe58)) + K61 + xw61)
        xe61 = V(xa57 + xt61)
        xa61 = V(xt61 + (V((xa60 >> V(2)) | (xa60 << V(30))) ^ V((xa60 >> V(13)) | (xa60 << V(19))) ^ V((xa60 >> V(22)) | (xa60 << V(10)))) + ((xa60 & xa59) ^ (xa60 & xa58) ^ (xa59 & xa58)))
        xw62 = V(xw46 + (V((xw47 >> V(7)) | (xw47 << V(25))) ^ V((xw47 >> V(18)) | (xw47 << V(14))) ^ (xw47 >> V(3))) + xw55 + (V((xw60 >> V(17)) | (xw60 << V(15))) ^ V((xw60 >> V(19)) | (xw60 << V(13))) ^ (xw60 >> V(10))))
        xt62 = V(xe58 + (V((xe61 >> V(6)) | (xe61 << V(26))) ^ V((xe61 >> V(11)) | (xe61 << V(21))) ^ V((xe61 >> V(25)) | (xe61 << V(7)))) + ((xe61 & xe60) ^ (V(~xe61) & xe59)) + K62 + xw62)
        xe62 = V(xa58 + xt62)
        xa62 = V(xt62 + (V((xa61 >> V(2)) | (xa61 << V(30))) ^ V((xa61 >> V(13)) | (xa61 << V(19))) ^ V((xa61 >> V(22)) | (xa61 << V(10)))) + ((xa61 & xa60) ^ (xa61 & xa59) ^ (xa60 & xa59)))
        xw63 = V(xw47 + (V((xw48 >> V(7)) | (xw48 << V(25))) ^ V((xw48 >> V(18)) | (xw48 << V(14))) ^ (xw48 >> V(3))) + xw56 + (V((xw61 >> V(17)) | (xw61 << V(15))) ^ V((xw61 >> V(19)) | (xw61 << V(13))) ^ (xw61 >> V(10))))
        xt63 = V(xe59 + (V((xe62 >> V(6)) | (xe62 << V(26))) ^ V((xe62 >> V(11)) | (xe62 << V(21))) ^ V((xe62 >> V(25)) | (xe62 << V(7)))) + ((xe62 & xe61) ^ (V(~xe62) & xe60)) + K63 + xw63)
        xe63 = V(xa59 + xt63)
        xa63 = V(xt63 + (V((xa62 >> V(2)) | (xa62 << V(30))) ^ V((xa62 >> V(13)) | (xa62 << V(19))) ^ V((xa62 >> V(22)) | (xa62 << V(10)))) + ((xa62 & xa61) ^ (xa62 & xa60) ^ (xa61 & xa60)))
        xh0 = V(i0 + xa63)
        xh1 = V(i1 + xa62)
        xh2 = V(i2 + xa61)
        xh3 = V(i3 + xa60)
        xh4 = V(i4 + xe63)
        xh5 = V(i5 + xe62)
        xh6 = V(i6 + xe61)
        xh7 = V(i7 + xe60)
        st[0, k] = xh0
        st[1, k] = xh1
        st[2, k] = xh2
        st[3, k] = xh3
        st[4, k] = xh4
        st[5, k] = xh5
        st[6, k] = xh6
        st[7, k] = xh7
    # END GENERATED sha256-lanes


@njit(nogil=True, cache=True)
def _sha1_lanes(st, init, tw, SA, SB, g0, n, dshift, pshift, lshift, lmask, WA, SPILL):
    """One SHA-1 compression for each of LANES consecutive low values, with four low hex digits."""
    # BEGIN GENERATED sha1-lanes: python -m engine.pow._codegen_counter
    tw0 = tw[0]
    tw1 = tw[1]
    tw2 = tw[2]
    tw3 = tw[3]
    tw4 = tw[4]
    tw5 = tw[5]
    tw6 = tw[6]
    tw7 = tw[7]
    tw8 = tw[8]
    tw9 = tw[9]
    tw10 = tw[10]
    tw11 = tw[11]
    tw12 = tw[12]
    tw13 = tw[13]
    tw14 = tw[14]
    tw15 = tw[15]
    sa0 = (ALL if WA == 0 else V(0)) if WA >= 0 else SA[0]
    sa1 = (ALL if WA == 1 else V(0)) if WA >= 0 else SA[1]
    sa2 = (ALL if WA == 2 else V(0)) if WA >= 0 else SA[2]
    sa3 = (ALL if WA == 3 else V(0)) if WA >= 0 else SA[3]
    sa4 = (ALL if WA == 4 else V(0)) if WA >= 0 else SA[4]
    sa5 = (ALL if WA == 5 else V(0)) if WA >= 0 else SA[5]
    sa6 = (ALL if WA == 6 else V(0)) if WA >= 0 else SA[6]
    sa7 = (ALL if WA == 7 else V(0)) if WA >= 0 else SA[7]
    sa8 = (ALL if WA == 8 else V(0)) if WA >= 0 else SA[8]
    sa9 = (ALL if WA == 9 else V(0)) if WA >= 0 else SA[9]
    sa10 = (ALL if WA == 10 else V(0)) if WA >= 0 else SA[10]
    sa11 = (ALL if WA == 11 else V(0)) if WA >= 0 else SA[11]
    sa12 = (ALL if WA == 12 else V(0)) if WA >= 0 else SA[12]
    sa13 = (ALL if WA == 13 else V(0)) if WA >= 0 else SA[13]
    sa14 = (ALL if WA == 14 else V(0)) if WA >= 0 else SA[14]
    sa15 = (ALL if WA == 15 else V(0)) if WA >= 0 else SA[15]
    sb0 = (ALL if SPILL == 1 and WA + 1 == 0 else V(0)) if WA >= 0 else SB[0]
    sb1 = (ALL if SPILL == 1 and WA + 1 == 1 else V(0)) if WA >= 0 else SB[1]
    sb2 = (ALL if SPILL == 1 and WA + 1 == 2 else V(0)) if WA >= 0 else SB[2]
    sb3 = (ALL if SPILL == 1 and WA + 1 == 3 else V(0)) if WA >= 0 else SB[3]
    sb4 = (ALL if SPILL == 1 and WA + 1 == 4 else V(0)) if WA >= 0 else SB[4]
    sb5 = (ALL if SPILL == 1 and WA + 1 == 5 else V(0)) if WA >= 0 else SB[5]
    sb6 = (ALL if SPILL == 1 and WA + 1 == 6 else V(0)) if WA >= 0 else SB[6]
    sb7 = (ALL if SPILL == 1 and WA + 1 == 7 else V(0)) if WA >= 0 else SB[7]
    sb8 = (ALL if SPILL == 1 and WA + 1 == 8 else V(0)) if WA >= 0 else SB[8]
    sb9 = (ALL if SPILL == 1 and WA + 1 == 9 else V(0)) if WA >= 0 else SB[9]
    sb10 = (ALL if SPILL == 1 and WA + 1 == 10 else V(0)) if WA >= 0 else SB[10]
    sb11 = (ALL if SPILL == 1 and WA + 1 == 11 else V(0)) if WA >= 0 else SB[11]
    sb12 = (ALL if SPILL == 1 and WA + 1 == 12 else V(0)) if WA >= 0 else SB[12]
    sb13 = (ALL if SPILL == 1 and WA + 1 == 13 else V(0)) if WA >= 0 else SB[13]
    sb14 = (ALL if SPILL == 1 and WA + 1 == 14 else V(0)) if WA >= 0 else SB[14]
    sb15 = (ALL if SPILL == 1 and WA + 1 == 15 else V(0)) if WA >= 0 else SB[15]
    h0 = init[0, 0]
    h1 = init[1, 0]
    h2 = init[2, 0]
    h3 = init[3, 0]
    h4 = init[4, 0]
    for k in range(n):
        lo = V(g0 + k)
        n0 = V(V(lo >> V(12)) & V(15))
        c0 = V(n0 + V(48) + V(V(V(V(9) - n0) >> V(31)) * V(39)))
        n1 = V(V(lo >> V(8)) & V(15))
        c1 = V(n1 + V(48) + V(V(V(V(9) - n1) >> V(31)) * V(39)))
        n2 = V(V(lo >> V(4)) & V(15))
        c2 = V(n2 + V(48) + V(V(V(V(9) - n2) >> V(31)) * V(39)))
        n3 = V(V(lo >> V(0)) & V(15))
        c3 = V(n3 + V(48) + V(V(V(V(9) - n3) >> V(31)) * V(39)))
        dd = V((c0 << V(24)) | (c1 << V(16)) | (c2 << V(8)) | c3)
        dd = V(dd << dshift)
        ph = V(dd >> pshift)
        pl = V(V(dd << lshift) & lmask)
        i0 = h0 if WA >= 0 else init[0, k]
        i1 = h1 if WA >= 0 else init[1, k]
        i2 = h2 if WA >= 0 else init[2, k]
        i3 = h3 if WA >= 0 else init[3, k]
        i4 = h4 if WA >= 0 else init[4, k]
        xw0 = V(tw0 | (ph & sa0) | (pl & sb0))
        xw1 = V(tw1 | (ph & sa1) | (pl & sb1))
        xw2 = V(tw2 | (ph & sa2) | (pl & sb2))
        xw3 = V(tw3 | (ph & sa3) | (pl & sb3))
        xw4 = V(tw4 | (ph & sa4) | (pl & sb4))
        xw5 = V(tw5 | (ph & sa5) | (pl & sb5))
        xw6 = V(tw6 | (ph & sa6) | (pl & sb6))
        xw7 = V(tw7 | (ph & sa7) | (pl & sb7))
        xw8 = V(tw8 | (ph & sa8) | (pl & sb8))
        xw9 = V(tw9 | (ph & sa9) | (pl & sb9))
        xw10 = V(tw10 | (ph & sa10) | (pl & sb10))
        xw11 = V(tw11 | (ph & sa11) | (pl & sb11))
        xw12 = V(tw12 | (ph & sa12) | (pl & sb12))
        xw13 = V(tw13 | (ph & sa13) | (pl & sb13))
        xw14 = V(tw14 | (ph & sa14) | (pl & sb14))
        xw15 = V(tw15 | (ph & sa15) | (pl & sb15))
        xt0 = V(V((i0 << V(5)) | (i0 >> V(27))) + V((i1 & i2) | (V(~i1) & i3)) + i4 + V(0x5A827999) + xw0)
        xc0 = V((i1 << V(30)) | (i1 >> V(2)))
        xt1 = V(V((xt0 << V(5)) | (xt0 >> V(27))) + V((i0 & xc0) | (V(~i0) & i2)) + i3 + V(0x5A827999) + xw1)
        xc1 = V((i0 << V(30)) | (i0 >> V(2)))
        xt2 = V(V((xt1 << V(5)) | (xt1 >> V(27))) + V((xt0 & xc1) | (V(~xt0) & xc0)) + i2 + V(0x5A827999) + xw2)
        xc2 = V((xt0 << V(30)) | (xt0 >> V(2)))
        xt3 = V(V((xt2 << V(5)) | (xt2 >> V(27))) + V((xt1 & xc2) | (V(~xt1) & xc1)) + xc0 + V(0x5A827999) + xw3)
        xc3 = V((xt1 << V(30)) | (xt1 >> V(2)))
        xt4 = V(V((xt3 << V(5)) | (xt3 >> V(27))) + V((xt2 & xc3) | (V(~xt2) & xc2)) + xc1 + V(0x5A827999) + xw4)
        xc4 = V((xt2 << V(30)) | (xt2 >> V(2)))
        xt5 = V(V((xt4 << V(5)) | (xt4 >> V(27))) + V((xt3 & xc4) | (V(~xt3) & xc3)) + xc2 + V(0x5A827999) + xw5)
        xc5 = V((xt3 << V(30)) | (xt3 >> V(2)))
        xt6 = V(V((xt5 << V(5)) | (xt5 >> V(27))) + V((xt4 & xc5) | (V(~xt4) & xc4)) + xc3 + V(0x5A827999) + xw6)
        xc6 = V((xt4 << V(30)) | (xt4 >> V(2)))
        xt7 = V(V((xt6 << V(5)) | (xt6 >> V(27))) + V((xt5 & xc6) | (V(~xt5) & xc5)) + xc4 + V(0x5A827999) + xw7)
        xc7 = V((xt5 << V(30)) | (xt5 >> V(2)))
        xt8 = V(V((xt7 << V(5)) | (xt7 >> V(27))) + V((xt6 & xc7) | (V(~xt6) & xc6)) + xc5 + V(0x5A827999) + xw8)
        xc8 = V((xt6 << V(30)) | (xt6 >> V(2)))
        xt9 = V(V((xt8 << V(5)) | (xt8 >> V(27))) + V((xt7 & xc8) | (V(~xt7) & xc7)) + xc6 + V(0x5A827999) + xw9)
        xc9 = V((xt7 << V(30)) | (xt7 >> V(2)))
        xt10 = V(V((xt9 << V(5)) | (xt9 >> V(27))) + V((xt8 & xc9) | (V(~xt8) & xc8)) + xc7 + V(0x5A827999) + xw10)
        xc10 = V((xt8 << V(30)) | (xt8 >> V(2)))
        xt11 = V(V((xt10 << V(5)) | (xt10 >> V(27))) + V((xt9 & xc10) | (V(~xt9) & xc9)) + xc8 + V(0x5A827999) + xw11)
        xc11 = V((xt9 << V(30)) | (xt9 >> V(2)))
        xt12 = V(V((xt11 << V(5)) | (xt11 >> V(27))) + V((xt10 & xc11) | (V(~xt10) & xc10)) + xc9 + V(0x5A827999) + xw12)
        xc12 = V((xt10 << V(30)) | (xt10 >> V(2)))
        xt13 = V(V((xt12 << V(5)) | (xt12 >> V(27))) + V((xt11 & xc12) | (V(~xt11) & xc11)) + xc10 + V(0x5A827999) + xw13)
        xc13 = V((xt11 << V(30)) | (xt11 >> V(2)))
        xt14 = V(V((xt13 << V(5)) | (xt13 >> V(27))) + V((xt12 & xc13) | (V(~xt12) & xc12)) + xc11 + V(0x5A827999) + xw14)
        xc14 = V((xt12 << V(30)) | (xt12 >> V(2)))
        xt15 = V(V((xt14 << V(5)) | (xt14 >> V(27))) + V((xt13 & xc14) | (V(~xt13) & xc13)) + xc12 + V(0x5A827999) + xw15)
        xc15 = V((xt13 << V(30)) | (xt13 >> V(2)))
        xv16 = V(xw13 ^ xw8 ^ xw2 ^ xw0)
        xw16 = V((xv16 << V(1)) | (xv16 >> V(31)))
        xt16 = V(V((xt15 << V(5)) | (xt15 >> V(27))) + V((xt14 & xc15) | (V(~xt14) & xc14)) + xc13 + V(0x5A827999) + xw16)
        xc16 = V((xt14 << V(30)) | (xt14 >> V(2)))
        xv17 = V(xw14 ^ xw9 ^ xw3 ^ xw1)
        xw17 = V((xv17 << V(1)) | (xv17 >> V(31)))
        xt17 = V(V((xt16 << V(5)) | (xt16 >> V(27))) + V((xt15 & xc16) | (V(~xt15) & xc15)) + xc14 + V(0x5A827999) + xw17)
        xc17 = V((xt15 << V(30)) | (xt15 >> V(2)))
        xv18 = V(xw15 ^ xw10 ^ xw4 ^ xw2)
        xw18 = V((xv18 << V(1)) | (xv18 >> V(31)))
        xt18 = V(V((xt17 << V(5)) | (xt17 >> V(27))) + V((xt16 & xc17) | (V(~xt16) & xc16)) + xc15 + V(0x5A827999) + xw18)
        xc18 = V((xt16 << V(30)) | (xt16 >> V(2)))
        xv19 = V(xw16 ^ xw11 ^ xw5 ^ xw3)
        xw19 = V((xv19 << V(1)) | (xv19 >> V(31)))
        xt19 = V(V((xt18 << V(5)) | (xt18 >> V(27))) + V((xt17 & xc18) | (V(~xt17) & xc17)) + xc16 + V(0x5A827999) + xw19)
        xc19 = V((xt17 << V(30)) | (xt17 >> V(2)))
        xv20 = V(xw17 ^ xw12 ^ xw6 ^ xw4)
        xw20 = V((xv20 << V(1)) | (xv20 >> V(31)))
        xt20 = V(V((xt19 << V(5)) | (xt19 >> V(27))) + V(xt18 ^ xc19 ^ xc18) + xc17 + V(0x6ED9EBA1) + xw20)
        xc20 = V((xt18 << V(30)) | (xt18 >> V(2)))
        xv21 = V(xw18 ^ xw13 ^ xw7 ^ xw5)
        xw21 = V((xv21 << V(1)) | (xv21 >> V(31)))
        xt21 = V(V((xt20 << V(5)) | (xt20 >> V(27))) + V(xt19 ^ xc20 ^ xc19) + xc18 + V(0x6ED9EBA1) + xw21)
        xc21 = V((xt19 << V(30)) | (xt19 >> V(2)))
        xv22 = V(xw19 ^ xw14 ^ xw8 ^ xw6)
        xw22 = V((xv22 << V(1)) | (xv22 >> V(31)))
        xt22 = V(V((xt21 << V(5)) | (xt21 >> V(27))) + V(xt20 ^ xc21 ^ xc20) + xc19 + V(0x6ED9EBA1) + xw22)
        xc22 = V((xt20 << V(30)) | (xt20 >> V(2)))
        xv23 = V(xw20 ^ xw15 ^ xw9 ^ xw7)
        xw23 = V((xv23 << V(1)) | (xv23 >> V(31)))
        xt23 = V(V((xt22 << V(5)) | (xt22 >> V(27))) + V(xt21 ^ xc22 ^ xc21) + xc20 + V(0x6ED9EBA1) + xw23)
        xc23 = V((xt21 << V(30)) | (xt21 >> V(2)))
        xv24 = V(xw21 ^ xw16 ^ xw10 ^ xw8)
        xw24 = V((xv24 << V(1)) | (xv24 >> V(31)))
        xt24 = V(V((xt23 << V(5)) | (xt23 >> V(27))) + V(xt22 ^ xc23 ^ xc22) + xc21 + V(0x6ED9EBA1) + xw24)
        xc24 = V((xt22 << V(30)) | (xt22 >> V(2)))
        xv25 = V(xw22 ^ xw17 ^ xw11 ^ xw9)
        xw25 = V((xv25 << V(1)) | (xv25 >> V(31)))
        xt25 = V(V((xt24 << V(5)) | (xt24 >> V(27))) + V(xt23 ^ xc24 ^ xc23) + xc22 + V(0x6ED9EBA1) + xw25)
        xc25 = V((xt23 << V(30)) | (xt23 >> V(2)))
        xv26 = V(xw23 ^ xw18 ^ xw12 ^ xw10)
        xw26 = V((xv26 << V(1)) | (xv26 >> V(31)))
        xt26 = V(V((xt25 << V(5)) | (xt25 >> V(27))) + V(xt24 ^ xc25 ^ xc24) + xc23 + V(0x6ED9EBA1) + xw26)
        xc26 = V((xt24 << V(30)) | (xt24 >> V(2)))
        xv27 = V(xw24 ^ xw19 ^ xw13 ^ xw11)
        xw27 = V((xv27 << V(1)) | (xv27 >> V(31)))
        xt27 = V(V((xt26 << V(5)) | (xt26 >> V(27))) + V(xt25 ^ xc26 ^ xc25) + xc24 + V(0x6ED9EBA1) + xw27)
        xc27 = V((xt25 << V(30)) | (xt25 >> V(2)))
        xv28 = V(xw25 ^ xw20 ^ xw14 ^ xw12)
        xw28 = V((xv28 << V(1)) | (xv28 >> V(31)))
        xt28 = V(V((xt27 << V(5)) | (xt27 >> V(27))) + V(xt26 ^ xc27 ^ xc26) + xc25 + V(0x6ED9EBA1) + xw28)
        xc28 = V((xt26 << V(30)) | (xt26 >> V(2)))
        xv29 = V(xw26 ^ xw21 ^ xw15 ^ xw13)
        xw29 = V((xv29 << V(1)) | (xv29 >> V(31)))
        xt29 = V(V((xt28 << V(5)) | (xt28 >> V(27))) + V(xt27 ^ xc28 ^ xc27) + xc26 + V(0x6ED9EBA1) + xw29)
        xc29 = V((xt27 << V(30)) | (xt27 >> V(2)))
        xv30 = V(xw27 ^ xw22 ^ xw16 ^ xw14)
        xw30 = V((xv30 << V(1)) | (xv30 >> V(31)))
        xt30 = V(V((xt29 << V(5)) | (xt29 >> V(27))) + V(xt28 ^ xc29 ^ xc28) + xc27 + V(0x6ED9EBA1) + xw30)
        xc30 = V((xt28 << V(30)) | (xt28 >> V(2)))
        xv31 = V(xw28 ^ xw23 ^ xw17 ^ xw15)
        xw31 = V((xv31 << V(1)) | (xv31 >> V(31)))
        xt31 = V(V((xt30 << V(5)) | (xt30 >> V(27))) + V(xt29 ^ xc30 ^ xc29) + xc28 + V(0x6ED9EBA1) + xw31)
        xc31 = V((xt29 << V(30)) | (xt29 >> V(2)))
        xv32 = V(xw29 ^ xw24 ^ xw18 ^ xw16)
        xw32 = V((xv32 << V(1)) | (xv32 >> V(31)))
        xt32 = V(V((xt31 << V(5)) | (xt31 >> V(27))) + V(xt30 ^ xc31 ^ xc30) + xc29 + V(0x6ED9EBA1) + xw32)
        xc32 = V((xt30 << V(30)) | (xt30 >> V(2)))
        xv33 = V(xw30 ^ xw25 ^ xw19 ^ xw17)
        xw33 = V((xv33 << V(1)) | (xv33 >> V(31)))
        xt33 = V(V((xt32 << V(5)) | (xt32 >> V(27))) + V(xt31 ^ xc32 ^ xc31) + xc30 + V(0x6ED9EBA1) + xw33)
        xc33 = V((xt31 << V(30)) | (xt31 >> V(2)))
        xv34 = V(xw31 ^ xw26 ^ xw20 ^ xw18)
        xw34 = V((xv34 << V(1)) | (xv34 >> V(31)))
        xt34 = V(V((xt33 << V(5)) | (xt33 >> V(27))) + V(xt32 ^ xc33 ^ xc32) + xc31 + V(0x6ED9EBA1) + xw34)
        xc34 = V((xt32 << V(30)) | (xt32 >> V(2)))
        xv35 = V(xw32 ^ xw27 ^ xw21 ^ xw19)
        xw35 = V((xv35 << V(1)) | (xv35 >> V(31)))
        xt35 = V(V((xt34 << V(5)) | (xt34 >> V(27))) + V(xt33 ^ xc34 ^ xc33) + xc32 + V(0x6ED9EBA1) + xw35)
        xc35 = V((xt33 << V(30)) | (xt33 >> V(2)))
        xv36 = V(xw33 ^ xw28 ^ xw22 ^ xw20)
        xw36 = V((xv36 << V(1)) | (xv36 >> V(31)))
        xt36 = V(V((xt35 << V(5)) | (xt35 >> V(27))) + V(xt34 ^ xc35 ^ xc34) + xc33 + V(0x6ED9EBA1) + xw36)
        xc36 = V((xt34 << V(30)) | (xt34 >> V(2)))
        xv37 = V(xw34 ^ xw29 ^ xw23 ^ xw21)
        xw37 = V((xv37 << V(1)) | (xv37 >> V(31)))
        xt37 = V(V((xt36 << V(5)) | (xt36 >> V(27))) + V(xt35 ^ xc36 ^ xc35) + xc34 + V(0x6ED9EBA1) + xw37)
        xc37 = V((xt35 << V(30)) | (xt35 >> V(2)))
        xv38 = V(xw35 ^ xw30 ^ xw24 ^ xw22)
        xw38 = V((xv38 << V(1)) | (xv38 >> V(31)))
        xt38 = V(V((xt37 << V(5)) | (xt37 >> V(27))) + V(xt36 ^ xc37 ^ xc36) + xc35 + V(0x6ED9EBA1) + xw38)
        xc38 = V((xt36 << V(30)) | (xt36 >> V(2)))
        xv39 = V(xw36 ^ xw31 ^ xw25 ^ xw23)
        xw39 = V((xv39 << V(1)) | (xv39 >> V(31)))
        xt39 = V(V((xt38 << V(5)) | (xt38 >> V(27))) + V(xt37 ^ xc38 ^ xc37) + xc36 + V(0x6ED9EBA1) + xw39)
        xc39 = V((xt37 << V(30)) | (xt37 >> V(2)))
        xv40 = V(xw37 ^ xw32 ^ xw26 ^ xw24)
        xw40 = V((xv40 << V(1)) | (xv40 >> V(31)))
        xt40 = V(V((xt39 << V(5)) | (xt39 >> V(27))) + V((xt38 & xc39) | (xt38 & xc38) | (xc39 & xc38)) + xc37 + V(0x8F1BBCDC) + xw40)
        xc40 = V((xt38 << V(30)) | (xt38 >> V(2)))
        xv41 = V(xw38 ^ xw33 ^ xw27 ^ xw25)
        xw41 = V((xv41 << V(1)) | (xv41 >> V(31)))
        xt41 = V(V((xt40 << V(5)) | (xt40 >> V(27))) + V((xt39 & xc40) | (xt39 & xc39) | (xc40 & xc39)) + xc38 + V(0x8F1BBCDC) + xw41)
        xc41 = V((xt39 << V(30)) | (xt39 >> V(2)))
        xv42 = V(xw39 ^ xw34 ^ xw28 ^ xw26)
        xw42 = V((xv42 << V(1)) | (xv42 >> V(31)))
        xt42 = V(V((xt41 << V(5)) | (xt41 >> V(27))) + V((xt40 & xc41) | (xt40 & xc40) | (xc41 & xc40)) + xc39 + V(0x8F1BBCDC) + xw42)
        xc42 = V((xt40 << V(30)) | (xt40 >> V(2)))
        xv43 = V(xw40 ^ xw35 ^ xw29 ^ xw27)
        xw43 = V((xv43 << V(1)) | (xv43 >> V(31)))
        xt43 = V(V((xt42 << V(5)) | (xt42 >> V(27))) + V((xt41 & xc42) | (xt41 & xc41) | (xc42 & xc41)) + xc40 + V(0x8F1BBCDC) + xw43)
        xc43 = V((xt41 << V(30)) | (xt41 >> V(2)))
        xv44 = V(xw41 ^ xw36 ^ xw30 ^ xw28)
        xw44 = V((xv44 << V(1)) | (xv44 >> V(31)))
        xt44 = V(V((xt43 << V(5)) | (xt43 >> V(27))) + V((xt42 & xc43) | (xt42 & xc42) | (xc43 & xc42)) + xc41 + V(0x8F1BBCDC) + xw44)
        xc44 = V((xt42 << V(30)) | (xt42 >> V(2)))
        xv45 = V(xw42 ^ xw37 ^ xw31 ^ xw29)
        xw45 = V((xv45 << V(1)) | (xv45 >> V(31)))
        xt45 = V(V((xt44 << V(5)) | (xt44 >> V(27))) + V((xt43 & xc44) | (xt43 & xc43) | (xc44 & xc43)) + xc42 + V(0x8F1BBCDC) + xw45)
        xc45 = V((xt43 << V(30)) | (xt43 >> V(2)))
        xv46 = V(xw43 ^ xw38 ^ xw32 ^ xw30)
        xw46 = V((xv46 << V(1)) | (xv46 >> V(31)))
        xt46 = V(V((xt45 << V(5)) | (xt45 >> V(27))) + V((xt44 & xc45) | (xt44 & xc44) | (xc45 & xc44)) + xc43 + V(0x8F1BBCDC) + xw46)
        xc46 = V((xt44 << V(30)) | (xt44 >> V(2)))
        xv47 = V(xw44 ^ xw39 ^ xw33 ^ xw31)
        xw47 = V((xv47 << V(1)) | (xv47 >> V(31)))
        xt47 = V(V((xt46 << V(5)) | (xt46 >> V(27))) + V((xt45 & xc46) | (xt45 & xc45) | (xc46 & xc45)) + xc44 + V(0x8F1BBCDC) + xw47)
        xc47 = V((xt45 << V(30)) | (xt45 >> V(2)))
        xv48 = V(xw45 ^ xw40 ^ xw34 ^ xw32)
        xw48 = V((xv48 << V(1)) | (xv48 >> V(31)))
        xt48 = V(V((xt47 << V(5)) | (xt47 >> V(27))) + V((xt46 & xc47) | (xt46 & xc46) | (xc47 & xc46)) + xc45 + V(0x8F1BBCDC) + xw48)
        xc48 = V((xt46 << V(30)) | (xt46 >> V(2)))
        xv49 = V(xw46 ^ xw41 ^ xw35 ^ xw33)
        xw49 = V((xv49 << V(1)) | (xv49 >> V(31)))
        xt49 = V(V((xt48 << V(5)) | (xt48 >> V(27))) + V((xt47 & xc48) | (xt47 & xc47) | (xc48 & xc47)) + xc46 + V(0x8F1BBCDC) + xw49)
        xc49 = V((xt47 << V(30)) | (xt47 >> V(2)))
        xv50 = V(xw47 ^ xw42 ^ xw36 ^ xw34)
        xw50 = V((xv50 << V(1)) | (xv50 >> V(31)))
        xt50 = V(V((xt49 << V(5)) | (xt49 >> V(27))) + V((xt48 & xc49) | (xt48 & xc48) | (xc49 & xc48)) + xc47 + V(0x8F1BBCDC) + xw50)
        xc50 = V((xt48 << V(30)) | (xt48 >> V(2)))
        xv51 = V(xw48 ^ xw43 ^ xw37 ^ xw35)
        xw51 = V((xv51 << V(1)) | (xv51 >> V(31)))
        xt51 = V(V((xt50 << V(5)) | (xt50 >> V(27))) + V((xt49 & xc50) | (xt49 & xc49) | (xc50 & xc49)) + xc48 + V(0x8F1BBCDC) + xw51)
        xc51 = V((xt49 << V(30)) | (xt49 >> V(2)))
        xv52 = V(xw49 ^ xw44 ^ xw38 ^ xw36)
        xw52 = V((xv52 << V(1)) | (xv52 >> V(31)))
        xt52 = V(V((xt51 << V(5)) | (xt51 >> V(27))) + V((xt50 & xc51) | (xt50 & xc50) | (xc51 & xc50)) + xc49 + V(0x8F1BBCDC) + xw52)
        xc52 = V((xt50 << V(30)) | (xt50 >> V(2)))
        xv53 = V(xw50 ^ xw45 ^ xw39 ^ xw37)
        xw53 = V((xv53 << V(1)) | (xv53 >> V(31)))
        xt53 = V(V((xt52 << V(5)) | (xt52 >> V(27))) + V((xt51 & xc52) | (xt51 & xc51) | (xc52 & xc51)) + xc50 + V(0x8F1BBCDC) + xw53)
        xc53 = V((xt51 << V(30)) | (xt51 >> V(2)))
        xv54 = V(xw51 ^ xw46 ^ xw40 ^ xw38)
        xw54 = V((xv54 << V(1)) | (xv54 >> V(31)))
        xt54 = V(V((xt53 << V(5)) | (xt53 >> V(27))) + V((xt52 & xc53) | (xt52 & xc52) | (xc53 & xc52)) + xc51 + V(0x8F1BBCDC) + xw54)
        xc54 = V((xt52 << V(30)) | (xt52 >> V(2)))
        xv55 = V(xw52 ^ xw47 ^ xw41 ^ xw39)
        xw55 = V((xv55 << V(1)) | (xv55 >> V(31)))
        xt55 = V(V((xt54 << V(5)) | (xt54 >> V(27))) + V((xt53 & xc54) | (xt53 & xc53) | (xc54 & xc53)) + xc52 + V(0x8F1BBCDC) + xw55)
        xc55 = V((xt53 << V(30)) | (xt53 >> V(2)))
        xv56 = V(xw53 ^ xw48 ^ xw42 ^ xw40)
        xw56 = V((xv56 << V(1)) | (xv56 >> V(31)))
        xt56 = V(V((xt55 << V(5)) | (xt55 >> V(27))) + V((xt54 & xc55) | (xt54 & xc54) | (xc55 & xc54)) + xc53 + V(0x8F1BBCDC) + xw56)
        xc56 = V((xt54 << V(30)) | (xt54 >> V(2)))
        xv57 = V(xw54 ^ xw49 ^ xw43 ^ xw41)
        xw57 = V((xv57 << V(1)) | (xv57 >> V(31)))
        xt57 = V(V((xt56 << V(5)) | (xt56 >> V(27))) + V((xt55 & xc56) | (xt55 & xc55) | (xc56 & xc55)) + xc54 + V(0x8F1BBCDC) + xw57)
        xc57 = V((xt55 << V(30)) | (xt55 >> V(2)))
        xv58 = V(xw55 ^ xw50 ^ xw44 ^ xw42)
        xw58 = V((xv58 << V(1)) | (xv58 >> V(31)))
        xt58 = V(V((xt57 << V(5)) | (xt57 >> V(27))) + V((xt56 & xc57) | (xt56 & xc56) | (xc57 & xc56)) + xc55 + V(0x8F1BBCDC) + xw58)
        xc58 = V((xt56 << V(30)) | (xt56 >> V(2)))
        xv59 = V(xw56 ^ xw51 ^ xw45 ^ xw43)
        xw59 = V((xv59 << V(1)) | (xv59 >> V(31)))
        xt59 = V(V((xt58 << V(5)) | (xt58 >> V(27))) + V((xt57 & xc58) | (xt57 & xc57) | (xc58 & xc57)) + xc56 + V(0x8F1BBCDC) + xw59)
        xc59 = V((xt57 << V(30)) | (xt57 >> V(2)))
        xv60 = V(xw57 ^ xw52 ^ xw46 ^ xw44)
        xw60 = V((xv60 << V(1)) | (xv60 >> V(31)))
        xt60 = V(V((xt59 << V(5)) | (xt59 >> V(27))) + V(xt58 ^ xc59 ^ xc58) + xc57 + V(0xCA62C1D6) + xw60)
        xc60 = V((xt58 << V(30)) | (xt58 >> V(2)))
        xv61 = V(xw58 ^ xw53 ^ xw47 ^ xw45)
        xw61 = V((xv61 << V(1)) | (xv61 >> V(31)))
        xt61 = V(V((xt60 << V(5)) | (xt60 >> V(27))) + V(xt59 ^ xc60 ^ xc59) + xc58 + V(0xCA62C1D6) + xw61)
        xc61 = V((xt59 << V(30)) | (xt59 >> V(2)))
        xv62 = V(xw59 ^ xw54 ^ xw48 ^ xw46)
        xw62 = V((xv62 << V(1)) | (xv62 >> V(31)))
        xt62 = V(V((xt61 << V(5)) | (xt61 >> V(27))) + V(xt60 ^ xc61 ^ xc60) + xc59 + V(0xCA62C1D6) + xw62)
        xc62 = V((xt60 << V(30)) | (xt60 >> V(2)))
        xv63 = V(xw60 ^ xw55 ^ xw49 ^ xw47)
        xw63 = V((xv63 << V(1)) | (xv63 >> V(31)))
        xt63 = V(V((xt62 << V(5)) | (xt62 >> V(27))) + V(xt61 ^ xc62 ^ xc61) + xc60 + V(0xCA62C1D6) + xw63)
        xc63 = V((xt61 << V(30)) | (xt61 >> V(2)))
        xv64 = V(xw61 ^ xw56 ^ xw50 ^ xw48)
        xw64 = V((xv64 << V(1)) | (xv64 >> V(31)))
        xt64 = V(V((xt63 << V(5)) | (xt63 >> V(27))) + V(xt62 ^ xc63 ^ xc62) + xc61 + V(0xCA62C1D6) + xw64)
        xc64 = V((xt62 << V(30)) | (xt62 >> V(2)))
        xv65 = V(xw62 ^ xw57 ^ xw51 ^ xw49)
        xw65 = V((xv65 << V(1)) | (xv65 >> V(31)))
        xt65 = V(V((xt64 << V(5)) | (xt64 >> V(27))) + V(xt63 ^ xc64 ^ xc63) + xc62 + V(0xCA62C1D6) + xw65)
        xc65 = V((xt63 << V(30)) | (xt63 >> V(2)))
        xv66 = V(xw63 ^ xw58 ^ xw52 ^ xw50)
        xw66 = V((xv66 << V(1)) | (xv66 >> V(31)))
        xt66 = V(V((xt65 << V(5)) | (xt65 >> V(27))) + V(xt64 ^ xc65 ^ xc64) + xc63 + V(0xCA62C1D6) + xw66)
        xc66 = V((xt64 << V(30)) | (xt64 >> V(2)))
        xv67 = V(xw64 ^ xw59 ^ xw53 ^ xw51)
        xw67 = V((xv67 << V(1)) | (xv67 >> V(31)))
        xt67 = V(V((xt66 << V(5)) | (xt66 >> V(27))) + V(xt65 ^ xc66 ^ xc65) + xc64 + V(0xCA62C1D6) + xw67)
        xc67 = V((xt65 << V(30)) | (xt65 >> V(2)))
        xv68 = V(xw65 ^ xw60 ^ xw54 ^ xw52)
        xw68 = V((xv68 << V(1)) | (xv68 >> V(31)))
        xt68 = V(V((xt67 << V(5)) | (xt67 >> V(27))) + V(xt66 ^ xc67 ^ xc66) + xc65 + V(0xCA62C1D6) + xw68)
        xc68 = V((xt66 << V(30)) | (xt66 >> V(2)))
        xv69 = V(xw66 ^ xw61 ^ xw55 ^ xw53)
        xw69 = V((xv69 << V(1)) | (xv69 >> V(31)))
        xt69 = V(V((xt68 << V(5)) | (xt68 >> V(27))) + V(xt67 ^ xc68 ^ xc67) + xc66 + V(0xCA62C1D6) + xw69)
        xc69 = V((xt67 << V(30)) | (xt67 >> V(2)))
        xv70 = V(xw67 ^ xw62 ^ xw56 ^ xw54)
        xw70 = V((xv70 << V(1)) | (xv70 >> V(31)))
        xt70 = V(V((xt69 << V(5)) | (xt69 >> V(27))) + V(xt68 ^ xc69 ^ xc68) + xc67 + V(0xCA62C1D6) + xw70)
        xc70 = V((xt68 << V(30)) | (xt68 >> V(2)))
        xv71 = V(xw68 ^ xw63 ^ xw57 ^ xw55)
        xw71 = V((xv71 << V(1)) | (xv71 >> V(31)))
        xt71 = V(V((xt70 << V(5)) | (xt70 >> V(27))) + V(xt69 ^ xc70 ^ xc69) + xc68 + V(0xCA62C1D6) + xw71)
        xc71 = V((xt69 << V(30)) | (xt69 >> V(2)))
        xv72 = V(xw69 ^ xw64 ^ xw58 ^ xw56)
        xw72 = V((xv72 << V(1)) | (xv72 >> V(31)))
        xt72 = V(V((xt71 << V(5)) | (xt71 >> V(27))) + V(xt70 ^ xc71 ^ xc70) + xc69 + V(0xCA62C1D6) + xw72)
        xc72 = V((xt70 << V(30)) | (xt70 >> V(2)))
        xv73 = V(xw70 ^ xw65 ^ xw59 ^ xw57)
        xw73 = V((xv73 << V(1)) | (xv73 >> V(31)))
        xt73 = V(V((xt72 << V(5)) | (xt72 >> V(27))) + V(xt71 ^ xc72 ^ xc71) + xc70 + V(0xCA62C1D6) + xw73)
        xc73 = V((xt71 << V(30)) | (xt71 >> V(2)))
        xv74 = V(xw71 ^ xw66 ^ xw60 ^ xw58)
        xw74 = V((xv74 << V(1)) | (xv74 >> V(31)))
        xt74 = V(V((xt73 << V(5)) | (xt73 >> V(27))) + V(xt72 ^ xc73 ^ xc72) + xc71 + V(0xCA62C1D6) + xw74)
        xc74 = V((xt72 << V(30)) | (xt72 >> V(2)))
        xv75 = V(xw72 ^ xw67 ^ xw61 ^ xw59)
        xw75 = V((xv75 << V(1)) | (xv75 >> V(31)))
        xt75 = V(V((xt74 << V(5)) | (xt74 >> V(27))) + V(xt73 ^ xc74 ^ xc73) + xc72 + V(0xCA62C1D6) + xw75)
        xc75 = V((xt73 << V(30)) | (xt73 >> V(2)))
        xv76 = V(xw73 ^ xw68 ^ xw62 ^ xw60)
        xw76 = V((xv76 << V(1)) | (xv76 >> V(31)))
        xt76 = V(V((xt75 << V(5)) | (xt75 >> V(27))) + V(xt74 ^ xc75 ^ xc74) + xc73 + V(0xCA62C1D6) + xw76)
        xc76 = V((xt74 << V(30)) | (xt74 >> V(2)))
        xv77 = V(xw74 ^ xw69 ^ xw63 ^ xw61)
        xw77 = V((xv77 << V(1)) | (xv77 >> V(31)))
        xt77 = V(V((xt76 << V(5)) | (xt76 >> V(27))) + V(xt75 ^ xc76 ^ xc75) + xc74 + V(0xCA62C1D6) + xw77)
        xc77 = V((xt75 << V(30)) | (xt75 >> V(2)))
        xv78 = V(xw75 ^ xw70 ^ xw64 ^ xw62)
        xw78 = V((xv78 << V(1)) | (xv78 >> V(31)))
        xt78 = V(V((xt77 << V(5)) | (xt77 >> V(27))) + V(xt76 ^ xc77 ^ xc76) + xc75 + V(0xCA62C1D6) + xw78)
        xc78 = V((xt76 << V(30)) | (xt76 >> V(2)))
        xv79 = V(xw76 ^ xw71 ^ xw65 ^ xw63)
        xw79 = V((xv79 << V(1)) | (xv79 >> V(31)))
        xt79 = V(V((xt78 << V(5)) | (xt78 >> V(27))) + V(xt77 ^ xc78 ^ xc77) + xc76 + V(0xCA62C1D6) + xw79)
        xc79 = V((xt77 << V(30)) | (xt77 >> V(2)))
        xh0 = V(i0 + xt79)
        xh1 = V(i1 + xt78)
        xh2 = V(i2 + xc79)
        xh3 = V(i3 + xc78)
        xh4 = V(i4 + xc77)
        st[0, k] = xh0
        st[1, k] = xh1
        st[2, k] = xh2
        st[3, k] = xh3
        st[4, k] = xh4
    # END GENERATED sha1-lanes


@njit(nogil=True, cache=True)
def search(algo, mid, tail, prefix_len, start, count, target, best_zeros, digests, WA, SPILL):
    """The hash of prefix ‖ digits(counter) for counters start … start+count-1 (count ≥ 1), where
    ``mid`` is the state after the prefix's whole 64-byte blocks and ``tail`` the rest of the
    prefix (< 64 bytes). Returns (hashes, best counter, best score, found) like the KALE kernel;
    with ``digests`` of ``count`` rows, row i gets the digest of start+i as big-endian words.

    ``WA``/``SPILL`` -1/0: any range. A specialised build has them as literals (see
    :mod:`engine.pow._variants`): the range then lies in one run of same-length counters whose
    four low digits all fall in one block's word WA (and WA+1 if SPILL is 1), as the caller checks.
    """
    base = np.uint64(10) if algo == SHA256 else np.uint64(16)  # the counter's digits
    maxd = 20 if algo == SHA256 else 16  # most digits a uint64 has in base
    nw = mid.shape[0]  # digest words
    record = digests.shape[0] >= count
    t = tail.shape[0]
    st = np.empty((nw, BLOCK), dtype=np.uint32)  # the lanes' digests
    st0 = np.empty((nw, BLOCK), dtype=np.uint32)  # their starting state
    TA = np.empty(10000 + BLOCK, dtype=np.uint32)  # SHA256: low four decimal digits' bits, per word
    TB = np.empty(10000 + BLOCK, dtype=np.uint32)
    placed = (V(99), V(99), V(99), V(99))
    st1 = np.empty((nw, BLOCK), dtype=np.uint32)  # after the first of two blocks
    hv = np.empty(nw, dtype=np.uint32)
    dg = np.empty(nw, dtype=np.uint32)
    buf = np.zeros(128, dtype=np.uint8)
    tw = np.zeros((2, 16), dtype=np.uint32)  # the message template, per block
    SA = np.zeros((2, 16), dtype=np.uint32)  # per block: the word the low digits start in
    SB = np.zeros((2, 16), dtype=np.uint32)  # and the word they spill into
    best_nonce = np.uint64(0)
    done = np.int64(0)
    n = np.uint64(start)
    last = np.uint64(start) + np.uint64(count - 1)  # inclusive: start + count may be 2**64
    while True:
        d = _digits(n, base, maxd)
        seg_last = last
        if d < maxd and _powb(d, base) - np.uint64(1) < seg_last:
            seg_last = _powb(d, base) - np.uint64(1)
        m = 4 if d >= 4 else d
        chunk = _powb(m, base)
        msg_len = t + d
        blocks = 1 if msg_len + 9 <= 64 else 2
        bits = np.uint64(prefix_len + d) * np.uint64(8)
        p = t + d - m  # byte where the low m digits start
        while True:
            hi = n // chunk
            room = seg_last - hi * chunk  # never hi * chunk + 9999: that can pass 2**64
            chunk_last = hi * chunk + (room if room < chunk - np.uint64(1) else chunk - np.uint64(1))
            for i in range(128):
                buf[i] = 0
            for i in range(t):
                buf[i] = tail[i]
            x = hi
            for i in range(d - m):
                buf[t + d - m - 1 - i] = _char(x % base)
                x //= base
            buf[msg_len] = 0x80
            for i in range(8):
                buf[64 * blocks - 1 - i] = np.uint8((bits >> np.uint64(8 * i)) & np.uint64(0xFF))
            for i in range(32):
                tw[i // 16, i % 16] = ((V(buf[4 * i]) << V(24)) | (V(buf[4 * i + 1]) << V(16)) | (V(buf[4 * i + 2]) << V(8))
                         | V(buf[4 * i + 3]))
            for j in range(nw):
                hv[j] = mid[j]
            first_block = 0
            if blocks == 2 and p >= 64:  # the digits are all in block 2: block 1 once per chunk
                hv = compress_scalar(algo, hv, tw[0])
                first_block = 1
            wa = p // 4
            off = p % 4
            dshift = V(8 * (4 - m))
            pshift = V(8 * off)
            lshift = V(32 - 8 * off) if off else V(0)
            lmask = ALL if off else V(0)
            lo_n = np.int64(chunk_last - hi * chunk) + 1
            g0 = np.int64(n - hi * chunk)
            for blk in range(2):  # where each block's digits go: the same for the whole chunk
                SA[blk, :] = 0
                SB[blk, :] = 0
                if 0 <= wa - 16 * blk < 16:
                    SA[blk, wa - 16 * blk] = ALL
                if off != 0 and 0 <= wa + 1 - 16 * blk < 16:
                    SB[blk, wa + 1 - 16 * blk] = ALL
            if algo == SHA256 and (dshift, pshift, lshift, lmask) != placed:
                _digit_tables(TA, TB, dshift, pshift, lshift, lmask)
                placed = (dshift, pshift, lshift, lmask)
            _fill(st0, hv, nw)  # every lane starts from the same state; st0 is never written below
            while g0 < lo_n:
                n_l = min(np.int64(BLOCK), (lo_n - g0 + LANES - 1) // LANES * LANES)
                if blocks - first_block == 1:
                    if WA >= 0:
                        if wa - 16 * first_block != WA or (1 if off else 0) != SPILL:
                            raise ValueError("a specialised counter kernel got a range it was not built for")
                        if algo == SHA256:
                            _sha256_lanes(st, st0, tw[first_block], SA[first_block], SB[first_block], TA, TB, g0, n_l,
                                          WA, SPILL)
                        else:
                            _sha1_lanes(st, st0, tw[first_block], SA[first_block], SB[first_block], g0, n_l,
                                        dshift, pshift, lshift, lmask, WA, SPILL)
                    elif algo == SHA256:
                        _sha256_lanes(st, st0, tw[first_block], SA[first_block], SB[first_block], TA, TB, g0, n_l,
                                      np.int64(-1), np.int64(0))
                    else:
                        _sha1_lanes(st, st0, tw[first_block], SA[first_block], SB[first_block], g0, n_l,
                                    dshift, pshift, lshift, lmask, np.int64(-1), np.int64(0))
                elif algo == SHA256:  # the digits in block 1 of 2: both blocks per counter
                    _sha256_lanes(st1, st0, tw[0], SA[0], SB[0], TA, TB, g0, n_l, np.int64(-1), np.int64(0))
                    _sha256_lanes(st, st1, tw[1], SA[1], SB[1], TA, TB, g0, n_l, np.int64(-1), np.int64(0))
                else:
                    _sha1_lanes(st1, st0, tw[0], SA[0], SB[0], g0, n_l, dshift, pshift, lshift, lmask, np.int64(-1),
                                np.int64(0))
                    _sha1_lanes(st, st1, tw[1], SA[1], SB[1], g0, n_l, dshift, pshift, lshift, lmask, np.int64(-1),
                                np.int64(0))
                threshold = _threshold(algo, best_zeros)
                lowest = st[0, 0]
                for k in range(1, n_l):  # a vector minimum: the lanes are looked at only if one may score
                    lowest = min(lowest, st[0, k])
                if np.uint64(lowest) < threshold or record:
                    for k in range(n_l):
                        lo = g0 + k
                        if lo >= lo_n:
                            break
                        if record:
                            row = np.int64(hi * chunk + np.uint64(lo) - np.uint64(start))
                            for j in range(nw):
                                digests[row, j] = st[j, k]
                        if np.uint64(st[0, k]) < threshold or record:
                            for j in range(nw):
                                dg[j] = st[j, k]
                            zeros = score(algo, dg)
                            if zeros > best_zeros:
                                best_zeros = zeros
                                best_nonce = hi * chunk + np.uint64(lo)
                                threshold = _threshold(algo, best_zeros)
                                if zeros >= target and not record:
                                    return done + k + 1, best_nonce, best_zeros, True
                done += min(n_l, lo_n - g0)
                g0 += n_l
            if chunk_last == seg_last:
                break
            n = chunk_last + np.uint64(1)
        if seg_last == last:
            break
        n = seg_last + np.uint64(1)
    return done, best_nonce, best_zeros, best_zeros >= target
