"""Object segmentation from ViT features with pixel-adaptive convolution (docs/seg.md).

DINO ViT patch features (Caron et al. 2021) segmented by a linear probe or upsampled by
PAC (Su et al., CVPR 2019) guided by the image; a PAC joint upsampler for any
low-resolution map.

  pac            pac_conv2d / pac_conv_transpose2d without the unfold, pure
  pac_layers     PacConv2d / PacConvTranspose2d (NNX)
  vit            DINO ViT-S/16 and ViT-S/8
  dino_convert   official DINO checkpoints -> VisionTransformer
  vit_features   frozen ViT patch features, computed once per image
  model          the linear probe, the PAC upsampler, the PAC joint upsampler, the
                 pacnet head
  joint_upsample pacnet's joint upsampling network PacJointUpsample, its checkpoints
  data           obj_seg folders, DAVIS, generated images
  synthetic      generated segmentation images
  inputs         an experiment's images, masks and low-resolution inputs
  batches        training batches
  metrics        foreground IoU and mean IoU over foreground and background
  evaluate       evaluation against bilinear and nearest upsampling
  segment        segmenting image files with an export (`pipelines.segment`)
  trainer        the task and protocol of `pipelines.train_seg`
  checkpoint     export / load (shipped: seg_joint_synthetic)
  configs        experiment presets
  bench          `python -m pipelines.bench pac`

Public API, imported on first use (importing the package stays free):

  load_pacnet_joint_upsampler(path, factor)   pacnet's released joint-upsampling weights
                                              -> PacJointUpsample, called as
                                              model(target_low, image 0-255)
  PacJointUpsample, PacJointConfig            the network and its settings
"""

_PUBLIC = ("PacJointConfig", "PacJointUpsample", "load_pacnet_joint_upsampler")


def __getattr__(name: str):
    # Imported on first use, so `import jaxmot.seg` loads nothing (tests/core/test_layout.py).
    if name not in _PUBLIC:
        raise AttributeError(f"module 'jaxmot.seg' has no attribute {name!r}")
    from jaxmot.seg import joint_upsample

    return getattr(joint_upsample, name)


__all__ = list(_PUBLIC)
