"""The generators rewrite only the marked regions of hand-written kernel modules."""

from __future__ import annotations

import pytest

from engine.pow._splice import SpliceError, splice

SOURCE = """def f(x):
    y = x
    # BEGIN GENERATED rounds: python -m gen
    old = 1
    # END GENERATED rounds
    return y
"""


def test_splice_replaces_only_the_region_indented_like_its_marker() -> None:
    out = splice(SOURCE, "rounds", ["y = y + 1", "", "y = y * 2"])
    assert out == SOURCE.replace("    old = 1\n", "    y = y + 1\n\n    y = y * 2\n")
    assert splice(out, "rounds", ["y = y + 1", "", "y = y * 2"]) == out  # rerunning changes nothing
    namespace: dict[str, object] = {}
    exec(out, namespace)
    assert namespace["f"](3) == 8  # type: ignore[operator]


@pytest.mark.parametrize("broken", [
    SOURCE.replace("    # END GENERATED rounds\n", ""),
    SOURCE.replace("# BEGIN GENERATED rounds: python -m gen", "# BEGIN GENERATED other: x"),
    SOURCE + "    # BEGIN GENERATED rounds: again\n    # END GENERATED rounds\n",
])
def test_missing_or_repeated_markers_are_refused(broken: str) -> None:
    with pytest.raises(SpliceError, match="rounds"):
        splice(broken, "rounds", ["x = 1"])
