"""Single-object tracking data: videos and still images with one target box per frame.

Every source exposes the same small interface (`SOTSource`): a `kind` (which picks the
frame gap in `sot_pairs.PairConfig`), `len(source)` sequences and `source.sequence(i)`,
a `SOTSequence` with

    boxes [T, 4] float32 xywh (top-left corner, size, pixels; the box covers
          [x, x + w) x [y, y + h) in continuous pixel coordinates, pixel (i, j) being
          the unit square at (j, i), as in `jaxmot.sot.geometry`); NaN rows where
          unknown
    valid [T] bool: the target is annotated and visible in that frame
    frames: T frame paths (read lazily by the sampler) or an array provider
            (anything with len() and [t] -> uint8 [H, W, 3] RGB)

Loaders (all eager: annotations are parsed and checked when the source is built, so a
bad file fails at start-up with its name and line, not mid-training):

    load_got10k(root)          <root>/<seq>/00000001.jpg, groundtruth.txt, absence.label,
                               cover.label (list.txt, when present, orders the sequences)
    load_lasot(root)           <root>/<class>/<class>-<n>/img/00000001.jpg,
                               groundtruth.txt, full_occlusion.txt, out_of_view.txt
    load_trackingnet(root)     <root>/TRAIN_<k>/frames/<seq>/<i>.jpg (i from 0),
                               <root>/TRAIN_<k>/anno/<seq>.txt
    load_davis_boxes(root)     JPEGImages/480p/<seq>/*.jpg + Annotations/480p/<seq>/*.png;
                               the box of the non-zero mask pixels, empty mask -> invalid
    load_coco_images(ann, dir) COCO instances_*.json: one sample per non-crowd box
    load_mot_images(seq_dirs)  MOTChallenge img1/ + gt/gt.txt: one sample per gt box

The layouts follow the official toolkits' readers (the same files pytracking's
`ltr/dataset/{got10k,lasot,tracking_net}.py` read): validity is w > 0 and h > 0 and,
where the dataset says so, not absent (GOT-10k `absence.label` = 1 or `cover.label` = 0)
and neither fully occluded nor out of view (LaSOT). Box files may separate fields with
commas, tabs or spaces; `nan` fields make a row invalid; any other unparsable field or a
wrong field count raises `SOTFormatError` naming the file, line and field.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from jaxmot.core import mot_io as mot
from jaxmot.core.davis import davis_frames, subdirs

__all__ = [
    "FrameProvider",
    "ImageSource",
    "NumberedFrames",
    "SOTFormatError",
    "SOTSequence",
    "SOTSource",
    "SequenceSource",
    "load_coco_images",
    "load_davis_boxes",
    "load_got10k",
    "load_lasot",
    "load_mot_images",
    "load_trackingnet",
    "read_box_file",
]


class SOTFormatError(mot.MOTFormatError):
    """A malformed annotation file; the message names file, line (1-based) and field."""


@runtime_checkable
class FrameProvider(Protocol):
    """In-memory frames: len() and [t] -> uint8 [H, W, 3] RGB."""

    def __len__(self) -> int: ...

    def __getitem__(self, t: int) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class NumberedFrames:
    """Frame paths `folder / pattern.format(first + t)` for t in 0..count-1, made on
    demand (no directory listing: TrackingNet alone has 14 million frames)."""

    folder: pathlib.Path
    pattern: str
    first: int
    count: int

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, t: int) -> pathlib.Path:
        if not 0 <= t < self.count:
            raise IndexError(f"frame {t} outside 0..{self.count - 1} of {self.folder}")
        return self.folder / self.pattern.format(self.first + t)


@dataclasses.dataclass(frozen=True, eq=False)
class SOTSequence:
    """One target through T frames (T = 1 for a still image).

    boxes: [T, 4] float32 xywh; valid: [T] bool; frames: T paths or a FrameProvider;
    kind: the source kind ("got10k", "lasot", "trackingnet", "davis", "image", ...).
    """

    name: str
    kind: str
    boxes: np.ndarray
    valid: np.ndarray
    frames: Sequence[pathlib.Path] | FrameProvider

    def __post_init__(self):
        boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        valid = np.asarray(self.valid, bool).reshape(-1)
        if len(valid) != len(boxes) or len(self.frames) != len(boxes):
            raise ValueError(
                f"{self.name}: {len(boxes)} boxes, {len(valid)} validity flags and "
                f"{len(self.frames)} frames; they must agree"
            )
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "valid", valid & _usable(boxes))

    def __len__(self) -> int:
        return len(self.boxes)


class SOTSource(Protocol):
    """What `sot_pairs.PairSampler` draws from."""

    kind: str

    def __len__(self) -> int: ...

    def sequence(self, index: int) -> SOTSequence: ...


def _usable(boxes: np.ndarray) -> np.ndarray:
    return np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


@dataclasses.dataclass(eq=False)
class SequenceSource:
    """A list of sequences; those without a single valid frame are dropped."""

    kind: str
    sequences: list[SOTSequence]
    name: str = ""

    def __post_init__(self):
        self.sequences = [s for s in self.sequences if s.valid.any()]

    def __len__(self) -> int:
        return len(self.sequences)

    def sequence(self, index: int) -> SOTSequence:
        return self.sequences[index]


@dataclasses.dataclass(eq=False)
class ImageSource:
    """Still images with boxes: sample i is box `boxes[i]` in image `paths[image[i]]`.

    image: [N] int64; boxes: [N, 4] float32 xywh; kind "image" (template and search
    come from the same image: the frame gap is 0).
    """

    paths: list[pathlib.Path]
    image: np.ndarray
    boxes: np.ndarray
    kind: str = "image"
    name: str = ""

    def __len__(self) -> int:
        return len(self.image)

    def sequence(self, index: int) -> SOTSequence:
        path = self.paths[int(self.image[index])]
        return SOTSequence(
            name=f"{path}#{index}",
            kind=self.kind,
            boxes=self.boxes[index : index + 1],
            valid=np.ones(1, bool),
            frames=(path,),
        )


# --------------------------------------------------------------------------- text files

_SEPARATORS = re.compile(r"[,\s]+")


def _lines(path: pathlib.Path, per_frame: bool = False) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers. per_frame: line k is frame k, so a
    blank line before the last non-blank one would shift the frames: an error."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1)]
    while lines and not lines[-1][1]:
        lines.pop()
    if per_frame:
        for n, ln in lines:
            if not ln:
                raise SOTFormatError(
                    path, n, "line", "blank line: line k holds frame k (write nan for unknown)"
                )
        return lines
    return [(n, ln) for n, ln in lines if ln]


def read_box_file(path: str | os.PathLike) -> np.ndarray:
    """A box-per-line file (x, y, w, h separated by commas, tabs or spaces) -> float32
    [T, 4], line k = frame k. `nan` fields are kept (the row is then invalid); a line
    without exactly 4 fields, a field that is not a number or a blank line before the
    last box raises SOTFormatError (file, line, field)."""
    path = pathlib.Path(path)
    lines = _lines(path, per_frame=True)
    rows = [_SEPARATORS.split(ln) for _, ln in lines]
    try:
        if {len(r) for r in rows} <= {4}:
            return np.array(rows, dtype=np.float32).reshape(-1, 4)
    except ValueError:
        pass  # find the culprit below
    for (lineno, _), row in zip(lines, rows, strict=True):
        if len(row) != 4:
            raise SOTFormatError(
                path, lineno, "x,y,w,h", f"expected 4 fields, got {len(row)}: {row!r}"
            )
        for name, field in zip("xywh", row, strict=True):
            try:
                float(field)
            except ValueError:
                raise SOTFormatError(path, lineno, name, f"not a number: {field!r}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _read_flags(
    path: pathlib.Path, allowed: range, one_line: bool, count: int | None
) -> np.ndarray:
    """Integer labels in `allowed`: one per line (GOT-10k `.label` files) or all on one
    comma-separated line (LaSOT). Checks the count against the box file's."""
    lines = _lines(path, per_frame=not one_line)
    if one_line:
        if len(lines) > 1:
            raise SOTFormatError(path, lines[1][0], "labels", "expected a single line")
        entries = [
            (lines[0][0], f"value {k + 1}", v)
            for k, v in enumerate(_SEPARATORS.split(lines[0][1]) if lines else [])
        ]
    else:
        entries = [(n, "label", ln) for n, ln in lines]
    values = []
    for lineno, field, raw in entries:
        try:
            value = int(float(raw))
        except ValueError:
            raise SOTFormatError(path, lineno, field, f"not a number: {raw!r}") from None
        if value not in allowed:
            raise SOTFormatError(
                path, lineno, field, f"expected {allowed.start}..{allowed.stop - 1}, got {raw!r}"
            )
        values.append(value)
    if count is not None and len(values) != count:
        raise SOTFormatError(
            path, None, "labels", f"{len(values)} labels for {count} boxes in groundtruth.txt"
        )
    return np.asarray(values, np.int64)


# --------------------------------------------------------------------------- videos


def load_got10k(root: str | os.PathLike, sequences: Sequence[str] | None = None) -> SequenceSource:
    """GOT-10k (a split folder such as `GOT-10k/train`): frames `<seq>/%08d.jpg` from 1.

    Sequences: `sequences`, else `list.txt` when present, else every folder holding a
    groundtruth.txt. Valid: w, h > 0, absence.label 0 and cover.label > 0 (each file
    optional; when present it needs one label per box).
    """
    root = pathlib.Path(root)
    if sequences is None:
        listing = root / "list.txt"
        if listing.is_file():
            sequences = [ln for _, ln in _lines(listing)]
        else:
            sequences = [s for s in subdirs(root) if (root / s / "groundtruth.txt").is_file()]
    out = []
    for name in sequences:
        folder = root / name
        boxes = read_box_file(folder / "groundtruth.txt")
        valid = np.ones(len(boxes), bool)
        if (absence := folder / "absence.label").is_file():
            valid &= _read_flags(absence, range(2), False, len(boxes)) == 0
        if (cover := folder / "cover.label").is_file():
            valid &= _read_flags(cover, range(9), False, len(boxes)) > 0
        frames = NumberedFrames(folder, "{:08d}.jpg", 1, len(boxes))
        out.append(SOTSequence(name, "got10k", boxes, valid, frames))
    return SequenceSource("got10k", out, str(root))


def load_lasot(
    root: str | os.PathLike,
    sequences: Sequence[str] | None = None,
) -> SequenceSource:
    """LaSOT: `<root>/<class>/<class>-<n>/img/%08d.jpg` from 1. `sequences` as
    "<class>-<n>" names (e.g. the official train split), default every sequence.
    Valid: w, h > 0, not fully occluded, not out of view (files optional)."""
    root = pathlib.Path(root)
    if sequences is None:
        sequences = [s for c in subdirs(root) for s in subdirs(root / c)]
    out = []
    for name in sequences:
        folder = root / name.rsplit("-", 1)[0] / name
        boxes = read_box_file(folder / "groundtruth.txt")
        valid = np.ones(len(boxes), bool)
        for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
            if (path := folder / flag_file).is_file():
                valid &= _read_flags(path, range(2), True, len(boxes)) == 0
        frames = NumberedFrames(folder / "img", "{:08d}.jpg", 1, len(boxes))
        out.append(SOTSequence(name, "lasot", boxes, valid, frames))
    return SequenceSource("lasot", out, str(root))


def load_trackingnet(
    root: str | os.PathLike, chunks: Sequence[int] | None = None
) -> SequenceSource:
    """TrackingNet: `<root>/TRAIN_<k>/anno/<seq>.txt`, frames `TRAIN_<k>/frames/<seq>/
    <i>.jpg` numbered from 0. chunks: the k to read (default: every TRAIN_<k> folder).
    Valid: w, h > 0."""
    root = pathlib.Path(root)
    if chunks is None:
        names = [d for d in subdirs(root) if re.fullmatch(r"TRAIN_\d+", d)]
        chunks = sorted(int(d.split("_")[1]) for d in names)
        if not chunks:
            raise FileNotFoundError(f"no TRAIN_<k> folders in {root}")
    out = []
    for k in chunks:
        chunk = root / f"TRAIN_{k}"
        anno = chunk / "anno"
        if not anno.is_dir():
            raise FileNotFoundError(f"folder not found: {anno}")
        for path in sorted(anno.glob("*.txt")):
            boxes = read_box_file(path)
            frames = NumberedFrames(chunk / "frames" / path.stem, "{}.jpg", 0, len(boxes))
            name = f"TRAIN_{k}/{path.stem}"
            out.append(SOTSequence(name, "trackingnet", boxes, np.ones(len(boxes), bool), frames))
    return SequenceSource("trackingnet", out, str(root))


def load_davis_boxes(
    root: str | os.PathLike,
    sequences: Sequence[str] | None = None,
    resolution: str = "480p",
) -> SequenceSource:
    """DAVIS as single-object videos: the box of each frame's non-zero mask pixels (all
    objects of a DAVIS-2017 palette mask merge into one target, as in
    `jaxmot.seg.data.load_davis`); an empty mask makes the frame invalid. Every frame needs
    its mask (same stem, .png)."""
    from jaxmot.core.images import read_label_mask
    from jaxmot.sot.sequences import mask_to_box

    out = []
    for seq, frames in davis_frames(root, sequences, resolution):
        boxes = np.stack([mask_to_box(read_label_mask(mask_path)) for _, mask_path in frames])
        images = tuple(image_path for image_path, _ in frames)
        out.append(SOTSequence(seq, "davis", boxes, _usable(boxes), images))
    return SequenceSource("davis", out, str(pathlib.Path(root)))


# --------------------------------------------------------------------------- still images


def _json_error(path, where: str, problem: str) -> SOTFormatError:
    return SOTFormatError(path, None, where, problem)


def load_coco_images(
    annotations: str | os.PathLike,
    images: str | os.PathLike,
    min_size: float = 10.0,
) -> ImageSource:
    """COCO detection annotations (`instances_*.json`) -> one sample per box.

    Skips crowd boxes (`iscrowd` = 1) and boxes with min(w, h) < `min_size` pixels (ours:
    the official crop script drops only w or h <= 0; a 10 px box is also the online
    tracker's minimum size). Image paths: `images / file_name` (not checked here; a
    missing image fails when read, naming it). Bad JSON raises SOTFormatError with the
    JSON line; a bad record names its list index and id.
    """
    path = pathlib.Path(annotations)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SOTFormatError(path, e.lineno, "json", f"not valid JSON: {e.msg}") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise _json_error(path, "images/annotations", "expected an object with both lists")
    index, paths = {}, []
    for k, image in enumerate(data["images"]):
        try:
            index[image["id"]] = len(paths)
            paths.append(pathlib.Path(images) / str(image["file_name"]))
        except (KeyError, TypeError):
            raise _json_error(path, f"images[{k}]", "needs 'id' and 'file_name'") from None
    image_ids, boxes = [], []
    for k, ann in enumerate(data["annotations"]):
        where = f"annotations[{k}]" + (f" (id {ann.get('id')})" if isinstance(ann, dict) else "")
        if not isinstance(ann, dict) or "bbox" not in ann or "image_id" not in ann:
            raise _json_error(path, where, "needs 'image_id' and 'bbox'")
        bbox = ann["bbox"]
        try:
            box = np.array(bbox, np.float64).reshape(4)
        except (TypeError, ValueError):
            raise _json_error(
                path, where + " bbox", f"expected [x, y, w, h], got {bbox!r}"
            ) from None
        if not np.isfinite(box).all():
            raise _json_error(path, where + " bbox", f"not finite: {bbox!r}")
        if ann["image_id"] not in index:
            raise _json_error(path, where, f"image_id {ann['image_id']!r} not in 'images'")
        if ann.get("iscrowd", 0) or min(box[2], box[3]) < min_size:
            continue
        image_ids.append(index[ann["image_id"]])
        boxes.append(box)
    return ImageSource(
        paths=paths,
        image=np.asarray(image_ids, np.int64),
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        name=str(path),
    )


def load_mot_images(
    seq_dirs: Sequence[str | os.PathLike],
    min_visibility: float = 0.3,
    classes: Sequence[int] = (1, -1),
    min_size: float = 10.0,
) -> ImageSource:
    """MOTChallenge sequences -> one still-image sample per gt box in a frame whose image
    exists (`img1/` may hold only some frames, as in a trimmed MOT17 copy).

    Keeps rows with the consider flag set, class in `classes` (1 = pedestrian; -1 is
    MOT15's missing class), visibility >= `min_visibility` (or unknown, -1) and
    min(w, h) >= `min_size`. gt files go through `mot.read_gt` (errors name file, line
    and field).
    """
    paths, image_ids, boxes = [], [], []
    for seq_dir in seq_dirs:
        seq = mot.read_sequence(seq_dir)
        info = seq.info
        if seq.gt is None:
            raise FileNotFoundError(f"{info.path}: no gt/gt.txt")
        img_dir = info.path / info.im_dir
        if not img_dir.is_dir():
            raise FileNotFoundError(f"{info.path}: no image folder {img_dir}")
        present = {p.name for p in img_dir.iterdir()}
        gt = seq.gt
        keep = (gt.flags != 0) & np.isin(gt.classes, np.asarray(classes, np.int32))
        keep &= (gt.visibility >= min_visibility) | (gt.visibility == -1)
        keep &= np.minimum(gt.boxes[:, 2], gt.boxes[:, 3]) >= min_size
        for frame in np.unique(gt.frames[keep]):
            name = f"{int(frame):06d}{info.im_ext}"
            if name not in present:
                continue
            rows = gt.for_frame(int(frame))
            rows = rows[keep[rows]]
            image_ids.extend([len(paths)] * len(rows))
            boxes.extend(gt.boxes[rows])
            paths.append(img_dir / name)
    if not paths:
        raise ValueError(f"no gt box with an image in {[str(s) for s in seq_dirs]}")
    return ImageSource(
        paths=paths,
        image=np.asarray(image_ids, np.int64),
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        name="mot:" + ",".join(pathlib.Path(s).name for s in seq_dirs),
    )
