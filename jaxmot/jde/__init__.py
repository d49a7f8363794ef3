"""JDE: joint detection and embedding (Wang et al., "Towards Real-Time Multi-Object
Tracking"; docs/jde.md).

  ops              anchors, box deltas, targets, losses with uncertainty weights, jit NMS
  model            JDE (Darknet-53 + FPN) built from the official cfg's layer list
  convert          official checkpoints (Towards-Realtime-MOT) -> JDE
  detector         JDEDetector: frame -> detections with embeddings, one jitted call
  tracker          the JDE tracker on the shared lifecycle
  sources          label files, list files, MOTChallenge and generated image sources
  augment          JDE's training augmentation (HSV, letterbox, affine, flip)
  data             training batches with padded boxes and ids
  detection_eval   detection AP and embedding TPR@FAR as JDE's test.py
  benchmark        evaluation on held-out generated scenes
  trainer          the task and protocol of `pipelines.train_jde`
  checkpoint       export / load with detector and tracker settings
  configs          experiment presets
  demo             `python -m pipelines.demo jde`
  bench            `python -m pipelines.bench jde`
"""
