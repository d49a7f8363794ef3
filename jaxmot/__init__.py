"""jaxmot: JAX/Flax visual tracking research library.

Layout:
  jaxmot.ops        pure array functions (boxes, Kalman, assignment), jit/vmap-able
  jaxmot.trackers   online trackers: a shared track lifecycle around jitted scorers
  jaxmot.appearance feature extractors (crops of a frame -> embeddings)
  jaxmot.data       MOTChallenge I/O, synthetic scenes
  jaxmot.eval       CLEAR-MOT, identity and HOTA metrics
"""

__version__ = "0.1.0"
