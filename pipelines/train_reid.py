"""Train a person ReID model, evaluate it (rank-k, mAP), optionally export it.

  python -m pipelines.train_reid --config synthetic_r18w16 --workdir runs/reid \
      [--steps N] [--set KEY=VALUE ...] [--pretrained resnet.pth] \
      [--eval-crops DIR] [--export checkpoints/NAME]

Presets live in jaxmot/configs/reid.py (each with its command). Without a dataset the
run uses synthetic crops (no download). Running the same command again resumes from
the last checkpoint in WORKDIR/checkpoints. Results: WORKDIR/metrics.jsonl (training
log), WORKDIR/eval.json (retrieval metrics on the held-out split and --eval-crops).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.atomic import atomic_write_json
from jaxmot.mot.calibration import tune_appearance_gate
from jaxmot.mot.histogram import ColorHistogramExtractor
from jaxmot.reid.checkpoint import export_reid_model
from jaxmot.reid.configs import PRESETS, ReIDExperiment, get_config
from jaxmot.reid.data.market import read_market
from jaxmot.reid.data.mot_crops import (
    find_sequences,
    load_crops_folder,
    mot_reid_dataset,
    query_gallery_split,
)
from jaxmot.reid.data.sampler import ReIDBatches
from jaxmot.reid.data.split import ReIDDataset, ReIDSplit
from jaxmot.reid.data.synthetic_crops import synthetic_reid_dataset
from jaxmot.reid.data.transforms import AugmentConfig, normalize
from jaxmot.reid.extractor import ReIDExtractor
from jaxmot.reid.metric_learning import batch_hard_triplet_loss, cross_entropy_with_label_smoothing
from jaxmot.reid.metrics import evaluate_retrieval
from jaxmot.reid.model import build_reid_model
from jaxmot.reid.resnet_convert import load_torchvision_resnet
from jaxmot.train import add_config_args, apply_args, train
from jaxmot.train.export import command_line


class ReIDTask:
    """Identity cross-entropy (label smoothing) on the BN-neck logits plus batch-hard
    triplet loss on the pre-neck features, over P x K batches."""

    def __init__(self, experiment: ReIDExperiment, batches: ReIDBatches, pretrained=None):
        self.experiment = experiment
        self.batches = batches
        self.model_config = dataclasses.replace(experiment.model, num_classes=batches.num_classes)
        self.pretrained = pretrained

    def init_model(self, rngs: nnx.Rngs):
        model = build_reid_model(self.model_config, rngs)
        if self.pretrained is not None:
            load_torchvision_resnet(model.backbone, self.pretrained)
        return model

    def loss_fn(self, model, batch, rng):
        del rng
        exp = self.experiment
        out = model(batch["images"])
        labels = batch["labels"]
        id_loss = cross_entropy_with_label_smoothing(out["logits"], labels, exp.label_smoothing)
        triplet = batch_hard_triplet_loss(out["features"], labels, margin=exp.triplet_margin)
        accuracy = jnp.mean(jnp.argmax(out["logits"], axis=-1) == labels)
        loss = id_loss + exp.triplet_weight * triplet
        return loss, {"id_loss": id_loss, "triplet": triplet, "accuracy": accuracy}

    def batch(self, step: int):
        return self.batches.batch(step)


def load_dataset(exp: ReIDExperiment) -> ReIDDataset:
    size = tuple(exp.model.input_size)
    if exp.dataset == "synthetic":
        s = exp.synthetic
        print(f"rendering synthetic ReID crops ({s.num_train_scenes} + {s.num_test_scenes} scenes)")
        return synthetic_reid_dataset(
            s.num_train_scenes, s.num_test_scenes, size, s.seed, frames=s.frames,
            objects_per_scene=s.objects_per_scene, max_per_id=s.max_per_id,
            train_boxes=s.train_boxes,
        )  # fmt: skip
    if exp.data_dir is None:
        raise ValueError(f"dataset {exp.dataset!r} needs --set data_dir=PATH")
    if exp.dataset == "market1501":
        return read_market(exp.data_dir, size)
    if exp.dataset == "mot":
        return mot_reid_dataset(find_sequences(exp.data_dir), size, seed=exp.train.seed)
    raise ValueError(f"unknown dataset {exp.dataset!r}: synthetic, market1501 or mot")


def embed_split(extractor: ReIDExtractor, split: ReIDSplit) -> np.ndarray:
    """[N, D] embeddings of a split's crops (already at the model's input size)."""
    chunks = [
        extractor.embed_images(normalize(split.images[i : i + 256]))
        for i in range(0, len(split), 256)
    ]
    return np.concatenate(chunks) if chunks else np.zeros((0, extractor.dim), np.float32)


def histogram_split(split: ReIDSplit) -> np.ndarray:
    """[N, 256] colour-histogram embeddings of a split's crops (the training-free baseline)."""
    extractor = ColorHistogramExtractor()
    h, w = split.images.shape[1:3]
    whole = np.array([[0.0, 0.0, w, h]])
    return np.array([extractor(image, whole)[0] for image in split.images]).reshape(-1, 256)


def evaluate_embeddings(embed, query: ReIDSplit, gallery: ReIDSplit) -> dict:
    """Retrieval metrics of `embed(split) -> [N, D]` on a query/gallery pair."""
    q, g = embed(query), embed(gallery)
    metrics = evaluate_retrieval(q, query.ids, query.cams, g, gallery.ids, gallery.cams)
    return {**metrics, "num_query": len(query), "num_gallery": len(gallery)}


def evaluate_sets(extractor: ReIDExtractor, sets: dict) -> dict:
    """{name: metrics} for the model and, as `name/histogram`, the colour histograms."""
    out = {}
    for name, (query, gallery) in sets.items():
        out[name] = evaluate_embeddings(lambda s: embed_split(extractor, s), query, gallery)
        out[f"{name}/histogram"] = evaluate_embeddings(histogram_split, query, gallery)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="synthetic_r18w16", choices=sorted(PRESETS))
    add_config_args(parser)
    parser.add_argument(
        "--pretrained",
        type=pathlib.Path,
        help="ImageNet ResNet weights (torchvision .pth/.safetensors/.npz)",
    )
    parser.add_argument(
        "--eval-crops",
        type=pathlib.Path,
        action="append",
        default=[],
        help="also evaluate on a Market-named crops folder (crops_index.csv)",
    )
    parser.add_argument(
        "--export", type=pathlib.Path, help="export the trained model here (e.g. checkpoints/NAME)"
    )
    parser.add_argument(
        "--tune-scenes",
        type=int,
        default=6,
        help="with --export: tune the trackers' appearance gate on this many validation "
        "scenes (0: skip)",
    )
    parser.add_argument("--no-progress", action="store_true")  # fmt: skip
    args = parser.parse_args(argv)
    exp = apply_args(get_config(args.config), args, steps_key="train.steps")
    # The global batch is always P x K.
    exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, batch_size=exp.p * exp.k))
    workdir = pathlib.Path(args.workdir)

    dataset = load_dataset(exp)
    train_split = dataset["train"]
    print(f"train: {len(train_split)} crops of {train_split.num_ids} ids; "
          f"{jax.device_count()} {jax.default_backend()} device(s)")  # fmt: skip
    augment = AugmentConfig(pad=exp.augment_pad)
    batches = ReIDBatches(train_split, exp.p, exp.k, seed=exp.train.seed, config=augment)
    task = ReIDTask(exp, batches, args.pretrained)
    result = train(task, exp.train, workdir, progress=not args.no_progress)

    extractor = ReIDExtractor(result.model, exp.model.input_size, result.model.embed_dim)
    sets = {f"{exp.dataset}_test": (dataset["query"], dataset["gallery"])}
    for folder in args.eval_crops:
        sets[folder.name] = query_gallery_split(
            load_crops_folder(folder, tuple(exp.model.input_size))
        )
    evaluation = evaluate_sets(extractor, sets)
    for name, m in evaluation.items():
        print(f"{name:38s} rank-1 {100 * m['rank1']:5.1f}  rank-5 {100 * m['rank5']:5.1f}  "
              f"mAP {100 * m['mAP']:5.1f}  ({m['num_query']} queries, "
              f"{m['num_gallery']} gallery)")  # fmt: skip
    atomic_write_json(workdir / "eval.json", evaluation)
    if args.export:
        command = command_line("pipelines.train_reid", argv)
        extra = {}
        if args.tune_scenes > 0:
            tuning = tune_appearance_gate(extractor, args.tune_scenes,
                                          progress=not args.no_progress)  # fmt: skip
            print(f"appearance gate of the longterm tracker:\n{tuning.table()}")
            extra["appearance_gate"] = tuning.to_json()
        export_reid_model(result.model, task.model_config, args.export, step=result.step,
                          evaluation=evaluation, experiment=dataclasses.asdict(exp),
                          command=command, **extra)  # fmt: skip
        print(f"exported -> {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
