"""The in-memory form every person re-identification source produces, and how sets split.

A `ReIDSplit` holds crops resized to one fixed size with their identity and camera labels;
a `ReIDDataset` maps "train", "query" and "gallery" to splits. Identity labels stay the
source's own (Market-1501 evaluation reads -1 as junk and 0 as distractor); training calls
`relabel()` for contiguous class indices.

The two split rules shared by the crop sources (MOT sequences, synthetic scenes):

* `identity_split`: a seeded choice of test identities, so no test person is trained on.
* `time_query_mask`: query = the first half (in time) of an identity's crops, gallery =
  the rest. Each source here films a person with one camera, and Market's protocol drops
  gallery crops with the query's identity *and* camera; the sources therefore give
  gallery crops camera `cam + num_cams` (`GALLERY_CAM_OFFSET` rule below), which keeps
  every true match and marks the two halves as different "views" (in time, not space).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "query", "gallery")


def _as_1d(name: str, a, n: int | None, dtype) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1 or (n is not None and len(a) != n):
        raise ValueError(f"ReIDSplit.{name}: shape {a.shape}, expected [{n}]")
    if a.size and not np.all(a == a.astype(dtype)):
        raise ValueError(f"ReIDSplit.{name}: values do not fit {np.dtype(dtype).name}")
    return a.astype(dtype)


# eq=False: a generated __eq__ would compare arrays with `==`, which is ambiguous.
@dataclass(frozen=True, eq=False)
class ReIDSplit:
    """Person crops of one split.

    images: [N, H, W, 3] uint8 RGB, all resized to one size (cv2 INTER_LINEAR).
    ids: [N] int32 original identity labels (-1 junk and 0 distractor in Market test sets).
    cams: [N] int32 camera labels.
    paths: N source names for error messages, or () when there are none.
    """

    images: np.ndarray
    ids: np.ndarray
    cams: np.ndarray
    paths: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        images = np.asarray(self.images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"ReIDSplit.images: expected [N, H, W, 3] uint8, got {images.shape} {images.dtype}"
            )
        n = len(images)
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "ids", _as_1d("ids", self.ids, n, np.int32))
        object.__setattr__(self, "cams", _as_1d("cams", self.cams, n, np.int32))
        paths = tuple(str(p) for p in self.paths)
        if paths and len(paths) != n:
            raise ValueError(f"ReIDSplit.paths: {len(paths)} names for {n} images")
        object.__setattr__(self, "paths", paths)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of the crops."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    @property
    def num_ids(self) -> int:
        """Number of distinct identity labels (junk and distractors count as labels)."""
        return len(np.unique(self.ids))

    def relabel(self) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous class labels for training.

        Returns:
          labels [N] int32 in 0..K-1 (the rank of each id among the sorted distinct ids)
          and mapping [K] int32, the original id of each label: `mapping[labels] == ids`.
        """
        mapping, labels = np.unique(self.ids, return_inverse=True)
        return labels.astype(np.int32), mapping.astype(np.int32)

    def subset(self, index: np.ndarray) -> ReIDSplit:
        """A new split with the rows `index` (bool mask [N] or integer indices), in order."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        paths = tuple(self.paths[i] for i in index) if self.paths else ()
        return ReIDSplit(self.images[index], self.ids[index], self.cams[index], paths)

    @staticmethod
    def empty(size: tuple[int, int]) -> ReIDSplit:
        """A split with no images of crop size (H, W)."""
        return ReIDSplit(np.zeros((0, *size, 3), np.uint8), np.zeros(0), np.zeros(0))


ReIDDataset = dict[str, ReIDSplit]
"""Keys "train", "query" and "gallery" (`SPLITS`)."""


def concat(splits: list[ReIDSplit], size: tuple[int, int]) -> ReIDSplit:
    """One split holding `splits` in order (all must have crop size `size` = (H, W))."""
    splits = [s for s in splits if len(s)]
    if not splits:
        return ReIDSplit.empty(size)
    for s in splits:
        if s.image_size != tuple(size):
            raise ValueError(f"concat: crop size {s.image_size} != {tuple(size)}")
    with_paths = all(s.paths for s in splits)
    return ReIDSplit(
        np.concatenate([s.images for s in splits]),
        np.concatenate([s.ids for s in splits]),
        np.concatenate([s.cams for s in splits]),
        tuple(p for s in splits for p in s.paths) if with_paths else (),
    )


def identity_split(ids: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """[N] bool: True where the row's identity was drawn into the test set.

    round(test_fraction * K) of the K distinct ids are chosen uniformly at random with
    `np.random.default_rng(seed)`; the choice depends only on the sorted distinct ids and
    the seed (not on row order). With K >= 2 and 0 < test_fraction < 1 both sides get at
    least one id.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    uniq = np.unique(ids)
    n_test = int(round(test_fraction * len(uniq)))
    if len(uniq) >= 2 and 0.0 < test_fraction < 1.0:
        n_test = min(max(n_test, 1), len(uniq) - 1)
    test_ids = np.random.default_rng(seed).permutation(uniq)[:n_test]
    return np.isin(ids, test_ids)


def time_query_mask(ids: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """[N] bool: the query half of each identity's crops, split by time.

    An identity with n crops, ordered by (frame, row), gives its first n // 2 crops to
    the query and the other n - n // 2 to the gallery; a single crop goes to the gallery
    (a query without a true match would be unanswerable).
    """
    ids, frames = np.asarray(ids), np.asarray(frames)
    order = np.lexsort((np.arange(len(ids)), frames, ids))
    sorted_ids = ids[order]
    starts = np.r_[0, np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1]
    counts = np.diff(np.r_[starts, len(ids)])
    rank = np.arange(len(ids)) - np.repeat(starts, counts)  # position within its identity
    query = np.zeros(len(ids), bool)
    query[order] = rank < np.repeat(counts // 2, counts)
    return query


def split_by_mask(
    split: ReIDSplit, query: np.ndarray, cam_offset: int
) -> tuple[ReIDSplit, ReIDSplit]:
    """(query rows, the rest) with `cam_offset` added to the gallery's cameras, so that
    Market's same-id-same-camera exclusion never removes a true match."""
    gallery = split.subset(~query)
    gallery = ReIDSplit(gallery.images, gallery.ids, gallery.cams + cam_offset, gallery.paths)
    return split.subset(query), gallery


def time_split(split: ReIDSplit, frames: np.ndarray, num_cams: int) -> tuple[ReIDSplit, ReIDSplit]:
    """(query, gallery) of `split` by `time_query_mask`; gallery cams become cam + num_cams.

    frames: [N] the time of each crop. Cams must lie in 0..num_cams-1 so that query and
    gallery cameras never coincide.
    """
    if len(split) and (split.cams.min() < 0 or split.cams.max() >= num_cams):
        raise ValueError(f"time_split: cams must lie in 0..{num_cams - 1}")
    return split_by_mask(split, time_query_mask(split.ids, frames), num_cams)


__all__ = [
    "SPLITS",
    "ReIDDataset",
    "ReIDSplit",
    "concat",
    "identity_split",
    "split_by_mask",
    "time_query_mask",
    "time_split",
]
