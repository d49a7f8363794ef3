"""Evaluation of multi-object tracking results against ground truth.

preprocess   MOTChallenge preprocessing (distractor classes removed, as the devkit)
frames       per-frame pairing of ground truth and tracker output
clear_mot    CLEAR-MOT and identity metrics through py-motmetrics, our IoU distances
hota         HOTA, DetA, AssA, LocA through TrackEval
metrics      evaluate(): all of the above for a set of sequences, with OVERALL
pairs        finding and reading (ground truth, results) pairs on disk
report       tables and JSON of the metrics
scoring      what pipelines.evaluate and pipelines.evaluate_sot share
sweep        pick one tracker setting by pooled IDF1 over labelled sequences
"""
