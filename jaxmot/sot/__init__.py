"""Single-object tracking with E.T.Track (Exemplar Transformers, Blatter et al., WACV
2023; docs/sot.md).

  exemplar         the E.T. layer as a pure function of a params pytree
  exemplar_layer   the E.T. layer as an NNX module
  depthwise        depth-wise convolution as shifted slices, hand-written VJP
  depthwise_conv   its NNX module
  correlation      pixel-wise correlation of Siamese trackers
  geometry         crops, score grid, box decoding, target selection (official rules)
  loss             LightTrack's training targets and loss
  lighttrack       LightTrack-Mobile backbone
  model            ETTrack and ETTrackConfig (paper size and narrow)
  convert          official checkpoints (pblatter/ettrack) -> ETTrack
  checkpoint       export / load with tracker settings (shipped: sot_ettrack_narrow)
  tracker          SOTTracker: batched, sharded online tracking
  opencv_baseline  OpenCV's MIL tracker
  run              trackers by name over a video, box files out
  datasets         GOT-10k, LaSOT, TrackingNet, DAVIS, COCO, MOT sources
  sequences        evaluation sequences: frames, DAVIS masks as boxes
  synthetic        generated moving-object videos
  pairs            template/search training pairs
  metrics          success AUC, precision, normalised precision, GOT-10k AO / SR
  results_io       box files, pairing, tables
  plots            success and precision plots
  benchmark        running trackers over evaluation sequences and scoring them
  trainer          the task and protocol of `pipelines.train_sot`
  configs          experiment presets
  demo             `python -m pipelines.demo sot`
  bench            `python -m pipelines.bench sot`
  annotations/     hand-made sparse ground truth of the tennis sequence
"""
