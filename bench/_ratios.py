"""Ratio-of-medians bookkeeping shared by the pytest-benchmark files.

Each benchmark records its median under ``(group, who)``; at the end of the module every
cassfast entry is printed as cassandra-driver's median over its own, from the same run.
"""
from __future__ import annotations

REFERENCE = "cassandra-driver"


class Ratios:
    def __init__(self) -> None:
        self.medians: dict[tuple[str, str], float] = {}

    def record(self, benchmark, group: str, who: str) -> None:
        stats = benchmark.stats
        if stats is None:  # --benchmark-disable: nothing was measured
            return
        self.medians[(group, who)] = stats.stats.median
        theirs = self.medians.get((group, REFERENCE))
        if who != REFERENCE and theirs:
            benchmark.extra_info["ratio_vs_reference"] = theirs / stats.stats.median

    def print_report(self, request) -> None:
        """Print the ratios past pytest's output capture (no ``-s`` needed)."""
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print()
            for (group, who), median in sorted(self.medians.items()):
                theirs = self.medians.get((group, REFERENCE))
                if who != REFERENCE and theirs:
                    print("%-15s ratio of medians (%s / %s): %.2fx  (%.2f us vs %.2f us)"
                          % (group, REFERENCE, who, theirs / median, theirs * 1e6, median * 1e6))
