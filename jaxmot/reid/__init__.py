"""Person re-identification: the learned appearance model of the trackers (docs/reid.md).

ResNet + BN neck ("Bag of tricks", Luo et al. 2019), identity cross-entropy + batch-hard
triplet on P x K batches, rank-k / mAP with the Market-1501 protocol.

  resnet            ResNet-18/34/50 in Flax NNX, torchvision's layout
  resnet_convert    torchvision weights -> ResNet (ImageNet initialisation)
  model             ReIDModel and ReIDModelConfig
  metric_learning   triplet and label-smoothed cross-entropy losses
  metrics           CMC rank-k and mAP (Market-1501 protocol)
  evaluation        scoring a model and baselines on query/gallery splits
  extractor         ReIDExtractor: detection crops -> embeddings, padded jitted batches
  checkpoint        export / load (the shipped default: reid_synthetic_r18w16)
  configs           experiment presets
  trainer           the task and protocol of `pipelines.train_reid`
  bench             `python -m pipelines.bench reid`
  data/             Market-1501, MOTChallenge crops, synthetic crops, sampling, TFDS
"""
