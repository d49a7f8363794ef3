"""Person re-identification data: sources, one in-memory form, P x K training batches.

split          ReIDSplit / ReIDDataset, identity and time split rules
market         Market-1501 folders (read, and write small ones)
mot_crops      crops from MOTChallenge gt; Market-named crop folders
synthetic_crops  crops from the synthetic scenes (the embedded default)
crops          which gt boxes become crops (shared by the two above)
sampler        PKSampler, ReIDBatches, prefetch
transforms     normalize / denormalize (ImageNet), bag-of-tricks augmentation
tfds_builders  TFDS array_record builders (optional dependency; import it directly)
"""

from jaxmot.data.reid.market import MarketFormatError, read_market, write_market_folder
from jaxmot.data.reid.mot_crops import (
    find_sequences,
    load_crops_folder,
    mot_reid_dataset,
    query_gallery_split,
)
from jaxmot.data.reid.sampler import PKSampler, ReIDBatches, prefetch
from jaxmot.data.reid.split import SPLITS, ReIDDataset, ReIDSplit
from jaxmot.data.reid.synthetic_crops import synthetic_reid_dataset
from jaxmot.data.reid.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentConfig,
    augment,
    denormalize,
    normalize,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SPLITS",
    "AugmentConfig",
    "MarketFormatError",
    "PKSampler",
    "ReIDBatches",
    "ReIDDataset",
    "ReIDSplit",
    "augment",
    "denormalize",
    "find_sequences",
    "load_crops_folder",
    "mot_reid_dataset",
    "normalize",
    "prefetch",
    "query_gallery_split",
    "read_market",
    "synthetic_reid_dataset",
    "write_market_folder",
]
