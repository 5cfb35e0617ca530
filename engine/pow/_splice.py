"""Splicing generated code into hand-written kernel modules.

A kernel module is ordinary, linted Python. Where it needs code too long and too regular to
write by hand (unrolled rounds, lane hoists, constant tables) it holds a marked region::

    # BEGIN GENERATED sha256-lanes: python -m engine.pow._codegen_counter
    …
    # END GENERATED sha256-lanes

and a generator rewrites only what lies between the markers, indented like the BEGIN line.
"""

from __future__ import annotations

import re


class SpliceError(ValueError):
    """A region's markers are missing, repeated or out of order."""


def splice(source: str, region: str, lines: list[str]) -> str:
    """``source`` with the body of ``region`` replaced by ``lines`` (given without indentation)."""
    begin = re.compile(rf"^([ \t]*)# BEGIN GENERATED {re.escape(region)}:.*\n", re.M)
    end = re.compile(rf"^[ \t]*# END GENERATED {re.escape(region)}\n", re.M)
    starts, ends = list(begin.finditer(source)), list(end.finditer(source))
    if len(starts) != 1 or len(ends) != 1 or ends[0].start() < starts[0].end():
        raise SpliceError(f"region {region!r}: expected one BEGIN GENERATED and one END GENERATED after it")
    indent = starts[0].group(1)
    body = "".join(f"{indent}{line}\n" if line else "\n" for line in lines)
    return source[:starts[0].end()] + body + source[ends[0].start():]
