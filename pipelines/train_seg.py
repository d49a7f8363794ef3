"""Train a segmenter (linear probe, PAC upsampler or PAC joint upsampler), evaluate it.

  python -m pipelines.train_seg --config synthetic_joint --workdir runs/seg_joint \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME]

Presets live in jaxmot/configs/seg.py (each with its command). The default data is
generated (no download). Running the same command again resumes from the last
checkpoint in WORKDIR/checkpoints and re-evaluates. Results: WORKDIR/metrics.jsonl
(training log), WORKDIR/eval.json (foreground IoU and mean IoU over foreground and
background, on the held-out split and on `data.eval_davis` when set).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pathlib
import sys

import jax
import numpy as np
from flax import nnx

from jaxmot.core.atomic import atomic_write_json
from jaxmot.seg.batches import SegArrays, SegBatches, stack_arrays
from jaxmot.seg.checkpoint import export_segmenter
from jaxmot.seg.configs import PRESETS, SegDataConfig, SegExperiment, get_config
from jaxmot.seg.data import load_davis, load_obj_seg, patch_pool, synthetic_split
from jaxmot.seg.evaluate import evaluate_segmenter, format_scores
from jaxmot.seg.model import SegmenterConfig, build_segmenter, segmentation_loss
from jaxmot.train import add_config_args, apply_args, train
from jaxmot.train.export import command_line

OBJ_SEG_PATCH = 16  # the course's embedding files are ViT-S/16 features


class SegTask:
    """BCE of the segmenter's logits: against the full-resolution masks (pac, joint) or
    the coarse masks (linear probe, as the course trains it)."""

    def __init__(self, config: SegmenterConfig, batches: SegBatches):
        self.config = config
        self.batches = batches

    def init_model(self, rngs: nnx.Rngs):
        return build_segmenter(self.config, rngs)

    def loss_fn(self, model, batch, rng):
        del rng
        logits = model(batch["low"], batch["images"])
        target = batch["coarse"] if self.config.kind == "linear" else batch["masks"]
        loss = segmentation_loss(logits, target)
        accuracy = ((logits[..., 0] > 0) == (target > 0.5)).mean()
        return loss, {"pixel_accuracy": accuracy}

    def batch(self, step: int):
        return self.batches.batch(step)


def load_samples(data: SegDataConfig, split: str) -> list:
    """SegSamples of the train or val split of `data.dataset`."""
    if data.dataset == "synthetic":
        n = data.synthetic_train if split == "train" else data.synthetic_val
        seed = data.seed if split == "train" else data.seed + 1_000_003  # disjoint images
        return synthetic_split(n, seed=seed, size=tuple(data.synthetic_size))
    if data.data_dir is None:
        raise ValueError(f"dataset {data.dataset!r} needs --set data.data_dir=PATH")
    if data.dataset == "obj_seg":
        return load_obj_seg(
            data.data_dir, "train" if split == "train" else "test",
            categories=list(data.categories) or None, embeddings=data.features == "files",
        )  # fmt: skip
    sequences = data.train_sequences if split == "train" else data.val_sequences
    if not sequences:
        raise ValueError(f"davis needs data.{split}_sequences (a tuple of sequence names)")
    return load_davis(data.data_dir, sequences=list(sequences), every=data.every)


class LowInputs:
    """The low-resolution input of every sample for the experiment's head."""

    def __init__(self, exp: SegExperiment, progress: bool = True):
        self.exp = exp
        self.progress = progress
        self._vit = None

    @property
    def patch(self) -> int:
        if self.exp.model.kind == "joint":
            return self.exp.model.patch_size
        return OBJ_SEG_PATCH if self.exp.data.features == "files" else self.exp.data.vit_patch

    def vit(self):
        if self._vit is None:
            from jaxmot.seg.vit_features import FrozenViTFeatures

            data = self.exp.data
            self._vit = FrozenViTFeatures(data.vit_patch, data.vit_checkpoint, seed=data.seed)
            print(f"features: {self._vit.description}")
        return self._vit

    @property
    def description(self) -> str:
        if self.exp.model.kind == "joint":
            return f"joint upsampler input: patch {self.exp.data.joint_input} of the mask"
        if self.exp.data.features == "files":
            return "features: embedding files"
        return f"features: {self.vit().description}"

    def __call__(self, samples) -> SegArrays:
        exp, p = self.exp, self.patch
        images = [s.image for s in samples]
        masks = [s.mask for s in samples]
        names = [s.name for s in samples]
        if exp.model.kind == "joint":
            mode = "area" if exp.data.joint_input == "mask_area" else "max"
            lows = [patch_pool(m, p, mode)[..., None] for m in masks]
        elif exp.data.features == "files":
            lows = [s.embedding for s in samples]
            missing = [s.name for s in samples if s.embedding is None]
            if missing:
                raise ValueError(f"no embedding file for {missing[0]} (features=files)")
        else:
            # one size per set (stack_arrays below names an odd image out)
            shapes = {im.shape for im in images}
            if len(shapes) > 1:
                raise ValueError(f"ViT features need images of one size, got {sorted(shapes)}")
            lows = list(self.vit()(np.stack(images), progress=self.progress))
        return stack_arrays(images, masks, lows, names, p)


def check_experiment(exp: SegExperiment) -> None:
    m, d = exp.model, exp.data
    if m.kind != "pac":
        return
    feature_patch = OBJ_SEG_PATCH if d.features == "files" else d.vit_patch
    if m.patch_size != feature_patch:
        raise ValueError(
            f"model.patch_size {m.patch_size} must equal the features' patch size "
            f"{feature_patch} (the PAC stages upsample the patch grid to the image)"
        )


def evaluation_sets(exp: SegExperiment, lows: LowInputs, val: SegArrays) -> dict[str, SegArrays]:
    sets = {f"{exp.data.dataset}_val": val}
    davis = exp.data.eval_davis
    if davis:
        if not pathlib.Path(davis).is_dir():
            print(f"data.eval_davis {davis} not found: skipping the DAVIS evaluation")
        else:
            folder = pathlib.Path(davis) / "JPEGImages" / "480p"
            sequences = sorted(p.name for p in folder.iterdir() if p.is_dir())
            samples = load_davis(davis, sequences=sequences, every=5)
            sets["davis"] = lows(samples)
    return sets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="synthetic_joint", choices=sorted(PRESETS))
    add_config_args(parser)
    parser.add_argument("--export", type=pathlib.Path, help="export the model to this folder")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    exp = apply_args(get_config(args.config), args, steps_key="train.steps")
    check_experiment(exp)
    workdir = pathlib.Path(args.workdir)
    progress = not args.no_progress

    lows = LowInputs(exp, progress)
    train_arrays = lows(load_samples(exp.data, "train"))
    val_arrays = lows(load_samples(exp.data, "val"))
    if exp.data.epochs is not None:
        steps = math.ceil(exp.data.epochs * len(train_arrays) / exp.train.batch_size)
        exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, steps=steps))
    print(f"{exp.model.kind}: {len(train_arrays)} training images "
          f"{train_arrays.masks.shape[1:]}, {len(val_arrays)} held out; {lows.description}; "
          f"{exp.train.steps} steps of {exp.train.batch_size}; "
          f"{jax.device_count()} {jax.default_backend()} device(s)")  # fmt: skip
    batches = SegBatches(train_arrays, exp.train.batch_size, crop=exp.data.crop, seed=exp.data.seed)
    task = SegTask(exp.model, batches)
    result = train(task, exp.train, workdir, progress=progress)

    evaluation = {"inputs": lows.description}
    for name, arrays in evaluation_sets(exp, lows, val_arrays).items():
        scores = evaluate_segmenter(result.model, exp.model.kind, arrays)
        evaluation[name] = {"images": len(arrays), **scores}
        print(format_scores(scores, f"{name} ({len(arrays)} images; dataset-level IoU)"))
    atomic_write_json(workdir / "eval.json", evaluation)
    if args.export:
        command = command_line("pipelines.train_seg", argv)
        export_segmenter(result.model, args.export, step=result.step, evaluation=evaluation,
                         experiment=dataclasses.asdict(exp), command=command)  # fmt: skip
        print(f"exported -> {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
