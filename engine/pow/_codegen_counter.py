"""Generates the "prefix ‖ counter" kernels, 16 nonces in lockstep:

* ``_structs_kernel.py``: SHA-256 of ``prefix ‖ decimal(nonce)``, scored in leading zero hex digits;
* ``_hashcash_kernel.py``: SHA-1 of ``stamp ‖ hex(counter)``, scored in leading zero bits.

Run ``python -m engine.pow._codegen_counter`` after changing this file; a test checks that the
committed kernels match what this writes.

Shape (the same idea as the KALE kernel, see ``_codegen.py``): one ``for k in range(LANES)``
loop computes a whole SHA-256 compression per lane as straight-line code on uint32 values in
single-assignment form — the generator renames the eight working variables round by round, so
the source never shuffles ``h = g; g = f …``. Written that way LLVM vectorizes the loop to 16 ×
uint32 (one AVX-512 register); with the shuffling assignments it does not vectorize at all.

The message: whole 64-byte blocks of the prefix are absorbed once into a midstate (Python,
per job). The kernel builds the remaining one or two blocks itself: the rest of the prefix,
the nonce's decimal digits, padding and length. For a run of nonces with the same number of
digits, all digits but the last four are the same for 10,000 nonces at a time (written once
per chunk); the last four are computed per lane and OR-ed into the (at most two) message
words they fall in. If the digits all lie in the second block, the first block is compressed
once per chunk and only the second per nonce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LANES = 16
K = [
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
]


def _rotr(x: str, n: int) -> str:
    return f"V(({x} >> V({n})) | ({x} << V({32 - n})))"


def _add(*terms: str) -> str:
    return f"V({' + '.join(terms)})"


def compress(ind: str, tag: str, state: list[str], words: list[str]) -> tuple[list[str], list[str]]:
    """Lines computing one SHA-256 compression of ``words`` (16 expressions) from ``state``
    (8 names); returns the lines and the 8 names holding the new state."""
    lines = [f"{ind}{tag}w{i} = {words[i]}" for i in range(16)]
    for i in range(16, 64):
        w15, w2 = f"{tag}w{i - 15}", f"{tag}w{i - 2}"
        s0 = f"({_rotr(w15, 7)} ^ {_rotr(w15, 18)} ^ ({w15} >> V(3)))"
        s1 = f"({_rotr(w2, 17)} ^ {_rotr(w2, 19)} ^ ({w2} >> V(10)))"
        lines.append(f"{ind}{tag}w{i} = {_add(f'{tag}w{i - 16}', s0, f'{tag}w{i - 7}', s1)}")
    s = list(state)
    for i in range(64):
        a, b, c, d, e, f, g, h = s
        big_s1 = f"({_rotr(e, 6)} ^ {_rotr(e, 11)} ^ {_rotr(e, 25)})"
        ch = f"(({e} & {f}) ^ (V(~{e}) & {g}))"
        big_s0 = f"({_rotr(a, 2)} ^ {_rotr(a, 13)} ^ {_rotr(a, 22)})"
        maj = f"(({a} & {b}) ^ ({a} & {c}) ^ ({b} & {c}))"
        lines.append(f"{ind}{tag}t{i} = {_add(h, big_s1, ch, f'K{i}', f'{tag}w{i}')}")
        lines.append(f"{ind}{tag}e{i} = {_add(d, f'{tag}t{i}')}")
        lines.append(f"{ind}{tag}a{i} = {_add(f'{tag}t{i}', big_s0, maj)}")
        s = [f"{tag}a{i}", a, b, c, f"{tag}e{i}", e, f, g]
    lines += [f"{ind}{tag}h{j} = {_add(state[j], s[j])}" for j in range(8)]
    return lines, [f"{tag}h{j}" for j in range(8)]


def _rotl(x: str, n: int) -> str:
    return f"V(({x} << V({n})) | ({x} >> V({32 - n})))"


def compress_sha1(ind: str, tag: str, state: list[str], words: list[str]) -> tuple[list[str], list[str]]:
    """One SHA-1 compression, straight-line and single-assignment like :func:`compress`."""
    lines = [f"{ind}{tag}w{i} = {words[i]}" for i in range(16)]
    for i in range(16, 80):
        lines.append(f"{ind}{tag}v{i} = V({tag}w{i - 3} ^ {tag}w{i - 8} ^ {tag}w{i - 14} ^ {tag}w{i - 16})")
        lines.append(f"{ind}{tag}w{i} = {_rotl(f'{tag}v{i}', 1)}")
    a, b, c, d, e = state
    for i in range(80):
        if i < 20:
            f, k = f"V(({b} & {c}) | (V(~{b}) & {d}))", "0x5A827999"
        elif i < 40:
            f, k = f"V({b} ^ {c} ^ {d})", "0x6ED9EBA1"
        elif i < 60:
            f, k = f"V(({b} & {c}) | ({b} & {d}) | ({c} & {d}))", "0x8F1BBCDC"
        else:
            f, k = f"V({b} ^ {c} ^ {d})", "0xCA62C1D6"
        lines.append(f"{ind}{tag}t{i} = {_add(_rotl(a, 5), f, e, f'V({k})', f'{tag}w{i}')}")
        lines.append(f"{ind}{tag}c{i} = {_rotl(b, 30)}")
        a, b, c, d, e = f"{tag}t{i}", a, f"{tag}c{i}", c, d
    final = [a, b, c, d, e]
    lines += [f"{ind}{tag}h{j} = {_add(state[j], final[j])}" for j in range(5)]
    return lines, [f"{tag}h{j}" for j in range(5)]


def _decimal4(ind: str) -> list[str]:
    return [f"{ind}dd = V((V(V(48) + lo // V(1000) % V(10)) << V(24)) | (V(V(48) + lo // V(100) % V(10)) << V(16))"
            " | (V(V(48) + lo // V(10) % V(10)) << V(8)) | V(V(48) + lo % V(10)))"]


def _hex4(ind: str) -> list[str]:
    lines = []
    for j in range(4):  # a nibble's ASCII: 48 + n, plus 39 past 9 ((9 - n) wraps to a set top bit)
        lines.append(f"{ind}n{j} = V(V(lo >> V({12 - 4 * j})) & V(15))")
        lines.append(f"{ind}c{j} = V(n{j} + V(48) + V(V(V(V(9) - n{j}) >> V(31)) * V(39)))")
    lines.append(f"{ind}dd = V((c0 << V(24)) | (c1 << V(16)) | (c2 << V(8)) | c3)")
    return lines


def _lane_loop(ind: str, spec: Spec) -> list[str]:
    """One compression per lane: message words from the template plus this lane's low digits,
    initial state from ``st[:, k]``, new state back into ``st[:, k]``."""
    body = ind + "    "
    lines = [
        f"{ind}for k in range(LANES):",
        f"{body}lo = V(g0 + k)",
    ]
    # the four low digits of lo as ASCII, packed big-endian into one word (arithmetic: a table
    # lookup here is a gather that stops the loop from vectorizing)
    lines += spec.digits4(body)
    lines += [
        f"{body}dd = V(dd << dshift)",  # fewer than four low digits: drop the unused leading ones
        f"{body}ph = V(dd >> pshift)",
        # every expression wrapped in V(): one bare `a & b` on uint32 is typed 64-bit by numba and
        # turns the whole loop into 64-bit lanes (measured: 17 MH/s instead of 52)
        f"{body}pl = V(V(dd << lshift) & lmask)",
    ]
    lines += [f"{body}i{j} = st[{j}, k]" for j in range(spec.words)]
    words = [f"V(tw{i} | (ph & sa{i}) | (pl & sb{i}))" for i in range(16)]
    code, state = spec.compress(body, "x", [f"i{j}" for j in range(spec.words)], words)
    lines += code
    lines += [f"{body}st[{j}, k] = {state[j]}" for j in range(spec.words)]
    return lines


HEADER = """\"\"\"GENERATED by engine/pow/_codegen_counter.py — do not edit; change the generator and rerun it.

{title}
\"\"\"

# ruff: noqa: E501
import numpy as np
from numba import njit

LANES = {lanes}
NW = {words}  # digest words
BASE = np.uint64({base})  # the counter's digits
MAXD = {maxd}  # most digits a uint64 has in BASE
V = np.uint32
ALL = V(0xFFFFFFFF)
{constants}


{scalar}{score}@njit(nogil=True, cache=True)
def _char(v):
    \"\"\"ASCII of one digit (0-9, then a-f).\"\"\"
    return np.uint8(48 + v + (39 if v > 9 else 0))


@njit(nogil=True, cache=True)
def _powb(d):
    v = np.uint64(1)
    for _ in range(d):
        v *= BASE
    return v


@njit(nogil=True, cache=True)
def _digits(n):
    d = 1
    while n >= BASE and d < MAXD:
        n //= BASE
        d += 1
    return d


@njit(nogil=True, cache=True)
def search(mid, tail, prefix_len, start, count, target, best_zeros, digests):
    \"\"\"The hash of prefix ‖ digits(nonce) for nonces start … start+count-1 (count ≥ 1), where
    ``mid`` is the state after the prefix's whole 64-byte blocks and ``tail`` the rest of the
    prefix (< 64 bytes). Returns (hashes, best nonce, best score, found) like the KALE kernel;
    with ``digests`` of ``count`` rows, row i gets the digest of start+i as NW big-endian words.
    \"\"\"
    record = digests.shape[0] >= count
    t = tail.shape[0]
    st = np.empty((NW, LANES), dtype=np.uint32)
    hv = np.empty(NW, dtype=np.uint32)
    dg = np.empty(NW, dtype=np.uint32)
    buf = np.zeros(128, dtype=np.uint8)
    tw = np.zeros(32, dtype=np.uint32)
    SA = np.zeros(16, dtype=np.uint32)
    SB = np.zeros(16, dtype=np.uint32)
    best_nonce = np.uint64(0)
    done = 0
    n = np.uint64(start)
    last = np.uint64(start) + np.uint64(count - 1)  # inclusive: start + count may be 2**64
    while True:
        d = _digits(n)
        seg_last = last
        if d < MAXD and _powb(d) - np.uint64(1) < seg_last:
            seg_last = _powb(d) - np.uint64(1)
        m = 4 if d >= 4 else d
        chunk = _powb(m)
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
                buf[t + d - m - 1 - i] = _char(x % BASE)
                x //= BASE
            buf[msg_len] = 0x80
            for i in range(8):
                buf[64 * blocks - 1 - i] = np.uint8((bits >> np.uint64(8 * i)) & np.uint64(0xFF))
            for i in range(32):
                tw[i] = (V(buf[4 * i]) << V(24)) | (V(buf[4 * i + 1]) << V(16)) | (V(buf[4 * i + 2]) << V(8)) | V(buf[4 * i + 3])
            for j in range(NW):
                hv[j] = mid[j]
            first_block = 0
            if blocks == 2 and p >= 64:  # the digits are all in block 2: block 1 once per chunk
                hv = _compress_scalar(hv, tw[0:16])
                first_block = 1
            wa = p // 4
            off = p % 4
            dshift = V(8 * (4 - m))
            pshift = V(8 * off)
            lshift = V(32 - 8 * off) if off else V(0)
            lmask = ALL if off else V(0)
            lo_n = np.int64(chunk_last - hi * chunk) + 1
            g0 = np.int64(n - hi * chunk)
            while g0 < lo_n:
                for k in range(LANES):
                    for j in range(NW):
                        st[j, k] = hv[j]
                for blk in range(first_block, blocks):
"""

FOOTER = """                for k in range(LANES):
                    lo = g0 + k
                    if lo >= lo_n:
                        break
                    if record:
                        row = np.int64(hi * chunk + np.uint64(lo) - np.uint64(start))
                        for j in range(NW):
                            digests[row, j] = st[j, k]
                    if st[0, k] < V(0x10000000) or record:
                        for j in range(NW):
                            dg[j] = st[j, k]
                        zeros = score(dg)
                        if zeros > best_zeros:
                            best_zeros = zeros
                            best_nonce = hi * chunk + np.uint64(lo)
                            if zeros >= target and not record:
                                return done + k + 1, best_nonce, best_zeros, True
                done += min(LANES, lo_n - g0)
                g0 += LANES
            if chunk_last == seg_last:
                break
            n = chunk_last + np.uint64(1)
        if seg_last == last:
            break
        n = seg_last + np.uint64(1)
    return done, best_nonce, best_zeros, best_zeros >= target
"""


LANE_BLOCK = """

@njit(nogil=True, cache=True)
def _lane_block(st, tw, SA, SB, g0, dshift, pshift, lshift, lmask):
    \"\"\"One compression for each of LANES consecutive low values g0 … g0+LANES-1.\"\"\"
{hoist}
{loop}
"""


@dataclass(frozen=True)
class Spec:
    """One kernel: its hash, digest size, counter base and score."""

    title: str
    words: int
    base: int
    maxd: int
    compress: Callable[[str, str, list[str], list[str]], tuple[list[str], list[str]]]
    digits4: Callable[[str], list[str]]
    scalar: str
    score: str
    constants: str
    target: Path


SHA1_SCALAR = """@njit(nogil=True, cache=True)
def _compress_scalar(state, block):
    \"\"\"One SHA-1 compression (scalar: per job or per chunk, never per nonce).\"\"\"
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


"""

ZERO_BITS = """@njit(nogil=True, cache=True)
def score(h):
    \"\"\"Leading zero bits of a digest given as NW big-endian uint32 words.\"\"\"
    zeros = 0
    for j in range(NW):
        v = h[j]
        if v == 0:
            zeros += 32
            continue
        while (v & V(0x80000000)) == 0:
            zeros += 1
            v = V(v << V(1))
        return zeros
    return zeros


"""

_SHA256_CONSTANTS = "\n".join(f"K{i} = V({k:#010x})" for i, k in enumerate(K)) + (
    "\nKT = np.array([" + ", ".join(f"{k:#010x}" for k in K) + "], dtype=np.uint32)")

SHA256_SCALAR = """@njit(nogil=True, cache=True)
def _compress_scalar(state, block):
    \"\"\"One SHA-256 compression (scalar: per job or per chunk, never per nonce).\"\"\"
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


"""
SHA256_SCORE = """@njit(nogil=True, cache=True)
def score(h):
    \"\"\"Leading zero hex digits of a digest given as 8 big-endian uint32 words.\"\"\"
    zeros = 0
    for j in range(8):
        v = h[j]
        for shift in range(28, -4, -4):
            if (v >> V(shift)) & V(0xF) != 0:
                return zeros
            zeros += 1
    return zeros


"""


STRUCTS = Spec("Structs SHA-256 kernel: 16 nonces in lockstep over prefix ‖ decimal(nonce), scored in "
               "leading zero hex digits (see the generator).", 8, 10, 20, compress, _decimal4,
               SHA256_SCALAR, SHA256_SCORE, _SHA256_CONSTANTS, Path(__file__).with_name("_structs_kernel.py"))
HASHCASH = Spec("Hashcash SHA-1 kernel: 16 counters in lockstep over stamp ‖ hex(counter), scored in leading "
                "zero bits (see the generator).", 5, 16, 16, compress_sha1, _hex4, SHA1_SCALAR, ZERO_BITS, "",
                Path(__file__).with_name("_hashcash_kernel.py"))
SPECS = (STRUCTS, HASHCASH)


def generate(spec: Spec) -> str:
    hoist = [f"    tw{i} = tw[{i}]" for i in range(16)]
    hoist += [f"    sa{i} = SA[{i}]" for i in range(16)]
    hoist += [f"    sb{i} = SB[{i}]" for i in range(16)]
    lane_block = LANE_BLOCK.format(hoist="\n".join(hoist), loop="\n".join(_lane_loop("    ", spec)))
    ind = " " * 20  # inside `for blk in …`: where this block's digits go, then the lanes
    body = [f"{ind}SA[:] = 0", f"{ind}SB[:] = 0",
            f"{ind}if 0 <= wa - 16 * blk < 16:", f"{ind}    SA[wa - 16 * blk] = ALL",
            f"{ind}if off != 0 and 0 <= wa + 1 - 16 * blk < 16:", f"{ind}    SB[wa + 1 - 16 * blk] = ALL",
            f"{ind}_lane_block(st, tw[16 * blk:16 * blk + 16], SA, SB, g0, dshift, pshift, lshift, lmask)"]
    header = HEADER.format(title=spec.title, lanes=LANES, words=spec.words, base=spec.base, maxd=spec.maxd,
                           constants=spec.constants, scalar=spec.scalar, score=spec.score)
    marker = "\n\n@njit(nogil=True, cache=True)\ndef search("
    header = header.replace(marker, lane_block + marker, 1)
    return header + "\n".join(body) + "\n" + FOOTER


def generate_c(spec: Spec) -> str:
    """The same lockstep compression as C for the benchmark's references: with ``word`` a GCC
    vector of uint32 (or plain uint32_t), ``compress(s, w, out)``."""
    n = spec.words
    code, state = spec.compress("    ", "x", [f"s[{j}]" for j in range(n)], [f"w[{i}]" for i in range(16)])
    lines = [f"    word {line.strip()};" for line in code]
    lines += [f"    out[{j}] = {state[j]};" for j in range(n)]
    consts = "".join(f"#define K{i} ((word){{0}} + {k:#010x}u)\n" for i, k in enumerate(K))
    return (f"/* GENERATED by engine/pow/_codegen_counter.py: {spec.title.split(':')[0]} compression. */\n"
            "#define V(x) (x)\n" + consts
            + f"static inline void compress(const word s[{n}], const word w[16], word out[{n}]) {{\n"
            + "\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    for spec in SPECS:
        spec.target.write_text(generate(spec))
        print(f"wrote {spec.target}")
