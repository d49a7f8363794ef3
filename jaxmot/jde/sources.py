"""JDE training images: label files and three sources of images with boxes and ids.

Label files (the official `labels_with_ids/*.txt`, one line per box, separated by white
space): `class id cx cy w h`, class 0 (pedestrian; ignored here), id the identity inside
its dataset (-1 unknown), the box centre and size as fractions of the image width and
height. `read_jde_labels` checks every line and names file:line on the first bad one.

Sources (all eager: annotations are read and checked when the source is built, so a bad
file fails at start-up; pixels are read per sample). Each numbers its identities
0..num_ids-1 (-1 unknown); `jaxmot.jde.data.JDEBatches` shifts source k's ids by the
identities of sources 0..k-1, so ids are unique over the whole mixture:

    JDEListSource   the official `.train` lists (Towards-Realtime-MOT `JointDataset`): one
                    image path per line relative to `root`, its labels at the path with
                    "images" -> "labels_with_ids" and the extension -> ".txt"; a dataset's
                    ids are shifted by the (max id + 1) of the datasets before it
    MOTSource       MOTChallenge sequences (img1/ + gt/gt.txt): rows with the consider flag
                    set and class pedestrian (or MOT15's missing class -1), as the official
                    label script; identities renumbered per sequence, then shifted
    SyntheticSource scenes of `jaxmot.core.synthetic`, simulated when built and rendered on
                    first use of a scene (frames kept JPEG-encoded in memory, ~80 kB per
                    640x480 frame, the bytes `generate_sequence` writes; decoding one takes
                    ~2.5 ms where re-rendering the frames up to t would take t x 8 ms)

A `Sample` is one image: uint8 RGB [H, W, 3], boxes [K, 4] float32 xyxy pixels of that
image (may extend past its border, as the datasets' boxes do), ids [K] int32.
"""

from __future__ import annotations

import bisect
import dataclasses
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from jaxmot.core import mot_io as mot
from jaxmot.core.atomic import atomic_write_text
from jaxmot.core.images import read_rgb
from jaxmot.core.synthetic import SceneConfig, SceneData, render_frames, simulate

__all__ = [
    "JDELabelError",
    "JDEListSource",
    "JDESource",
    "MOTSource",
    "Sample",
    "SyntheticSource",
    "label_path_for",
    "read_jde_labels",
    "write_jde_labels",
]

# --------------------------------------------------------------------------- label files

_LABEL_FIELDS = ("class", "id", "cx", "cy", "w", "h")


class JDELabelError(mot.MOTFormatError):
    """A malformed JDE label file; the message starts with `file:line:`."""

    def __init__(self, path: str | os.PathLike, line: int, field: str, problem: str):
        ValueError.__init__(self, f"{path}:{line}: field '{field}': {problem}")
        self.path, self.line, self.field = pathlib.Path(path), line, field


def read_jde_labels(path: str | os.PathLike) -> np.ndarray:
    """One `labels_with_ids` file -> [K, 6] float32 (class, id, cx, cy, w, h normalised).

    Blank lines are skipped; an empty file gives [0, 6]. A line without exactly 6
    numbers, a non-finite value, a non-integer class or id, an id below -1 or a negative
    size raises `JDELabelError` naming file:line and the field.
    """
    path = pathlib.Path(path)
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise JDELabelError(
                path, lineno, _LABEL_FIELDS[min(len(parts), 5)],
                f"expected 6 fields (class id cx cy w h), got {len(parts)}",
            )  # fmt: skip
        row = []
        for name, part in zip(_LABEL_FIELDS, parts, strict=True):
            try:
                value = float(part)
            except ValueError:
                raise JDELabelError(path, lineno, name, f"not a number: {part!r}") from None
            if not np.isfinite(value):
                raise JDELabelError(path, lineno, name, f"expected a finite number, got {part}")
            row.append(value)
        for col in (0, 1):
            if row[col] != int(row[col]):
                raise JDELabelError(
                    path, lineno, _LABEL_FIELDS[col], f"expected an integer, got {parts[col]}"
                )
        if row[1] < -1:
            raise JDELabelError(path, lineno, "id", f"expected >= -1, got {parts[1]}")
        for col in (4, 5):
            if row[col] < 0:
                raise JDELabelError(
                    path, lineno, _LABEL_FIELDS[col], f"expected a size >= 0, got {parts[col]}"
                )
        rows.append(row)
    return np.asarray(rows, np.float32).reshape(-1, 6)


def write_jde_labels(path: str | os.PathLike, rows: np.ndarray) -> None:
    """Write [K, 6] (class, id, cx, cy, w, h normalised) in the official text layout
    (`%d %d %.6f %.6f %.6f %.6f`), atomically."""
    rows = np.asarray(rows, np.float64)
    if rows.ndim != 2 or rows.shape[1] != 6:
        raise ValueError(f"write_jde_labels({path}): rows must be [K, 6], got {rows.shape}")
    if not np.isfinite(rows).all():
        raise ValueError(f"write_jde_labels({path}): rows must be finite")
    text = "".join(
        f"{int(c)} {int(i)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, i, cx, cy, w, h in rows
    )
    atomic_write_text(path, text)


def label_path_for(image_path: str) -> str:
    """The official label path of an image path: every "images" -> "labels_with_ids", the
    extension -> ".txt" (applied to the list file's relative path, so a root whose name
    contains "images" is left alone)."""
    return os.path.splitext(image_path.replace("images", "labels_with_ids"))[0] + ".txt"


# --------------------------------------------------------------------------- samples


@dataclasses.dataclass(frozen=True, eq=False)
class Sample:
    """One training image: image [H, W, 3] uint8 RGB, boxes [K, 4] float32 xyxy pixels
    of that image, ids [K] int32 (-1 unknown); name says where it came from."""

    image: np.ndarray
    boxes: np.ndarray
    ids: np.ndarray
    name: str = ""


@runtime_checkable
class JDESource(Protocol):
    """What `JDEBatches` draws from: len() samples, identities 0..num_ids-1."""

    name: str
    num_ids: int

    def __len__(self) -> int: ...

    def sample(self, index: int) -> Sample: ...


def offset_ids(ids: np.ndarray, offset: int) -> np.ndarray:
    """Shift known ids (>= 0) by `offset`; -1 stays -1."""
    ids = np.asarray(ids, np.int64)
    return np.where(ids >= 0, ids + offset, -1).astype(np.int32)


def _normalised_to_xyxy(rows: np.ndarray, width: int, height: int) -> np.ndarray:
    cx, cy, w, h = (rows[:, k].astype(np.float64) for k in (2, 3, 4, 5))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    return (boxes * np.array([width, height, width, height])).astype(np.float32)


class JDEListSource:
    """Datasets in the official layout, listed by `.train` files (module docstring).

    root: the folder the list files' paths are relative to; lists: {dataset name: list
    file} in order (ids are offset in this order), or a sequence of list files (named by
    their stems). Every label file is read when the source is built (as the official
    `JointDataset` does to count identities); a missing one raises FileNotFoundError.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        lists: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike],
    ):
        self.root = pathlib.Path(root)
        if not isinstance(lists, Mapping):
            lists = {pathlib.Path(p).stem: p for p in lists}
        if not lists:
            raise ValueError("JDEListSource needs at least one list file")
        self.name = "jde:" + ",".join(lists)
        self.image_paths: list[pathlib.Path] = []
        self.labels: list[np.ndarray] = []  # per image, [K, 6], ids already offset
        self.dataset_num_ids: dict[str, int] = {}
        self.dataset_id_offsets: dict[str, int] = {}
        offset = 0
        for dataset, list_file in lists.items():
            list_file = pathlib.Path(list_file)
            max_id = -1
            lines = list_file.read_text(encoding="utf-8").splitlines()
            for lineno, line in enumerate(lines, 1):
                rel = line.strip()
                if not rel:
                    continue
                label_file = self.root / label_path_for(rel)
                if not label_file.is_file():
                    raise FileNotFoundError(
                        f"{list_file}:{lineno}: no label file {label_file} for image {rel}"
                    )
                rows = read_jde_labels(label_file)
                if len(rows):
                    max_id = max(max_id, int(rows[:, 1].max()))
                rows[:, 1] = offset_ids(rows[:, 1], offset)
                self.image_paths.append(self.root / rel)
                self.labels.append(rows)
            # Official: a dataset spans ids 0..max id, so the next one starts max id + 1 on.
            self.dataset_num_ids[dataset] = max_id + 1
            self.dataset_id_offsets[dataset] = offset
            offset += max_id + 1
        self.num_ids = offset

    def __len__(self) -> int:
        return len(self.image_paths)

    def sample(self, index: int) -> Sample:
        path = self.image_paths[index]
        image = read_rgb(path)
        rows = self.labels[index]
        boxes = _normalised_to_xyxy(rows, image.shape[1], image.shape[0])
        return Sample(image, boxes, rows[:, 1].astype(np.int32), str(path))


class MOTSource:
    """MOTChallenge sequences with img1/ frames and gt/gt.txt (module docstring).

    A sample per frame whose image exists (img1/ may hold only some frames); frames
    without a kept gt row are samples with no boxes. Kept rows: consider flag set (the
    official label script skips flag 0) and class in `classes` (1 = pedestrian; -1 is
    MOT15's missing class, where every row is a pedestrian). Boxes are the gt's xywh
    taken as they are (no 1-based shift, as the official labels).
    """

    def __init__(self, seq_dirs: Sequence[str | os.PathLike], classes: Sequence[int] = (1, -1)):
        if not seq_dirs:
            raise ValueError("MOTSource needs at least one sequence folder")
        self.name = "mot:" + ",".join(pathlib.Path(s).name for s in seq_dirs)
        self.sequences: list[mot.MOTSequence] = []
        self._frames: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # seq, frame, xyxy, ids
        offset = 0
        for seq_dir in seq_dirs:
            seq = mot.read_sequence(seq_dir)
            info, gt = seq.info, seq.gt
            if gt is None:
                raise FileNotFoundError(f"{info.path}: no gt/gt.txt")
            img_dir = info.path / info.im_dir
            if not img_dir.is_dir():
                raise FileNotFoundError(f"{info.path}: no image folder {img_dir}")
            present = {p.name for p in img_dir.iterdir()}
            keep = (gt.flags != 0) & np.isin(gt.classes, np.asarray(classes, np.int32))
            known = np.unique(gt.ids[keep])
            local = np.searchsorted(known, gt.ids) + offset
            s = len(self.sequences)
            self.sequences.append(seq)
            for frame in range(1, info.length + 1):
                if f"{frame:06d}{info.im_ext}" not in present:
                    continue
                rows = gt.for_frame(frame)
                rows = rows[keep[rows]]
                xywh = gt.boxes[rows].astype(np.float32)
                xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
                self._frames.append((s, frame, xyxy, local[rows].astype(np.int32)))
            offset += len(known)
        self.num_ids = offset

    def __len__(self) -> int:
        return len(self._frames)

    def sample(self, index: int) -> Sample:
        s, frame, boxes, ids = self._frames[index]
        seq = self.sequences[s]
        return Sample(seq.frame(frame), boxes, ids, f"{seq.info.name}/{frame:06d}")


class SyntheticSource:
    """Synthetic scenes (`jaxmot.core.synthetic`), one sample per frame.

    configs: one SceneConfig per scene. Scenes are simulated when the source is built
    (~0.1-0.2 s each at 640x480) and rendered in full on the first sample drawn from
    them; frames are then kept JPEG-encoded at the scene's `jpeg_quality` (the pixels
    `generate_sequence` writes to img1/), or as raw arrays with jpeg=False (exactly
    `render_frames`, 0.9 MB per 640x480 frame). Scene k's ids 1..n become
    offset_k..offset_k + n - 1. People less visible than `min_visibility` (the gt's
    occlusion-aware visibility) are left out of the labels: behind another person they
    are not what a detector should fire on.
    """

    def __init__(
        self, configs: Sequence[SceneConfig], jpeg: bool = True, min_visibility: float = 0.0
    ):
        if not configs:
            raise ValueError("SyntheticSource needs at least one SceneConfig")
        self.name = f"synthetic:{len(configs)} scenes"
        self.jpeg = bool(jpeg)
        self.min_visibility = float(min_visibility)
        self.scenes: list[SceneData] = [simulate(c) for c in configs]
        self._cache: dict[int, list] = {}
        self._starts = [0]
        self._id_offsets = []
        offset = 0
        for scene in self.scenes:
            self._starts.append(self._starts[-1] + scene.config.num_frames)
            self._id_offsets.append(offset)
            offset += int(scene.gt.ids.max(initial=0))
        self.num_ids = offset

    @classmethod
    def from_seeds(
        cls,
        seeds: Sequence[int],
        base: SceneConfig | None = None,
        jpeg: bool = True,
        min_visibility: float = 0.0,
    ):
        """One scene per seed, otherwise `base` (default SceneConfig())."""
        base = SceneConfig() if base is None else base
        configs = [dataclasses.replace(base, seed=int(s)) for s in seeds]
        return cls(configs, jpeg=jpeg, min_visibility=min_visibility)

    def __len__(self) -> int:
        return self._starts[-1]

    def _frame(self, k: int, t: int) -> np.ndarray:
        if k not in self._cache:
            scene = self.scenes[k]
            params = [cv2.IMWRITE_JPEG_QUALITY, scene.config.jpeg_quality]
            frames = []
            for rgb in render_frames(scene):
                if self.jpeg:
                    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
                    if not ok:
                        raise RuntimeError(f"cv2 could not encode a frame of scene {k}")
                    frames.append(buf)
                else:
                    frames.append(rgb)
            self._cache[k] = frames
        item = self._cache[k][t]
        if not self.jpeg:
            return item
        return cv2.cvtColor(cv2.imdecode(item, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def sample(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(f"{self.name}: sample {index} outside 0..{len(self) - 1}")
        k = bisect.bisect_right(self._starts, index) - 1
        t = index - self._starts[k]
        gt = self.scenes[k].gt
        rows = gt.for_frame(t + 1)
        rows = rows[gt.visibility[rows] >= self.min_visibility]
        xywh = gt.boxes[rows].astype(np.float32)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
        ids = (gt.ids[rows] - 1 + self._id_offsets[k]).astype(np.int32)
        return Sample(self._frame(k, t), boxes, ids, f"synthetic/{k}/{t + 1:06d}")
