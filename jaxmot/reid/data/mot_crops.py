"""Person re-identification crops from MOTChallenge sequences with ground truth.

`mot_reid_dataset(seq_dirs)` cuts the crops `jaxmot.reid.data.crops` selects (persons,
visibility >= 0.3, clipped height >= 50 px, <= 20 per identity spread over its track) and
splits them:

* Identities: sequence k's gt id i becomes `k * ID_STRIDE + i`, so ids never collide
  across sequences; the camera label is the sequence index k (0-based, in the order given).
* Train / test: a seeded draw of `test_fraction` of the identities is the test set
  (`split.identity_split`); the others are "train", camera k.
* Query / gallery (test identities): by time, `split.time_query_mask`: the first half
  of an identity's crops are queries (camera k), the second half gallery, camera
  `k + num_sequences`. One camera films each sequence, so Market's rule of dropping
  gallery crops with the query's id *and* camera would drop every true match; the
  distinct gallery cameras keep them. An identity with one crop is gallery only.

`load_crops_folder` reads a folder of Market-named crops with a `crops_index.csv` (the
shared `mot17_mini_reid_crops` sample), and `query_gallery_split` splits such a set.
"""

from __future__ import annotations

import csv
import os
import pathlib
import re
from collections.abc import Sequence

import numpy as np

from jaxmot.core.images import load_resized
from jaxmot.core.mot_io import MOTFormatError, read_sequence
from jaxmot.reid.data.crops import CropPlan, cut_crops, plan_crops
from jaxmot.reid.data.market import MarketFormatError, parse_market_name
from jaxmot.reid.data.split import (
    ReIDDataset,
    ReIDSplit,
    identity_split,
    split_by_mask,
    time_query_mask,
)

ID_STRIDE = 100_000  # global id = sequence index * ID_STRIDE + gt id
_MOT17_DETECTOR = re.compile(r"^(MOT17-\d+)-(DPM|FRCNN|SDP)$")


def find_sequences(root: str | os.PathLike) -> list[pathlib.Path]:
    """Sequence folders (with gt/gt.txt) at `root`, one or two levels below, sorted by name.

    MOT17 ships every sequence three times (-DPM, -FRCNN, -SDP) with the same frames and
    gt; only the first of each is kept, or the same person would appear under three ids.
    """
    root = pathlib.Path(root)
    candidates = [root, *root.glob("*"), *root.glob("*/*")]
    seqs = sorted({p for p in candidates if (p / "gt" / "gt.txt").is_file()}, key=lambda p: p.name)
    out, seen = [], set()
    for p in seqs:
        m = _MOT17_DETECTOR.match(p.name)
        base = m.group(1) if m else p.name
        if base not in seen:
            seen.add(base)
            out.append(p)
    return out


def sequence_crops(
    seq_dir: str | os.PathLike,
    size: tuple[int, int] | None,
    *,
    min_visibility: float = 0.3,
    min_height: int = 50,
    max_per_id: int | None = 20,
) -> tuple[CropPlan, np.ndarray | list[np.ndarray]]:
    """(plan, crops) of one sequence; crops [M, H, W, 3] uint8, or native-size list if size
    is None (see `crops.cut_crops`). Ids in the plan are the sequence's own."""
    seq = read_sequence(seq_dir)
    gt_path = pathlib.Path(seq_dir) / "gt" / "gt.txt"
    if seq.gt is None:
        raise FileNotFoundError(f"{gt_path} not found: crops need ground truth")
    bad = (seq.gt.ids < 1) | (seq.gt.ids >= ID_STRIDE)
    if bad.any():
        raise MOTFormatError(gt_path, None, "id", f"ids must lie in 1..{ID_STRIDE - 1}")
    width, height = seq.info.width, seq.info.height
    if width is None or height is None:
        height, width = seq.frame(int(seq.gt.frames.min())).shape[:2]
    plan = plan_crops(
        seq.gt,
        (width, height),
        min_visibility=min_visibility,
        min_height=min_height,
        max_per_id=max_per_id,
    )
    try:
        frames = ((int(f), seq.frame(int(f))) for f in np.unique(plan.frames))
        crops = cut_crops(plan, frames, size)
    finally:
        seq.close()
    return plan, crops


def split_rows(
    ids: np.ndarray,
    cams: np.ndarray,
    frames: np.ndarray,
    num_cams: int,
    test_fraction: float,
    seed: int,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The module's train / query / gallery rule on row arrays.

    ids, cams, frames: [N] (cams in 0..num_cams-1). Returns split -> (row indices,
    camera labels of those rows).
    """
    test = identity_split(ids, test_fraction, seed)
    train_rows, test_rows = np.flatnonzero(~test), np.flatnonzero(test)
    query = time_query_mask(ids[test_rows], frames[test_rows])
    q_rows, g_rows = test_rows[query], test_rows[~query]
    return {
        "train": (train_rows, cams[train_rows]),
        "query": (q_rows, cams[q_rows]),
        "gallery": (g_rows, cams[g_rows] + num_cams),
    }


def mot_reid_dataset(
    seq_dirs: Sequence[str | os.PathLike],
    size: tuple[int, int] = (256, 128),
    *,
    min_visibility: float = 0.3,
    min_height: int = 50,
    max_per_id: int | None = 20,
    test_fraction: float = 0.5,
    seed: int = 0,
) -> ReIDDataset:
    """Crops of `seq_dirs` (see `find_sequences`) split as the module describes."""
    if not seq_dirs:
        raise ValueError("mot_reid_dataset: no sequences given")
    images, ids, cams, frames, paths = [], [], [], [], []
    for k, seq_dir in enumerate(seq_dirs):
        plan, crops = sequence_crops(
            seq_dir,
            size,
            min_visibility=min_visibility,
            min_height=min_height,
            max_per_id=max_per_id,
        )
        images.append(crops)
        ids.append(k * ID_STRIDE + plan.ids)
        cams.append(np.full(len(plan), k))
        frames.append(plan.frames)
        name = pathlib.Path(seq_dir).name
        paths += [f"{name}/frame {f} id {i}" for f, i in zip(plan.frames, plan.ids, strict=True)]
    all_images = np.concatenate(images)
    all_ids, all_cams, all_frames = map(np.concatenate, (ids, cams, frames))
    rows = split_rows(all_ids, all_cams, all_frames, len(seq_dirs), test_fraction, seed)
    return {
        split: ReIDSplit(all_images[r], all_ids[r], c, tuple(paths[i] for i in r))
        for split, (r, c) in rows.items()
    }


# --------------------------------------------------------------------------- crop folders

_INDEX = "crops_index.csv"
_REQUIRED = ("file", "pid", "cam")


def load_crops_folder(path: str | os.PathLike, size: tuple[int, int] = (256, 128)) -> ReIDSplit:
    """A folder of Market-named crops listed in `crops_index.csv` -> one `ReIDSplit`.

    The CSV needs columns file, pid, cam (others, e.g. seq, frame, box, visibility, are
    ignored); images are `path/crops/<file>` or, without a crops/ folder, `path/<file>`.
    Each file name must parse as Market-1501 and agree with its row's pid and cam; rows
    keep the CSV's order. Errors name the CSV line and field.
    """
    path = pathlib.Path(path)
    index = path / _INDEX
    image_dir = path / "crops" if (path / "crops").is_dir() else path
    with open(index, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise MOTFormatError(index, 1, missing[0], f"column missing (need {_REQUIRED})")
        rows = list(reader)
    ids, cams, files = [], [], []
    for line, row in enumerate(rows, start=2):
        values = []
        for key in ("pid", "cam"):
            try:
                values.append(int(row[key]))
            except (TypeError, ValueError):
                raise MOTFormatError(index, line, key, f"not an integer: {row[key]!r}") from None
        try:
            name = parse_market_name(image_dir / row["file"])
        except MarketFormatError as e:
            raise MOTFormatError(index, line, "file", str(e)) from None
        if (name.pid, name.cam) != tuple(values):
            raise MOTFormatError(
                index,
                line,
                "file",
                f"{row['file']} says id {name.pid} cam {name.cam}, the "
                f"row says {values[0]} / {values[1]}",
            )
        ids.append(values[0])
        cams.append(values[1])
        files.append(image_dir / row["file"])
    return ReIDSplit(
        load_resized(files, size), np.array(ids), np.array(cams), tuple(map(str, files))
    )


def query_gallery_split(split: ReIDSplit, seed: int = 0) -> tuple[ReIDSplit, ReIDSplit]:
    """(query, gallery) of a set whose identities each come from one camera.

    Rule: every identity with >= 2 crops gives one crop, drawn uniformly with
    `np.random.default_rng(seed)` (one draw per identity, in sorted id order), to the
    query; all other crops, including every crop of a single-crop identity (an extra
    negative), form the gallery. Query crops keep their camera; gallery crops get
    `cam + C` with C = max(cams) + 1, so no gallery camera equals a query camera and
    Market's same-id-same-camera exclusion removes no true match. The query and its
    matches come from the same camera and nearby frames (the shared sample has 4 or 8
    consecutive frames per sequence), so scores on it are optimistic.
    """
    if not len(split):
        return split, split
    order = np.lexsort((np.arange(len(split)), split.ids))
    sorted_ids = split.ids[order]
    starts = np.r_[0, np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1]
    counts = np.diff(np.r_[starts, len(split)])
    pick = np.random.default_rng(seed).integers(0, counts)
    query = np.zeros(len(split), bool)
    query[order[(starts + pick)[counts >= 2]]] = True
    return split_by_mask(split, query, int(split.cams.max()) + 1)


__all__ = [
    "ID_STRIDE",
    "find_sequences",
    "load_crops_folder",
    "mot_reid_dataset",
    "query_gallery_split",
    "sequence_crops",
    "split_rows",
]
