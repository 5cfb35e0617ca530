"""Link a BPF object (``clang-14 -target bpfel -c``) into an SBPF v0 program ELF that the Solana
runtime (here: LiteSVM) loads.

    python programs/sbf_link.py cloudmesh.o cloudmesh.so

What the loader needs (solana-sbpf's ELF rules for v0) and this writes:

* ELF64 little-endian, ``ET_DYN``, ``EM_BPF``, ``e_flags`` 0; the entry point inside ``.text``;
* exactly one ``.text`` whose address equals its file offset; no ``.data``/``.bss``/``.rodata``
  (the object may not have them: refused with the reason);
* calls to functions of the object stay as the compiler wrote them (PC-relative ``call imm``);
* calls to syscalls (``call -1`` with an ``R_BPF_64_32`` relocation against an undefined symbol)
  become dynamic relocations: ``.dynsym``/``.dynstr`` name the syscall, ``.rel.dyn`` points at the
  instruction, ``.dynamic`` (and ``PT_DYNAMIC``) tells the loader where they are; it puts the
  syscall's hash in the instruction.

Only the object's ``.text`` and its relocations are read (pyelftools); the rest is written here.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

EM_BPF = 247
R_BPF_64_32 = 10
CALL_IMM = 0x85
ENTRY = "entrypoint"
SHT_PROGBITS, SHT_STRTAB, SHT_DYNAMIC, SHT_REL, SHT_DYNSYM = 1, 3, 6, 9, 11
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, DT_REL, DT_RELSZ, DT_RELENT = 0, 5, 6, 10, 11, 17, 18, 19


class LinkError(Exception):
    """The object cannot be made into a v0 program; the message says why."""


def _align(n: int, to: int = 8) -> int:
    return (n + to - 1) // to * to


def link(obj: bytes) -> bytes:
    import io

    elf = ELFFile(io.BytesIO(obj))
    if elf["e_machine"] != "EM_BPF":
        raise LinkError(f"not a BPF object (machine {elf['e_machine']})")
    for section in elf.iter_sections():
        name = section.name
        if section["sh_flags"] & SHF_ALLOC and name != ".text":
            raise LinkError(f"section {name}: only .text is supported (no global data, no string literals)")
    text_section = elf.get_section_by_name(".text")
    if text_section is None:
        raise LinkError("no .text section")
    text = bytearray(text_section.data())
    symtab = elf.get_section_by_name(".symtab")
    entry = next((s for s in symtab.iter_symbols() if s.name == ENTRY), None)
    if entry is None or entry["st_shndx"] == "SHN_UNDEF":
        raise LinkError(f"no {ENTRY}() function")

    syscalls: list[tuple[int, str]] = []  # (offset in .text, name)
    for section in elf.iter_sections():
        if not isinstance(section, RelocationSection) or section.name != ".rel.text":
            continue
        symbols = elf.get_section(section["sh_link"])
        for rel in section.iter_relocations():
            symbol = symbols.get_symbol(rel["r_info_sym"])
            if rel["r_info_type"] != R_BPF_64_32 or symbol["st_shndx"] != "SHN_UNDEF":
                raise LinkError(f"relocation of type {rel['r_info_type']} against {symbol.name!r} is not supported")
            syscalls.append((rel["r_offset"], symbol.name))
    for at in range(0, len(text), 8):  # every call: registers 0 (v0 calls carry no source register)
        if text[at] == CALL_IMM:
            text[at + 1] = 0
    for at, name in syscalls:
        if text[at] != CALL_IMM or struct.unpack_from("<i", text, at + 4)[0] != -1:
            raise LinkError(f"the relocation for {name} is not on a `call -1`")

    names = sorted({name for _, name in syscalls})
    dynstr = b"\0" + b"".join(n.encode() + b"\0" for n in names)
    name_at = {n: dynstr.index(b"\0" + n.encode() + b"\0") + 1 for n in names}

    # layout: header, program headers, .text, .dynsym, .dynstr, .rel.dyn, .dynamic, .shstrtab, section headers
    n_phdr = 2
    text_off = _align(64 + 56 * n_phdr)
    dynsym_off = _align(text_off + len(text))
    dynsym = bytearray(24)  # the null symbol
    for n in names:  # st_name, st_info (GLOBAL FUNC), st_other, st_shndx (UNDEF), st_value, st_size
        dynsym += struct.pack("<IBBHQQ", name_at[n], 0x12, 0, 0, 0, 0)
    dynstr_off = dynsym_off + len(dynsym)
    rel_off = _align(dynstr_off + len(dynstr))
    rel = b"".join(struct.pack("<QQ", text_off + at, (names.index(n) + 1) << 32 | R_BPF_64_32) for at, n in syscalls)
    dynamic_off = _align(rel_off + len(rel))
    dynamic = b"".join(struct.pack("<QQ", tag, value) for tag, value in (
        (DT_REL, rel_off), (DT_RELSZ, len(rel)), (DT_RELENT, 16), (DT_SYMTAB, dynsym_off), (DT_SYMENT, 24),
        (DT_STRTAB, dynstr_off), (DT_STRSZ, len(dynstr)), (DT_NULL, 0)))
    shstrtab = b"\0.text\0.dynsym\0.dynstr\0.rel.dyn\0.dynamic\0.shstrtab\0"
    shstr_off = dynamic_off + len(dynamic)
    shdr_off = _align(shstr_off + len(shstrtab))

    def sname(n: str) -> int:
        return shstrtab.index(b"\0" + n.encode() + b"\0") + 1

    sections = [  # name, type, flags, addr, offset, size, link, info, align, entsize
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (sname(".text"), SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_off, text_off, len(text), 0, 0, 8, 0),
        (sname(".dynsym"), SHT_DYNSYM, SHF_ALLOC, dynsym_off, dynsym_off, len(dynsym), 3, 1, 8, 24),
        (sname(".dynstr"), SHT_STRTAB, SHF_ALLOC, dynstr_off, dynstr_off, len(dynstr), 0, 0, 1, 0),
        (sname(".rel.dyn"), SHT_REL, SHF_ALLOC, rel_off, rel_off, len(rel), 2, 0, 8, 16),
        (sname(".dynamic"), SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, dynamic_off, dynamic_off, len(dynamic), 3, 0, 8, 16),
        (sname(".shstrtab"), SHT_STRTAB, 0, 0, shstr_off, len(shstrtab), 0, 0, 1, 0),
    ]
    entry_addr = text_off + entry["st_value"]
    header = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7, 3, EM_BPF, 1, entry_addr,
                         64, shdr_off, 0, 64, 56, n_phdr, 64, len(sections), len(sections) - 1)
    load_end = dynamic_off + len(dynamic)
    phdrs = struct.pack("<IIQQQQQQ", PT_LOAD, 5, text_off, text_off, text_off, load_end - text_off,
                        load_end - text_off, 8)
    phdrs += struct.pack("<IIQQQQQQ", PT_DYNAMIC, 6, dynamic_off, dynamic_off, dynamic_off, len(dynamic),
                         len(dynamic), 8)
    out = bytearray(shdr_off + 64 * len(sections))
    out[0:64] = header
    out[64:64 + len(phdrs)] = phdrs
    for off, blob in ((text_off, text), (dynsym_off, dynsym), (dynstr_off, dynstr), (rel_off, rel),
                      (dynamic_off, dynamic), (shstr_off, shstrtab)):
        out[off:off + len(blob)] = blob
    for i, s in enumerate(sections):
        struct.pack_into("<IIQQQQIIQQ", out, shdr_off + 64 * i, *s)
    return bytes(out)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: python programs/sbf_link.py OBJECT.o PROGRAM.so")
    try:
        program = link(Path(sys.argv[1]).read_bytes())
    except LinkError as exc:
        raise SystemExit(f"sbf_link: {sys.argv[1]}: {exc}") from None
    Path(sys.argv[2]).write_bytes(program)
    print(f"{sys.argv[2]}: {len(program):,} bytes")


if __name__ == "__main__":
    main()
