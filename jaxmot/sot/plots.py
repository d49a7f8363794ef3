"""Success and precision plots of single-object tracking results (OTB / pytracking style).

    scores = {"ettrack": score_sequences(pairs_a)["OVERALL"], "mil": ...}
    plot_success_precision(scores, "runs/sot_plot.png")

One PNG, two panels: the success plot (fraction of frames with IoU > t against the
overlap threshold t, legend: success AUC) and the precision plot (fraction of frames
with centre error <= t px against t, legend: precision at 20 px), one line per result
set, as pytracking's `plot_results` draws them. Curves come from
`jaxmot.sot.metrics.SequenceScores` (OVERALL: the mean of the per-sequence curves).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from jaxmot.sot.metrics import PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS, SequenceScores


def plot_success_precision(
    scores: Mapping[str, SequenceScores], out: str | os.PathLike, *, title: str = ""
) -> None:
    """Draw the success and precision curves of every result set into the PNG `out`.

    Args:
      scores: label -> SequenceScores (e.g. the OVERALL entry of `score_sequences`);
        each legend lists the best first (by AUC, by P@20), as pytracking orders it.
      out: the PNG file (written atomically; folders created).
      title: optional figure title.

    Raises:
      ValueError: no result set to draw.
    """
    if not scores:
        raise ValueError("no results to plot")
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    from jaxmot.train.plots import save_figure

    # One colour per result set in both panels, whatever order each legend takes.
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    color = {label: cycle[i % len(cycle)] for i, label in enumerate(scores)}
    fig, (success_ax, precision_ax) = plt.subplots(1, 2, figsize=(10, 4.2))
    for label, s in sorted(scores.items(), key=lambda item: -item[1].auc):
        legend = f"{label} [{100 * s.auc:.1f}]"
        success_ax.plot(SUCCESS_THRESHOLDS, 100 * s.success, color=color[label], label=legend)
    for label, s in sorted(scores.items(), key=lambda item: -item[1].precision20):
        legend = f"{label} [{100 * s.precision20:.1f}]"
        precision_ax.plot(PRECISION_THRESHOLDS, 100 * s.precision, color=color[label], label=legend)
    success_ax.set(title="Success plot (legend: AUC)", xlabel="Overlap threshold",
                   ylabel="Overlap precision [%]", xlim=(0, 1), ylim=(0, 100))  # fmt: skip
    precision_ax.set(title="Precision plot (legend: P@20)", xlabel="Location error threshold [px]",
                     ylabel="Distance precision [%]", xlim=(0, PRECISION_THRESHOLDS[-1]),
                     ylim=(0, 100))  # fmt: skip
    for ax in (success_ax, precision_ax):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left" if ax is success_ax else "lower right", fontsize=8)
    save_figure(fig, out, title)


__all__ = ["plot_success_precision"]
