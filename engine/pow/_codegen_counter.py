"""Generates the unrolled parts of the "prefix ‖ counter" kernels in ``_counter_kernel.py`` (a
hand-written module: see its docstring for the shape and why): the SHA-256 round constants and
the two lane loops — one SHA-256 or SHA-1 compression per lane, straight-line and in
single-assignment form — and the same compressions as C for the benchmark's references.

Run ``python -m engine.pow._codegen_counter`` after changing this file: it rewrites only the
kernel's GENERATED regions. A test checks that the committed kernel matches what this writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.pow._splice import splice

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
    s = list(state)
    for i in range(64):
        if i >= 16:  # each schedule word just before its round: 16 live words, not 64 (no spills)
            w15, w2 = f"{tag}w{i - 15}", f"{tag}w{i - 2}"
            s0 = f"({_rotr(w15, 7)} ^ {_rotr(w15, 18)} ^ ({w15} >> V(3)))"
            s1 = f"({_rotr(w2, 17)} ^ {_rotr(w2, 19)} ^ ({w2} >> V(10)))"
            lines.append(f"{ind}{tag}w{i} = {_add(f'{tag}w{i - 16}', s0, f'{tag}w{i - 7}', s1)}")
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
    a, b, c, d, e = state
    for i in range(80):
        if i >= 16:  # each schedule word just before its round, as for SHA-256
            lines.append(f"{ind}{tag}v{i} = V({tag}w{i - 3} ^ {tag}w{i - 8} ^ {tag}w{i - 14} ^ {tag}w{i - 16})")
            lines.append(f"{ind}{tag}w{i} = {_rotl(f'{tag}v{i}', 1)}")
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
    """The low decimal digits' bits in their two words, from tables built per chunk position
    (contiguous loads: four vector divisions by constants per lane cost more)."""
    return [f"{ind}ph = TA[np.uint64(g0 + k)]", f"{ind}pl = TB[np.uint64(g0 + k)]"]  # unsigned: no wraparound select, no gather


def _hex4(ind: str) -> list[str]:
    lines = [f"{ind}lo = V(g0 + k)"]
    for j in range(4):  # a nibble's ASCII: 48 + n, plus 39 past 9 ((9 - n) wraps to a set top bit)
        lines.append(f"{ind}n{j} = V(V(lo >> V({12 - 4 * j})) & V(15))")
        lines.append(f"{ind}c{j} = V(n{j} + V(48) + V(V(V(V(9) - n{j}) >> V(31)) * V(39)))")
    lines.append(f"{ind}dd = V((c0 << V(24)) | (c1 << V(16)) | (c2 << V(8)) | c3)")
    return lines + _place(ind)


def _place(ind: str) -> list[str]:
    """The four digits' word ``dd`` split over the (at most two) message words they fall in.
    Every expression wrapped in V(): one bare `a & b` on uint32 is typed 64-bit by numba and
    turns the whole loop into 64-bit lanes (measured: 17 MH/s instead of 52)."""
    return [
        f"{ind}dd = V(dd << dshift)",  # fewer than four low digits: drop the unused leading ones
        f"{ind}ph = V(dd >> pshift)",
        f"{ind}pl = V(V(dd << lshift) & lmask)",
    ]


def _lane_loop(ind: str, spec: Spec) -> list[str]:
    """One compression per lane, for ``n`` lanes (a multiple of LANES: many vector groups per
    call, so the call and the scoring are paid per hundreds of hashes, not per 16): message
    words from the template plus this lane's low digits,
    initial state from ``init[:, k]``, new state into ``st[:, k]`` (another array: writing the
    state a lane loop then reads back as vectors stalls store forwarding, measured −10 %)."""
    body = ind + "    "
    lines = [
        f"{ind}for k in range(n):",
    ]
    lines += spec.digits4(body)
    # a specialised build (WA a literal ≥ 0) starts every lane from the same state, hoisted
    lines += [f"{body}i{j} = h{j} if WA >= 0 else init[{j}, k]" for j in range(spec.words)]
    words = [f"V(tw{i} | (ph & sa{i}) | (pl & sb{i}))" for i in range(16)]
    code, state = spec.compress(body, "x", [f"i{j}" for j in range(spec.words)], words)
    lines += code
    lines += [f"{body}st[{j}, k] = {state[j]}" for j in range(spec.words)]
    return lines


@dataclass(frozen=True)
class Spec:
    """One kernel: its hash, digest size, how a lane writes its low digits, and its region."""

    title: str
    words: int
    compress: Callable[[str, str, list[str], list[str]], tuple[list[str], list[str]]]
    digits4: Callable[[str], list[str]]
    region: str


_SHA256_CONSTANTS = [f"K{i} = V({k:#010x})" for i, k in enumerate(K)] + [
    "KT = np.array([" + ", ".join(f"{k:#010x}" for k in K) + "], dtype=np.uint32)"]


STRUCTS = Spec("Structs SHA-256", 8, compress, _decimal4, "sha256-lanes")
HASHCASH = Spec("Hashcash SHA-1", 5, compress_sha1, _hex4, "sha1-lanes")
SPECS = (STRUCTS, HASHCASH)
TARGET = Path(__file__).with_name("_counter_kernel.py")


def lanes(spec: Spec) -> list[str]:
    """The body of the kernel's lane function for ``spec``: hoisted template words, masks and
    starting state, then the lane loop. With ``WA`` a compile-time literal (a specialised
    build: the digits start in word WA and spill into WA+1 if ``SPILL`` is 1) the masks are constants,
    so LLVM keeps the other words scalar and hoists every round and schedule word that depends
    on them alone out of the lane loop; with ``WA`` = -1 the masks come from ``SA``/``SB``."""
    hoist = [f"tw{i} = tw[{i}]" for i in range(16)]
    hoist += [f"sa{i} = (ALL if WA == {i} else V(0)) if WA >= 0 else SA[{i}]" for i in range(16)]
    hoist += [f"sb{i} = (ALL if SPILL == 1 and WA + 1 == {i} else V(0)) if WA >= 0 else SB[{i}]" for i in range(16)]
    hoist += [f"h{j} = init[{j}, 0]" for j in range(spec.words)]
    return hoist + _lane_loop("", spec)


def generate(source: str | None = None) -> str:
    """The kernel module with its GENERATED regions rewritten (``source``: its current text)."""
    text = TARGET.read_text() if source is None else source
    text = splice(text, "sha256-constants", _SHA256_CONSTANTS)
    for spec in SPECS:
        text = splice(text, spec.region, lanes(spec))
    return text


def generate_c(spec: Spec) -> str:
    """The same lockstep compression as C for the benchmark's references: with ``word`` a GCC
    vector of uint32 (or plain uint32_t), ``compress(s, w, out)``."""
    n = spec.words
    code, state = spec.compress("    ", "x", [f"s[{j}]" for j in range(n)], [f"w[{i}]" for i in range(16)])
    lines = [f"    word {line.strip()};" for line in code]
    lines += [f"    out[{j}] = {state[j]};" for j in range(n)]
    consts = "".join(f"#define K{i} ((word){{0}} + {k:#010x}u)\n" for i, k in enumerate(K))
    return (f"/* GENERATED by engine/pow/_codegen_counter.py: {spec.title} compression. */\n"
            "#define V(x) (x)\n" + consts
            + f"static inline void compress(const word s[{n}], const word w[16], word out[{n}]) {{\n"
            + "\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    TARGET.write_text(generate())
    print(f"wrote {TARGET}")
