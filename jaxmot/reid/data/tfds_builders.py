"""TensorFlow Datasets builders for the re-identification sets, in the array_record format.

Optional: needs `tensorflow-datasets` (>= 4.9) and `array_record`, but not TensorFlow.
TFDS 4.9 builds and reads array_record datasets without TensorFlow as long as images are
handed over already encoded (its own `Image` encoder calls `tf.image.encode_*`, and its
decoder is skipped here with `tfds.decode.SkipDecoding`): Market-1501 records hold the
release's JPEG bytes unchanged, MOT crops are PNG-encoded (lossless), and reading decodes
with cv2 exactly as `read_market` does. The data sources TFDS returns support random
access, so they also serve as `grain` sources (`grain.MapDataset.source(...)`).

Both builders read a local `manual_dir` (no download). Each record holds `image`, `id`,
`cam`, `name` (source file or crop) and `index` (the row's position in the split as
`read_market` / `mot_reid_dataset` order it); `read_prepared` restores that order.

    builder = Market1501(data_dir="~/tfds", file_format="array_record")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir="~/data/Market-1501"))
    data = read_prepared(builder.data_dir, size=(256, 128))   # ReIDDataset

The builders are not registered by name (`skip_registration`): use the classes, or
`read_prepared` on a prepared folder, which needs no builder class.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow_datasets as tfds

from jaxmot.core.images import decode_rgb, encode_rgb, resize
from jaxmot.reid.data.market import market_records
from jaxmot.reid.data.mot_crops import ID_STRIDE, find_sequences, sequence_crops, split_rows
from jaxmot.reid.data.split import SPLITS, ReIDDataset, ReIDSplit


def _features(encoding: str) -> tfds.features.FeaturesDict:
    return tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(None, None, 3), encoding_format=encoding),
            "id": np.int32,
            "cam": np.int32,
            "name": tfds.features.Text(),
            "index": np.int64,
        }
    )


def _examples(rows):
    """(encoded image, id, cam, name) rows -> TFDS (key, example) pairs, keyed by name;
    `index` is the row's position in the split."""
    for index, (image, pid, cam, name) in enumerate(rows):
        example = {"image": image, "id": int(pid), "cam": int(cam), "name": name, "index": index}
        yield name, example


class Market1501(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Market-1501 (Zheng et al., ICCV 2015) with the rules of `reid.market`."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "train / query / gallery; JPEG bytes as released."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Unpack Market-1501-v15.09.15.zip into manual_dir: manual_dir itself or its only "
        "subfolder must hold bounding_box_train/, query/ and bounding_box_test/."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="Market-1501 person re-identification (junk and distractors "
            "dropped from train; test ids raw: -1 junk, 0 distractor).",
            features=_features("jpeg"),
            homepage="https://zheng-lab-anu.github.io/Project/project_reid.html",
        )

    def _split_generators(self, dl_manager):
        records = market_records(dl_manager.manual_dir)
        return {split: self._generate_examples(records[split]) for split in SPLITS}

    def _generate_examples(self, records):
        return _examples((path.read_bytes(), n.pid, n.cam, path.name) for path, n in records)


@dataclasses.dataclass
class MotReidCropsConfig(tfds.core.BuilderConfig):
    """Parameters of `mot_crops.mot_reid_dataset` (same defaults)."""

    min_visibility: float = 0.3
    min_height: int = 50
    max_per_id: int | None = 20
    test_fraction: float = 0.5
    seed: int = 0


class MotReidCrops(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Crops of MOTChallenge sequences with the rules of `reid.mot_crops` (native size)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "train / query / gallery crops, PNG, at their own size."}
    BUILDER_CONFIGS = [MotReidCropsConfig(name="default")]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put MOTChallenge sequences with ground truth (e.g. MOT17/train) in manual_dir; "
        "every folder with gt/gt.txt up to two levels down is used (`find_sequences`)."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="Person crops cut from MOTChallenge ground truth; identities "
            f"sequence_index * {ID_STRIDE} + gt id; query/gallery split by time.",
            features=_features("png"),
            homepage="https://motchallenge.net",
        )

    def _split_generators(self, dl_manager):
        cfg = self.builder_config
        seq_dirs = find_sequences(dl_manager.manual_dir)
        if not seq_dirs:
            raise FileNotFoundError(f"{dl_manager.manual_dir}: no sequences with gt/gt.txt")
        crops, ids, cams, frames, names = [], [], [], [], []
        for k, seq_dir in enumerate(seq_dirs):
            plan, cut = sequence_crops(
                seq_dir,
                None,
                min_visibility=cfg.min_visibility,
                min_height=cfg.min_height,
                max_per_id=cfg.max_per_id,
            )
            crops += [encode_rgb(c, ".png") for c in cut]  # bytes: ~4x less memory held
            ids.append(k * ID_STRIDE + plan.ids)
            cams.append(np.full(len(plan), k))
            frames.append(plan.frames)
            names += [
                f"{seq_dir.name}/{f:06d}/{i}" for f, i in zip(plan.frames, plan.ids, strict=True)
            ]
        ids, cams, frames = map(np.concatenate, (ids, cams, frames))
        rows = split_rows(ids, cams, frames, len(seq_dirs), cfg.test_fraction, cfg.seed)
        return {
            split: self._generate_examples(
                [(crops[i], ids[i], c, names[i]) for i, c in zip(r, cam, strict=True)]
            )
            for split, (r, cam) in rows.items()
        }

    def _generate_examples(self, rows):
        return _examples(rows)


def read_prepared(
    dataset_dir: str | os.PathLike, size: tuple[int, int] = (256, 128)
) -> ReIDDataset:
    """A prepared builder folder (`builder.data_dir`, <data_dir>/<name>/<config>/<version>)
    -> `ReIDDataset` of (H, W) = `size` crops, rows in the order the builder indexed them.

    Needs no builder class: the folder's dataset_info.json and features.json describe it.
    """
    builder = tfds.builder_from_directory(os.fspath(dataset_dir))
    sources = builder.as_data_source(decoders={"image": tfds.decode.SkipDecoding()})
    out = {}
    for split in SPLITS:
        if split not in sources:
            out[split] = ReIDSplit.empty(size)
            continue
        source = sources[split]
        records = source.__getitems__(list(range(len(source)))) if len(source) else []
        records.sort(key=lambda r: int(r["index"]))
        names = [r["name"].decode() if isinstance(r["name"], bytes) else r["name"] for r in records]
        images = np.zeros((len(records), *size, 3), np.uint8)
        for i, r in enumerate(records):
            images[i] = resize(decode_rgb(r["image"], f"{dataset_dir}:{split}:{names[i]}"), size)
        out[split] = ReIDSplit(
            images,
            np.array([r["id"] for r in records]),
            np.array([r["cam"] for r in records]),
            tuple(names),
        )
    return out


__all__ = ["Market1501", "MotReidCrops", "MotReidCropsConfig", "read_prepared"]
