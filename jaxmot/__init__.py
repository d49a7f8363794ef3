"""jaxmot: a JAX/Flax library for visual tracking research.

Layout (one package per system on a shared core; README.md and docs/ say more):

  jaxmot.core    what every system shares: box geometry, Kalman filter, assignment,
                 padding, the track lifecycle and OnlineTracker, MOTChallenge I/O, images,
                 features, CLEAR-MOT / identity / HOTA evaluation (core.eval), the
                 synthetic scene generator, drawing, NN helpers, the name registry
  jaxmot.train   the generic training stack: config, overrides, mesh, step, loop,
                 checkpoints, metrics log, EMA, export
  jaxmot.mot     online trackers: iou, sort, reid, longterm, oracle; colour histograms
  jaxmot.reid    person re-identification: ResNet + BN neck, data, trainer, extractor
  jaxmot.gnn     GNN association: message passing, model, data, trainer, tracker
  jaxmot.jde     JDE: joint detection and embedding, converter, detector, tracker
  jaxmot.sot     E.T.Track single-object tracking: model, converter, tracker, training
  jaxmot.seg     object segmentation: PAC, DINO ViT, probe and PAC upsamplers

A system package imports only jaxmot.core and jaxmot.train, never another system
(tests/core/test_layout.py). The command-line programs live in `pipelines/`
(`python -m pipelines.<name>`); `jaxmot <name>` and `python -m jaxmot <name>` run the
same program (jaxmot.cli, jaxmot.__main__).
"""

__version__ = "0.1.0"
