"""The images, masks and low-resolution inputs a segmentation experiment trains and
evaluates on.

`load_samples` reads the train or val split of the experiment's dataset (generated
scenes, obj_seg or DAVIS); `LowInputs` turns samples into `SegArrays` with the head's
low-resolution input: frozen ViT patch features (computed here or read from obj_seg's
embedding files) for the linear probe and the PAC upsampler, a pooled mask for the joint
upsamplers (`joint`, `pacnet`).
"""

from __future__ import annotations

import numpy as np

from jaxmot.seg.batches import SegArrays, stack_arrays
from jaxmot.seg.configs import SegDataConfig, SegExperiment
from jaxmot.seg.data import SegSample, load_davis, load_obj_seg, patch_pool, synthetic_split
from jaxmot.seg.model import JOINT_KINDS

OBJ_SEG_PATCH = 16  # obj_seg's embedding files hold ViT-S/16 patch features


def load_samples(data: SegDataConfig, split: str) -> list[SegSample]:
    """SegSamples of the train or val split of `data.dataset`."""
    if data.dataset == "synthetic":
        n = data.synthetic_train if split == "train" else data.synthetic_val
        seed = data.seed if split == "train" else data.seed + 1_000_003  # disjoint images
        return synthetic_split(n, seed=seed, size=tuple(data.synthetic_size))
    if data.data_dir is None:
        raise ValueError(f"dataset {data.dataset!r} needs --set data.data_dir=PATH")
    if data.dataset == "obj_seg":
        return load_obj_seg(
            data.data_dir,
            "train" if split == "train" else "test",
            categories=list(data.categories) or None,
            embeddings=data.features == "files",
        )
    sequences = data.train_sequences if split == "train" else data.val_sequences
    if not sequences:
        raise ValueError(f"davis needs data.{split}_sequences (a tuple of sequence names)")
    return load_davis(data.data_dir, sequences=list(sequences), every=data.every)


def check_experiment(exp: SegExperiment) -> None:
    """A ValueError when the PAC head's patch size differs from its features'."""
    m, d = exp.model, exp.data
    if m.kind != "pac":
        return
    feature_patch = OBJ_SEG_PATCH if d.features == "files" else d.vit_patch
    if m.patch_size != feature_patch:
        raise ValueError(
            f"model.patch_size {m.patch_size} must equal the features' patch size "
            f"{feature_patch} (the PAC stages upsample the patch grid to the image)"
        )


class LowInputs:
    """The low-resolution input of every sample for the experiment's head."""

    def __init__(self, exp: SegExperiment, progress: bool = True):
        self.exp = exp
        self.progress = progress
        self._vit = None

    @property
    def patch(self) -> int:
        if self.exp.model.kind in JOINT_KINDS:
            return self.exp.model.patch_size
        return OBJ_SEG_PATCH if self.exp.data.features == "files" else self.exp.data.vit_patch

    def vit(self):
        """The frozen ViT, built on first use (the joint head and embedding files need none)."""
        if self._vit is None:
            from jaxmot.seg.vit_features import FrozenViTFeatures

            data = self.exp.data
            self._vit = FrozenViTFeatures(data.vit_patch, data.vit_checkpoint, seed=data.seed)
            print(f"features: {self._vit.description}")
        return self._vit

    @property
    def description(self) -> str:
        if self.exp.model.kind in JOINT_KINDS:
            return f"joint upsampler input: patch {self.exp.data.joint_input} of the mask"
        if self.exp.data.features == "files":
            return "features: embedding files"
        return f"features: {self.vit().description}"

    def __call__(self, samples: list[SegSample]) -> SegArrays:
        exp, p = self.exp, self.patch
        images = [s.image for s in samples]
        masks = [s.mask for s in samples]
        names = [s.name for s in samples]
        if exp.model.kind in JOINT_KINDS:
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


__all__ = ["OBJ_SEG_PATCH", "LowInputs", "check_experiment", "load_samples"]
