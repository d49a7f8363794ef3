"""Person re-identification data: every source produces a ReIDDataset (split.py).

split            ReIDSplit / ReIDDataset, identity and query/gallery split rules
market           Market-1501 folders (reading; writing small ones for tests)
crops            which ground-truth boxes become crops, and cutting them
mot_crops        crops from MOTChallenge sequences with gt; Market-named crop folders
synthetic_crops  crops cut from synthetic scenes: the embedded default
sampler          P x K identity batches as pure functions of (seed, step)
transforms       normalisation and training augmentation (flip, pad-crop, erasing)
tfds_builders    TensorFlow Datasets builders (array_record) for the same sets
"""
