"""Pick one setting of a tracker by pooled IDF1 over labelled sequences.

The way `longterm`'s appearance gate and the `gnn` tracker's patience are chosen: track
every sequence with every candidate value and keep the value with the best IDF1 over
all of them (events pooled over the sequences; ties go to the first, i.e. smaller,
candidate).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm


def sweep_tracker_setting(
    make_tracker: Callable,
    values: Sequence,
    sequences: Sequence[tuple],
    *,
    progress: bool = False,
    desc: str = "values",
) -> tuple[int, np.ndarray, np.ndarray]:
    """Track (sequence with gt and detections, features [K, D]) pairs with
    `make_tracker(value, frame_rate)` for every value.

    Returns:
      (index of the best value, pooled IDF1 [V], IDF1 per sequence [S, V]).
    """
    from jaxmot.core.eval.metrics import evaluate
    from jaxmot.core.sequence import track_sequence

    if not sequences or not values:
        raise ValueError("need at least one sequence and one value")
    names = [sequence.info.name for sequence, _ in sequences]
    if len(set(names)) != len(names):
        raise ValueError(f"sequence names must be unique, got {names}")
    pooled = np.zeros(len(values))
    per_sequence = np.zeros((len(sequences), len(values)))
    for v, value in enumerate(tqdm(values, desc=desc, disable=not progress)):
        pairs = {}
        for sequence, features in sequences:
            tracker = make_tracker(value, sequence.info.frame_rate)
            run = track_sequence(tracker, sequence, features=features)
            pairs[sequence.info.name] = (sequence.gt, run.results)
        metrics = evaluate(pairs)
        pooled[v] = metrics["OVERALL"]["IDF1"]
        per_sequence[:, v] = [metrics[name]["IDF1"] for name in names]
    return int(np.argmax(pooled)), pooled, per_sequence  # argmax: the first maximum


__all__ = ["sweep_tracker_setting"]
