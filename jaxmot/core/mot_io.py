"""MOTChallenge file formats: sequences, detections, ground truth and tracker results.

Conventions (MOTChallenge): frames are 1-based; boxes are `x, y, w, h` with (x, y) the
top-left corner, in pixels.

    det/det.txt   frame,-1,x,y,w,h,score[,...]               (score missing -> 1.0)
    gt/gt.txt     frame,id,x,y,w,h,flag,class,visibility     (MOT16/17; MOT15 lines have
                  10 fields, ...,flag,wx,wy,wz: read as class -1, visibility -1)
    results       frame,id,x,y,w,h,score,-1,-1,-1
    seqinfo.ini   [Sequence] name, imDir, frameRate, seqLength, imWidth, imHeight, imExt

Every line is validated on read; the first bad line raises `MOTFormatError` naming the
file, the 1-based line number and the field. Columns past the ones listed above are
ignored. Blank lines are skipped; an empty file is zero rows. All writers are atomic.
"""

from __future__ import annotations

import configparser
import os
import pathlib
import warnings
from dataclasses import dataclass, field, fields
from typing import Any, Self

import numpy as np

from jaxmot.core.atomic import atomic_write_text

VIDEO_EXTS = (".mp4", ".avi")


class MOTFormatError(ValueError):
    """A malformed MOTChallenge file; the message names file, line (1-based) and field."""

    def __init__(self, path: str | os.PathLike, line: int | None, field: str, problem: str):
        where = f"{path} line {line}" if line is not None else f"{path}"
        super().__init__(f"{where}, field '{field}': {problem}")
        self.path, self.line, self.field = pathlib.Path(path), line, field


# ---------------------------------------------------------------------------------------
# Row containers
# ---------------------------------------------------------------------------------------


class _FrameRows:
    """Shared behaviour of per-row tables sorted by frame (the dataclasses below).

    Subclasses declare their columns with `_column(dtype)`, "frames" first. Construction
    coerces dtypes, checks lengths, sorts stably by frame (so equal frames keep file
    order) and indexes the frames so `for_frame` is a dict lookup.
    """

    _slices: dict[int, tuple[int, int]]

    @classmethod
    def _columns(cls) -> dict[str, Any]:
        """Column name -> dtype, in declaration order."""
        return {f.name: f.metadata["dtype"] for f in fields(cls) if "dtype" in f.metadata}

    def __post_init__(self) -> None:
        n = len(np.asarray(self.frames).reshape(-1))
        fills = {f.name: f.metadata["fill"] for f in fields(self) if "fill" in f.metadata}
        arrays = {
            k: np.full(n, fills[k], dt) if getattr(self, k) is None and k in fills
            else np.asarray(getattr(self, k), dtype=dt)
            for k, dt in self._columns().items()
        }  # fmt: skip
        if "boxes" in arrays:
            arrays["boxes"] = arrays["boxes"].reshape(-1, 4)
        for k, a in arrays.items():
            if a.ndim != (2 if k == "boxes" else 1) or len(a) != n:
                raise ValueError(f"{type(self).__name__}.{k}: shape {a.shape}, expected {n} rows")
        frames = arrays["frames"]
        if n > 1 and np.any(frames[1:] < frames[:-1]):
            order = np.argsort(frames, kind="stable")
            arrays = {k: a[order] for k, a in arrays.items()}
        for k, a in arrays.items():
            object.__setattr__(self, k, a)
        uniq, start, count = np.unique(arrays["frames"], return_index=True, return_counts=True)
        slices = {int(f): (int(s), int(s + c)) for f, s, c in zip(uniq, start, count, strict=True)}
        object.__setattr__(self, "_slices", slices)

    def __len__(self) -> int:
        return len(self.frames)

    def for_frame(self, frame: int) -> np.ndarray:
        """Row indices [k] (int64) of `frame`, in file order; empty if it has none. O(1)."""
        start, stop = self._slices.get(int(frame), (0, 0))
        return np.arange(start, stop)

    def frame_ids(self) -> np.ndarray:
        """Sorted unique frames [F] int32 that have at least one row."""
        return np.fromiter(self._slices, dtype=np.int32, count=len(self._slices))

    def select(self, index: np.ndarray) -> Self:
        """A new table with the rows `index` (bool mask [K] or integer indices)."""
        return type(self)(**{k: getattr(self, k)[index] for k in self._columns()})


# eq=False: a generated __eq__ would compare arrays with `==`, which is ambiguous.
_table = dataclass(frozen=True, eq=False)


def _column(dtype: Any) -> Any:
    """A table column (a required field), coerced to `dtype` on construction."""
    return field(metadata={"dtype": dtype})


def _optional_column(dtype: Any, fill: int) -> Any:
    """A table column that may be left out (None): then every row holds `fill`."""
    return field(default=None, metadata={"dtype": dtype, "fill": fill})


@_table
class Detections(_FrameRows):
    """Detections of one sequence, sorted by frame, then file order.

    frames: [K] int32, 1-based; boxes: [K, 4] float32 xywh pixels; scores: [K] float32;
    classes: [K] int32 class ids, -1 where the file gives none (MOTChallenge det.txt).
    """

    frames: np.ndarray = _column(np.int32)
    boxes: np.ndarray = _column(np.float32)
    scores: np.ndarray = _column(np.float32)
    classes: np.ndarray | None = _optional_column(np.int32, -1)
    _slices: dict = field(init=False, repr=False)


@_table
class GroundTruth(_FrameRows):
    """Ground truth of one sequence, sorted by frame, then file order.

    frames, ids: [K] int32; boxes: [K, 4] float32 xywh; flags: [K] int32 (7th column:
    the 'consider' flag in MOT16/17, 1 in MOT15); classes: [K] int32 (-1 in MOT15);
    visibility: [K] float32 (-1 when absent).
    """

    frames: np.ndarray = _column(np.int32)
    ids: np.ndarray = _column(np.int32)
    boxes: np.ndarray = _column(np.float32)
    flags: np.ndarray = _column(np.int32)
    classes: np.ndarray = _column(np.int32)
    visibility: np.ndarray = _column(np.float32)
    _slices: dict = field(init=False, repr=False)


@_table
class TrackResults(_FrameRows):
    """A tracker's output for one sequence, sorted by frame, then file order.

    frames, ids: [K] int32; boxes: [K, 4] float32 xywh; scores: [K] float32; classes:
    [K] int32 class ids, -1 where unknown (the 8th column, where ground truth has its
    class; -1 in single-class MOTChallenge results).
    """

    frames: np.ndarray = _column(np.int32)
    ids: np.ndarray = _column(np.int32)
    boxes: np.ndarray = _column(np.float32)
    scores: np.ndarray = _column(np.float32)
    classes: np.ndarray | None = _optional_column(np.int32, -1)
    _slices: dict = field(init=False, repr=False)


@dataclass(frozen=True)
class SequenceInfo:
    """Metadata of one sequence (seqinfo.ini); width/height None when not given."""

    name: str
    path: pathlib.Path
    frame_rate: float
    length: int
    width: int | None
    height: int | None
    im_dir: str = "img1"
    im_ext: str = ".jpg"


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------

_BOX_FIELDS = ("frame", "id", "x", "y", "width", "height")
_DET_FIELDS = (*_BOX_FIELDS, "score")
_CLASS_FIELDS = (*_DET_FIELDS, "class")  # detections and results: 8th column, optional
_GT_FIELDS = (*_BOX_FIELDS, "flag", "class", "visibility")
_MIN_FIELDS = 6


def _parse_columns(path: pathlib.Path, names: tuple[str, ...], defaults: tuple[float, ...]):
    """Parse the first len(names) columns of a comma-separated MOT file.

    Returns:
      values [K, C] float64, line_numbers [K] int64 (1-based, blank lines skipped) and
      field_counts [K] int64 (how many fields each line really had). Columns past the
      first 6 may be missing and take `defaults` (one per optional column).
    """
    ncol = len(names)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    linenos = [i for i, ln in enumerate(lines, 1) if ln.strip()]
    if len(linenos) != len(lines):
        lines = [lines[i - 1] for i in linenos]
    if not lines:
        return np.zeros((0, ncol)), np.zeros(0, np.int64), np.zeros(0, np.int64)

    # Fast path (nearly every real file): every line has the same number of commas, so
    # the whole file is one flat list and column j is a strided slice of it.
    commas = {ln.count(",") for ln in lines}
    values = None
    if len(commas) == 1 and (nfield := commas.pop() + 1) >= _MIN_FIELDS:
        flat = ",".join(lines).split(",")
        try:
            cols = [
                np.array(list(map(float, flat[j::nfield]))) if j < nfield else None
                for j in range(ncol)
            ]
        except ValueError:
            cols = None  # the slow path below finds and reports the first bad field
        if cols is not None:
            values = np.empty((len(lines), ncol))
            for j, c in enumerate(cols):
                values[:, j] = c if c is not None else defaults[j - _MIN_FIELDS]
            counts = np.full(len(lines), nfield)
    if values is None:
        rows = [
            _parse_line(path, n, ln, names, defaults) for n, ln in zip(linenos, lines, strict=True)
        ]
        values = np.array([r for r, _ in rows])
        counts = np.array([c for _, c in rows])
    return values, np.asarray(linenos, np.int64), counts


def _parse_line(path, lineno, line, names, defaults) -> tuple[list[float], int]:
    parts = line.split(",") if "," in line else line.split()
    if len(parts) < _MIN_FIELDS:
        raise MOTFormatError(
            path,
            lineno,
            names[len(parts)],
            f"missing (line has {len(parts)} fields, need at least {_MIN_FIELDS}: "
            "frame,id,x,y,w,h)",
        )
    row = []
    for name, part in zip(names, parts, strict=False):
        try:
            row.append(float(part))
        except ValueError:
            if name == "class":  # an optional 8th column others fill freely: no class
                row.append(float("nan"))
                continue
            raise MOTFormatError(path, lineno, name, f"not a number: {part.strip()!r}") from None
    row.extend(defaults[len(row) - _MIN_FIELDS :])
    return row, len(parts)


def _check(path, values, linenos, names, checks) -> None:
    """Raise for the earliest line failing any (column, bad_mask, expectation) check."""
    first = None
    for col, bad, expect in checks:
        if bad.any():
            row = int(np.argmax(bad))
            if first is None or (row, col) < first[:2]:
                first = (row, col, expect)
    if first is not None:
        row, col, expect = first
        got = values[row, col]
        raise MOTFormatError(path, int(linenos[row]), names[col], f"expected {expect}, got {got}")


def _value_checks(values, cols_finite, cols_int, cols_positive):
    v = values
    checks = [(c, ~np.isfinite(v[:, c]), "a finite number") for c in cols_finite]
    checks.append((0, v[:, 0] < 1, "a frame >= 1"))
    checks += [(c, v[:, c] != np.floor(v[:, c]), "an integer") for c in cols_int]
    checks += [(c, ~(v[:, c] > 0), "> 0") for c in cols_positive]
    return checks


def read_detections(
    path: str | os.PathLike,
    *,
    min_score: float | None = None,
    on_invalid_box: str = "drop",
    return_lines: bool = False,
) -> Detections | tuple[Detections, np.ndarray]:
    """Read a MOTChallenge detection file (`frame,-1,x,y,w,h,score,...`).

    Malformed lines raise `MOTFormatError`, with one exception: real public detection
    files contain boxes with non-positive (or NaN) width/height. With
    `on_invalid_box="drop"` (default) those rows are dropped with a warning that counts
    them and names the first; with "raise" they raise like any other bad field.
    A missing score column means score 1.0. `min_score` keeps rows with score >= it.

    With `return_lines=True`, returns `(detections, lines)`: lines [K] int64 is the
    source of each kept row, as a 0-based index into the file's data lines (blank lines
    not counted), in the rows' (frame-sorted) order.
    """
    if on_invalid_box not in ("drop", "raise"):
        raise ValueError(f"on_invalid_box must be 'drop' or 'raise', got {on_invalid_box!r}")
    path = pathlib.Path(path)
    v, linenos, _ = _parse_columns(path, _CLASS_FIELDS, (1.0, -1.0))
    lines = np.arange(len(v), dtype=np.int64)
    # id (column 1) is -1 by convention and unused; width/height are handled below.
    checks = _value_checks(v, (0, 2, 3, 6), (0,), ())
    _check(path, v, linenos, _DET_FIELDS, checks)
    w, h = v[:, 4], v[:, 5]
    bad_box = ~((w > 0) & (h > 0))  # also catches NaN
    if bad_box.any():
        row = int(np.argmax(bad_box))
        col = 4 if not w[row] > 0 else 5
        if on_invalid_box == "raise":
            raise MOTFormatError(
                path, int(linenos[row]), _DET_FIELDS[col], f"expected > 0, got {v[row, col]}"
            )
        warnings.warn(
            f"{path}: dropped {int(bad_box.sum())} detection(s) with non-positive or NaN "
            f"width/height (first: line {linenos[row]}, field '{_DET_FIELDS[col]}' = "
            f"{v[row, col]})",
            stacklevel=2,
        )
        v = v[~bad_box]
        lines = lines[~bad_box]
    if min_score is not None:
        keep = v[:, 6] >= min_score
        v, lines = v[keep], lines[keep]
    dets = Detections(frames=v[:, 0], boxes=v[:, 2:6], scores=v[:, 6], classes=_classes(v[:, 7]))
    if not return_lines:
        return dets
    # The order Detections sorted its rows in (stable by frame; identity if sorted).
    return dets, lines[np.argsort(v[:, 0], kind="stable")]


def read_gt(path: str | os.PathLike) -> GroundTruth:
    """Read a ground-truth file (`frame,id,x,y,w,h,flag,class,visibility`).

    Missing optional columns: flag 1, class -1, visibility -1. A line with 10 or more
    fields is MOT15 layout (`...,flag,wx,wy,wz`: world coordinates, ignored), so its
    class and visibility are -1. Every bad line raises `MOTFormatError`.
    """
    path = pathlib.Path(path)
    v, linenos, counts = _parse_columns(path, _GT_FIELDS, (1.0, -1.0, -1.0))
    # MOT15 lines have 10 fields, the last three being world coordinates, not
    # class/visibility (MOT16/17 lines have 9).
    mot15 = counts >= 10
    v[mot15, 7:9] = -1.0
    checks = _value_checks(v, range(9), (0, 1, 6, 7), (4, 5))
    _check(path, v, linenos, _GT_FIELDS, checks)
    return GroundTruth(
        frames=v[:, 0],
        ids=v[:, 1],
        boxes=v[:, 2:6],
        flags=v[:, 6],
        classes=v[:, 7],
        visibility=v[:, 8],
    )


def _classes(column: np.ndarray) -> np.ndarray:
    """Class ids from an 8th column: whole numbers >= 0 are classes; anything else (-1,
    world coordinates of old MOT15 files) is -1, no class."""
    is_class = np.isfinite(column) & (column >= 0) & (column == np.floor(column))
    return np.where(is_class, column, -1).astype(np.int32)


def read_results(path: str | os.PathLike) -> TrackResults:
    """Read tracker results (`frame,id,x,y,w,h,score,class,...`; score missing -> 1.0,
    class missing or not a class id -> -1)."""
    path = pathlib.Path(path)
    v, linenos, _ = _parse_columns(path, _CLASS_FIELDS, (1.0, -1.0))
    checks = _value_checks(v, range(7), (0, 1), (4, 5))
    _check(path, v, linenos, _CLASS_FIELDS, checks)
    return TrackResults(
        frames=v[:, 0], ids=v[:, 1], boxes=v[:, 2:6], scores=v[:, 6], classes=_classes(v[:, 7])
    )


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def _format_rows(*columns: np.ndarray | str) -> str:
    """CSV text from per-row arrays (ints, or float32 printed shortest-round-trip) and
    constant strings."""
    n = next(len(c) for c in columns if not isinstance(c, str))
    if n == 0:
        return ""
    # float32 -> str uses the shortest repr that reads back to the same float32.
    cols = [[c] * n if isinstance(c, str) else c.astype(str).tolist() for c in columns]
    return "\n".join(map(",".join, zip(*cols, strict=True))) + "\n"


def write_results(path: str | os.PathLike, results: TrackResults) -> None:
    """Write MOTChallenge results `frame,id,x,y,w,h,score,class,-1,-1` (atomic); class
    is -1 unless the tracker was given classes."""
    columns = (results.frames, results.ids, *results.boxes.T, results.scores, results.classes)
    text = _format_rows(*columns, "-1", "-1")
    atomic_write_text(path, text)


def write_detections(path: str | os.PathLike, dets: Detections) -> None:
    """Write a detection file `frame,-1,x,y,w,h,score,class,-1,-1` (atomic; class -1
    when none)."""
    text = _format_rows(dets.frames, "-1", *dets.boxes.T, dets.scores, dets.classes, "-1", "-1")
    atomic_write_text(path, text)


def write_gt(path: str | os.PathLike, gt: GroundTruth) -> None:
    """Write ground truth `frame,id,x,y,w,h,flag,class,visibility` (atomic)."""
    text = _format_rows(gt.frames, gt.ids, *gt.boxes.T, gt.flags, gt.classes, gt.visibility)
    atomic_write_text(path, text)


def write_seqinfo(seq_dir: str | os.PathLike, info: SequenceInfo) -> None:
    """Write `seq_dir/seqinfo.ini` in the standard [Sequence] layout (atomic)."""
    rate = int(info.frame_rate) if float(info.frame_rate).is_integer() else info.frame_rate
    lines = [
        "[Sequence]",
        f"name={info.name}",
        f"imDir={info.im_dir}",
        f"frameRate={rate}",
        f"seqLength={info.length}",
    ]
    if info.width is not None:
        lines.append(f"imWidth={info.width}")
    if info.height is not None:
        lines.append(f"imHeight={info.height}")
    lines.append(f"imExt={info.im_ext}")
    atomic_write_text(pathlib.Path(seq_dir) / "seqinfo.ini", "\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------
# Sequences
# ---------------------------------------------------------------------------------------

DEFAULT_FRAME_RATE = 30.0


def _ini_number(path: pathlib.Path, section, key: str, kind: type) -> Any:
    raw = section.get(key)
    if raw is None:
        return None
    try:
        value = kind(float(raw)) if kind is int else kind(raw)
        ok = value > 0 and np.isfinite(value) and (kind is not int or float(raw).is_integer())
    except (ValueError, OverflowError):
        ok = False
    if not ok:
        text = path.read_text(encoding="utf-8").splitlines()
        line = next(
            (i for i, ln in enumerate(text, 1) if ln.strip().lower().startswith(key.lower())), None
        )
        want = "a positive integer" if kind is int else "a positive number"
        raise MOTFormatError(path, line, key, f"expected {want}, got {raw!r}")
    return value


def _count_pixels_frames(seq_dir: pathlib.Path, im_dir: str, im_ext: str) -> int:
    img_dir = seq_dir / im_dir
    if img_dir.is_dir():
        n = sum(1 for _ in img_dir.glob(f"*{im_ext}"))
        if n:
            return n
    video = _find_video(seq_dir, im_dir)
    if video is not None:
        import cv2  # lazy: cv2 is slow to import, only pixels need it

        cap = cv2.VideoCapture(str(video))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.release()
        return max(n, 0)
    return 0


def _max_annotated_frame(seq_dir: pathlib.Path, tables: list | None = None) -> int:
    if tables is None:
        tables = []
        if (p := seq_dir / "det" / "det.txt").is_file():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # dropped boxes are reported by read_sequence
                tables.append(read_detections(p))
        if (p := seq_dir / "gt" / "gt.txt").is_file():
            tables.append(read_gt(p))
    return max((int(t.frames.max()) for t in tables if t is not None and len(t)), default=0)


def _read_seqinfo(seq_dir: pathlib.Path, tables: list | None) -> SequenceInfo:
    if not seq_dir.is_dir():
        raise FileNotFoundError(f"sequence folder not found: {seq_dir}")
    ini = seq_dir / "seqinfo.ini"
    defaulted = []
    if ini.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(ini.read_text(encoding="utf-8"))
        except configparser.Error as e:
            raise MOTFormatError(ini, None, "[Sequence]", f"not a valid ini file: {e}") from e
        if not parser.has_section("Sequence"):
            raise MOTFormatError(ini, None, "[Sequence]", "section missing")
        sec = parser["Sequence"]  # keys are case-insensitive
        name = sec.get("name") or seq_dir.name
        im_dir, im_ext = sec.get("imDir", "img1"), sec.get("imExt", ".jpg")
        frame_rate = _ini_number(ini, sec, "frameRate", float)
        length = _ini_number(ini, sec, "seqLength", int)
        width, height = (
            _ini_number(ini, sec, "imWidth", int),
            _ini_number(ini, sec, "imHeight", int),
        )
        where = f"{ini} has no"
    else:
        name, im_dir, im_ext = seq_dir.name, "img1", ".jpg"
        frame_rate = length = width = height = None
        where = f"{seq_dir} has no seqinfo.ini (name={name!r} from the folder);"
    if frame_rate is None:
        frame_rate = DEFAULT_FRAME_RATE
        defaulted.append(f"frameRate: assuming {DEFAULT_FRAME_RATE:g} fps")
    if length is None:
        length = _max_annotated_frame(seq_dir, tables)
        source = "the last frame in det/gt"
        if length == 0:
            length, source = _count_pixels_frames(seq_dir, im_dir, im_ext), "the frame count"
        defaulted.append(f"seqLength: using {length} ({source})")
    if defaulted:
        warnings.warn(f"{where} " + "; ".join(defaulted), stacklevel=3)
    return SequenceInfo(
        name, seq_dir, float(frame_rate), int(length), width, height, im_dir, im_ext
    )


def read_seqinfo(seq_dir: str | os.PathLike) -> SequenceInfo:
    """Read `seq_dir/seqinfo.ini`, filling gaps with a warning.

    Missing frameRate -> 30 fps; missing seqLength -> last frame in det/gt (else the
    number of images / video frames); missing imWidth/imHeight -> None. Without a
    seqinfo.ini at all, the name comes from the folder and the rest as above.
    """
    return _read_seqinfo(pathlib.Path(seq_dir), None)


def _find_video(seq_dir: pathlib.Path, im_dir: str) -> pathlib.Path | None:
    named = seq_dir / im_dir
    if named.is_file() and named.suffix.lower() in VIDEO_EXTS:
        return named
    videos = sorted(p for p in seq_dir.iterdir() if p.suffix.lower() in VIDEO_EXTS and p.is_file())
    return videos[0] if videos else None


@dataclass
class MOTSequence:
    """One sequence folder: metadata, optional detections and gt, and its pixels.

    Pixels come from `<im_dir>/<frame:06d><im_ext>` or, failing that, a video file in the
    folder (`imDir` may name it; otherwise the first `*.mp4` / `*.avi` by name).
    """

    info: SequenceInfo
    detections: Detections | None
    gt: GroundTruth | None
    _video: Any = field(default=None, init=False, repr=False, compare=False)
    _next_frame: int = field(default=0, init=False, repr=False, compare=False)

    def _image_dir(self) -> pathlib.Path | None:
        d = self.info.path / self.info.im_dir
        return d if d.is_dir() and next(d.glob(f"*{self.info.im_ext}"), None) else None

    @property
    def has_images(self) -> bool:
        """True when img1/ holds frames or a video file is present."""
        return (
            self._image_dir() is not None
            or _find_video(self.info.path, self.info.im_dir) is not None
        )

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` (1-based) as [H, W, 3] uint8 RGB."""
        import cv2  # lazy: cv2 is slow to import, only pixels need it

        if index < 1 or (self.info.length and index > self.info.length):
            raise IndexError(f"{self.info.name}: frame {index} outside 1..{self.info.length}")
        if (img_dir := self._image_dir()) is not None:
            p = img_dir / f"{index:06d}{self.info.im_ext}"
            bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if bgr is None:
                raise FileNotFoundError(f"{self.info.name}: cannot read frame {index} from {p}")
        else:
            bgr = self._video_frame(index, cv2)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _video_frame(self, index: int, cv2: Any) -> np.ndarray:
        if self._video is None:
            video = _find_video(self.info.path, self.info.im_dir)
            if video is None:
                raise FileNotFoundError(
                    f"{self.info.name}: no pixels in {self.info.path} (no frames in "
                    f"{self.info.im_dir}/ and no {' / '.join(VIDEO_EXTS)} video)"
                )
            self._video, self._next_frame = cv2.VideoCapture(str(video)), 1
        # Seeking is slow and not frame-exact for every codec; sequential reads need none.
        if index != self._next_frame:
            self._video.set(cv2.CAP_PROP_POS_FRAMES, index - 1)
        ok, bgr = self._video.read()
        if not ok:
            self._next_frame = 0
            raise IndexError(f"{self.info.name}: the video has no frame {index}")
        self._next_frame = index + 1
        return bgr

    def close(self) -> None:
        """Release the video reader, if one is open."""
        if self._video is not None:
            self._video.release()
            self._video = None


def read_sequence(seq_dir: str | os.PathLike) -> MOTSequence:
    """Read a sequence folder: seqinfo.ini, and det/det.txt and gt/gt.txt when present."""
    seq_dir = pathlib.Path(seq_dir)
    if not seq_dir.is_dir():
        raise FileNotFoundError(f"sequence folder not found: {seq_dir}")
    det_path, gt_path = seq_dir / "det" / "det.txt", seq_dir / "gt" / "gt.txt"
    dets = read_detections(det_path) if det_path.is_file() else None
    gt = read_gt(gt_path) if gt_path.is_file() else None
    info = _read_seqinfo(seq_dir, [dets, gt])
    return MOTSequence(info=info, detections=dets, gt=gt)


__all__ = [
    "Detections",
    "GroundTruth",
    "MOTFormatError",
    "MOTSequence",
    "SequenceInfo",
    "TrackResults",
    "read_detections",
    "read_gt",
    "read_results",
    "read_seqinfo",
    "read_sequence",
    "write_detections",
    "write_gt",
    "write_results",
    "write_seqinfo",
]
