"""Market-1501 folders: reading into a `ReIDDataset`, and writing small ones for tests.

Layout (Zheng et al., ICCV 2015):

    bounding_box_train/   -> "train"
    query/                -> "query"
    bounding_box_test/    -> "gallery"

File names `0002_c1s1_000451_03.jpg`: person id 0002, camera 1, sequence 1, frame 000451,
box 03 of that frame. Id `-1` marks junk boxes and `0000` distractors (both only in the
test folders of the real release).

Rules:

* Names are parsed with a strict regex (`MARKET_NAME`). A `.jpg` that does not match
  raises `MarketFormatError` naming the file (default), or with `on_malformed="skip"` is
  left out with one warning that counts them and names the first. Other files are
  ignored: the real release ships `Thumbs.db` files among the images.
* "train" drops junk (-1) and distractors (0): neither is a person to learn. Its ids stay
  the original ones; training code calls `ReIDSplit.relabel()` for class indices.
* "query" and "gallery" keep every file with its raw id, for the evaluation (which reads
  -1 as junk and 0 as distractor).
* Files are read in sorted name order, so the same folder always gives the same arrays.
"""

from __future__ import annotations

import os
import pathlib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from jaxmot.core.images import load_resized, write_rgb
from jaxmot.reid.data.split import SPLITS, ReIDDataset, ReIDSplit

FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
MARKET_NAME = re.compile(
    r"^(?P<pid>-1|\d{4})_c(?P<cam>[1-9])s(?P<seq>[1-9])_(?P<frame>\d{6})_(?P<box>\d{2})\.jpg$"
)
JUNK_ID, DISTRACTOR_ID = -1, 0


class MarketFormatError(ValueError):
    """A file name that is not Market-1501 style; the message names the file."""

    def __init__(self, path: str | os.PathLike, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = pathlib.Path(path)


@dataclass(frozen=True)
class MarketName:
    """The fields of one Market-1501 file name."""

    pid: int
    cam: int
    seq: int
    frame: int
    box: int

    def filename(self) -> str:
        """The file name these fields give (inverse of `parse_market_name`)."""
        pid = "-1" if self.pid == JUNK_ID else f"{self.pid:04d}"
        return f"{pid}_c{self.cam}s{self.seq}_{self.frame:06d}_{self.box:02d}.jpg"


def parse_market_name(path: str | os.PathLike) -> MarketName:
    """Fields of a Market-1501 file name; `MarketFormatError` naming the file otherwise."""
    m = MARKET_NAME.match(pathlib.Path(path).name)
    if m is None:
        raise MarketFormatError(
            path,
            "not a Market-1501 file name (expected like 0002_c1s1_000451_03.jpg: 4-digit "
            "person id or -1, camera and sequence digits, 6-digit frame, 2-digit box)",
        )
    return MarketName(**{k: int(v) for k, v in m.groupdict().items()})


def find_market_root(path: str | os.PathLike) -> pathlib.Path:
    """The folder holding the three Market folders: `path` itself or its only subfolder
    that has them (the release unpacks to `Market-1501-v15.09.15/`)."""
    path = pathlib.Path(path)

    def has_all(p: pathlib.Path) -> bool:
        return all((p / f).is_dir() for f in FOLDERS.values())

    if has_all(path):
        return path
    found = (
        [p for p in sorted(path.iterdir()) if p.is_dir() and has_all(p)] if path.is_dir() else []
    )
    if len(found) == 1:
        return found[0]
    missing = [f for f in FOLDERS.values() if not (path / f).is_dir()]
    raise FileNotFoundError(f"{path}: not a Market-1501 folder (missing {', '.join(missing)})")


def list_market_folder(
    folder: str | os.PathLike, on_malformed: str = "raise"
) -> list[tuple[pathlib.Path, MarketName]]:
    """(path, parsed name) of every `.jpg` in `folder`, sorted by name (see module rules)."""
    if on_malformed not in ("raise", "skip"):
        raise ValueError(f"on_malformed must be 'raise' or 'skip', got {on_malformed!r}")
    records, bad = [], []
    for p in sorted(pathlib.Path(folder).glob("*.jpg")):
        try:
            records.append((p, parse_market_name(p)))
        except MarketFormatError:
            if on_malformed == "raise":
                raise
            bad.append(p)
    if bad:
        warnings.warn(
            f"{folder}: skipped {len(bad)} file(s) with non-Market-1501 names (first: {bad[0]})",
            stacklevel=2,
        )
    return records


def market_records(
    root: str | os.PathLike, on_malformed: str = "raise"
) -> dict[str, list[tuple[pathlib.Path, MarketName]]]:
    """Per split, the (path, name) records `read_market` loads (train without -1 and 0)."""
    root = find_market_root(root)
    out = {s: list_market_folder(root / FOLDERS[s], on_malformed) for s in SPLITS}
    out["train"] = [r for r in out["train"] if r[1].pid not in (JUNK_ID, DISTRACTOR_ID)]
    return out


def read_market(
    root: str | os.PathLike,
    size: tuple[int, int] = (256, 128),
    *,
    on_malformed: str = "raise",
    workers: int = 8,
) -> ReIDDataset:
    """Read a Market-1501 folder into train / query / gallery splits of (H, W) = `size` crops.

    `root` is the folder with the three subfolders or its parent (`find_market_root`).
    """
    out = {}
    for split, records in market_records(root, on_malformed).items():
        paths = [p for p, _ in records]
        out[split] = ReIDSplit(
            images=load_resized(paths, size, workers),
            ids=np.array([n.pid for _, n in records], np.int32),
            cams=np.array([n.cam for _, n in records], np.int32),
            paths=tuple(str(p) for p in paths),
        )
    return out


def write_market_folder(
    root: str | os.PathLike, splits: Mapping[str, ReIDSplit], quality: int = 95
) -> pathlib.Path:
    """Write splits as a Market-1501 folder (JPEG at `quality`) and return `root`.

    Names: `{id}_c{cam}s1_{i:06d}_00.jpg` with i the 1-based row within its split (so
    every name is unique). Ids must be -1 or in 0..9999 and cams in 1..9, as the name
    format allows. All three folders are created, empty where a split is missing.
    `read_market` gives the rows back in file name order: by id, camera, then row.
    """
    root = pathlib.Path(root)
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; expected some of {SPLITS}")
    for split in SPLITS:
        folder = root / FOLDERS[split]
        folder.mkdir(parents=True, exist_ok=True)
        data = splits.get(split)
        if data is None:
            continue
        bad_id = (data.ids < JUNK_ID) | (data.ids > 9999)
        bad_cam = (data.cams < 1) | (data.cams > 9)
        if bad_id.any() or bad_cam.any():
            i = int(np.argmax(bad_id | bad_cam))
            raise ValueError(
                f"{split} row {i}: id {data.ids[i]} / cam {data.cams[i]} cannot be written "
                "as a Market-1501 name (ids -1..9999, cams 1..9)"
            )
        for i in range(len(data)):
            name = MarketName(int(data.ids[i]), int(data.cams[i]), 1, i + 1, 0)
            write_rgb(folder / name.filename(), data.images[i], quality)
    return root


__all__ = [
    "FOLDERS",
    "MARKET_NAME",
    "MarketFormatError",
    "MarketName",
    "find_market_root",
    "list_market_folder",
    "market_records",
    "parse_market_name",
    "read_market",
    "write_market_folder",
]
