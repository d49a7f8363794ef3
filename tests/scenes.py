"""Scene configs shared by tests (importable: pytest puts tests/ on sys.path)."""

from jaxmot.core import synthetic as syn

# Small and fast: a quarter-VGA scene with people scaled to fit.
SMALL_SCENE = syn.SceneConfig(
    width=320,
    height=240,
    num_frames=24,
    num_objects=8,
    height_range=(40.0, 100.0),
    speed_range=(1.5, 3.0),
    seed=3,
)

# Tiny: a few frames of three people, for tests that train or run a detector on pixels.
_TINY_SIZE = dict(width=160, height=128, num_frames=6, num_objects=3)
TINY_SCENE = syn.SceneConfig(**_TINY_SIZE, height_range=(40.0, 70.0), speed_range=(1.0, 2.0))
