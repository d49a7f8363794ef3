"""What every jaxmot system shares, and nothing system-specific.

Imports no system package (jaxmot.mot, reid, gnn, jde, sot, seg); a program that picks
a tracker or extractor by name goes through `registry`.

  boxes          box formats (xywh, xyxy, cxcywh, xyah) and IoU, NumPy or JAX
  kalman         the batched constant-velocity Kalman filter (DeepSORT / JDE), pure
  small_linalg   unrolled Cholesky and triangular solves for tiny matrices
  assignment     thresholded linear assignment, host (SciPy) and device (jit/vmap)
  padding        bucket sizes: variable counts become a few static shapes
  lifecycle      the track lifecycle every online tracker shares
  kalman_bank    Kalman states of all live tracks on the device, by slot
  tracker        FrameDetections / FrameTracks and the OnlineTracker base class
  sequence       run an online tracker over a sequence (track_sequence, track_frames)
  mot_io         MOTChallenge files: sequences, detections, ground truth, results
  features       precomputed appearance features of a sequence's detections
  extractor      the FeatureExtractor interface and embedding a sequence's detections
  images         the one image reader: reading, writing, resizing, normalising
  davis          the DAVIS folder layout (frames and masks)
  atomic         atomic file and JSON writes
  synthetic      deterministic synthetic pedestrian scenes in the MOTChallenge layout
  draw           drawing tracks on frames and writing videos
  eval/          CLEAR-MOT, identity and HOTA metrics, reports, the pooled-IDF1 sweep
  nn             shared Flax NNX building blocks for networks ported from PyTorch
  torch_io       reading official PyTorch checkpoints (the part every converter shares)
  params         parameter counting
  jit            jitted NNX calls without per-call Python overhead
  compiles       counting XLA compilations
  runtime        process-wide JAX settings (synchronous CPU dispatch, CPU devices)
  timing         benchmark timing (first call apart)
  bench_report   benchmark tables, machine description and JSON records
  tracker_bench  per-frame cost of an online tracker on synthetic streams
  paths          where shipped checkpoints and datasets ($JAXMOT_DATA) are found
  registry       make_tracker / make_extractor by name, resolved lazily
"""
