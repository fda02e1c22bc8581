"""Timing helpers: CPU time of this process, medians of repeats, ratios in the same run.

Absolute numbers on a shared machine move with the neighbours; the ratio of two things
measured side by side, interleaved, in the same process moves far less. Every benchmark
here therefore times a baseline next to the code under test and reports both.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Comparison", "compare_per_op", "cpu_us_per_op"]


@dataclass(frozen=True)
class Comparison:
    """Median per-op CPU microseconds of ``ours`` and ``bare`` and their median ratio."""

    ours_us: float
    bare_us: float
    ratio: float
    iterations: int
    repeats: int


def cpu_us_per_op(fn: Callable[[], object], iterations: int) -> float:
    """CPU microseconds (time.process_time) per call of ``fn`` over ``iterations`` calls."""
    started = time.process_time()
    for _ in range(iterations):
        fn()
    return (time.process_time() - started) / iterations * 1e6


def compare_per_op(
    ours: Callable[[], object],
    bare: Callable[[], object],
    *,
    iterations: int,
    repeats: int,
) -> Comparison:
    """Time ``ours`` and ``bare`` alternately ``repeats`` times; medians and median ratio.

    Alternating the two inside each repeat puts both under the same load at the same
    moment, so the per-repeat ratio cancels most of the machine's noise. The garbage
    collector is collected before each timed block, not disabled, as in production.
    """
    ours(), bare()  # warm caches (imports, key objects, the JIT-less interpreter's caches)
    ours_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(repeats):
        gc.collect()
        bare_times.append(cpu_us_per_op(bare, iterations))
        gc.collect()
        ours_times.append(cpu_us_per_op(ours, iterations))
    ratios = [o / b for o, b in zip(ours_times, bare_times, strict=True)]
    return Comparison(
        ours_us=statistics.median(ours_times),
        bare_us=statistics.median(bare_times),
        ratio=statistics.median(ratios),
        iterations=iterations,
        repeats=repeats,
    )
