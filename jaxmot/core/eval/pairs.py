"""Find and read (ground truth, tracker results) pairs on disk."""

from __future__ import annotations

import os
import pathlib
import warnings

from jaxmot.core.mot_io import GroundTruth, TrackResults, read_gt, read_results

_GT_FILE = pathlib.Path("gt") / "gt.txt"


def _gt_sequences(gt_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    if (gt_dir / _GT_FILE).is_file():
        return {gt_dir.name: gt_dir}
    if not gt_dir.is_dir():
        raise FileNotFoundError(f"ground-truth folder not found: {gt_dir}")
    seqs = {p.name: p for p in sorted(gt_dir.iterdir()) if (p / _GT_FILE).is_file()}
    if not seqs:
        raise FileNotFoundError(f"no sequence with {_GT_FILE} in {gt_dir} or its sub-folders")
    return seqs


def load_pairs(
    gt_dir: str | os.PathLike, results: str | os.PathLike
) -> dict[str, tuple[GroundTruth, TrackResults]]:
    """Read ground truth and the matching tracker results, by sequence name.

    Args:
      gt_dir: a folder of sequence folders (each with gt/gt.txt), or one sequence folder.
      results: a folder of `<sequence>.txt` result files, or one result file (then
        `gt_dir` must be a single sequence).

    Returns:
      sequence name (folder name, sorted) -> (gt, results).

    Raises:
      FileNotFoundError: no gt, or a gt sequence without a results file (all are named).
      ValueError: one results file for several gt sequences.
    Extra results files without gt are ignored with a warning.
    """
    gt_dir, results = pathlib.Path(gt_dir), pathlib.Path(results)
    seqs = _gt_sequences(gt_dir)
    if results.is_file():
        if len(seqs) != 1:
            raise ValueError(
                f"{results} is a single results file but {gt_dir} holds {len(seqs)} sequences; "
                "pass a folder of <sequence>.txt files"
            )
        files = {name: results for name in seqs}
    elif results.is_dir():
        files = {name: results / f"{name}.txt" for name in seqs}
        missing = [name for name, f in files.items() if not f.is_file()]
        if missing:
            raise FileNotFoundError(
                f"no results file in {results} for gt sequence(s): {', '.join(missing)} "
                f"(expected {', '.join(n + '.txt' for n in missing)})"
            )
        extra = sorted(p.stem for p in results.glob("*.txt") if p.stem not in seqs)
        if extra:
            warnings.warn(
                f"ignoring results without ground truth in {gt_dir}: {', '.join(extra)}",
                stacklevel=2,
            )
    else:
        raise FileNotFoundError(f"results not found: {results}")
    return {name: (read_gt(seqs[name] / _GT_FILE), read_results(files[name])) for name in seqs}
