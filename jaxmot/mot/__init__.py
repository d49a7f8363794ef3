"""Online multi-object trackers on the shared core (docs/mot.md).

`iou` (Kalman + IoU Hungarian, ByteTrack's stages with thresholds that follow the
detector's scores), `sort` (SORT's settings), `bytetrack` (ByteTrack with its own
defaults), `ocsort` (OC-SORT), `botsort` (BoT-SORT: xywh Kalman, camera-motion
compensation, optional appearance), `reid` and `longterm`
(ReIDHungarian and LongTermReID: appearance cost gated by IoU or the Kalman gate), and
`oracle` (perfect association, the ceiling of any association model). Build them by name
with jaxmot.core.registry.make_tracker.

  iou_tracker      IoUTracker, IoUTrackerConfig, sort_config
  costs            IoU and buffered-IoU (C-BIoU) costs per Kalman state, ByteTrack's score fusion
  bytetrack        ByteTracker, ByteTrackConfig; byte_associate, associate_in_stages
                   (ByteTrack's 3 stages)
  ocsort           OCSortTracker, OCSortConfig
  botsort          BoTSortTracker, BoTSortConfig
  cmc              CameraMotion: camera-motion compensation (sparse optical flow, ECC)
  reid_tracker     ReIDTracker, reid_config, longterm_config
  oracle_tracker   perfect association inside the shared lifecycle
  histogram        ColorHistogramExtractor: training-free appearance embedding
  calibration      the appearance gate of reid/longterm per extractor
  bench            `python -m pipelines.bench tracker`
"""
