"""Reading, resizing and encoding person crops (cv2; RGB everywhere outside this file)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jaxmot.data.atomic import atomic_open


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[h, w, 3] uint8 -> [H, W, 3] uint8 with size = (H, W), bilinear (cv2 INTER_LINEAR)."""
    import cv2  # lazy: cv2 is slow to import, only pixels need it

    height, width = size
    if image.shape[:2] == (height, width):
        return np.ascontiguousarray(image)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file as [H, W, 3] uint8 RGB; FileNotFoundError naming the file if unreadable."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def decode_rgb(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Encoded JPEG/PNG bytes -> [H, W, 3] uint8 RGB; ValueError naming `name` on failure."""
    import cv2

    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode image {name}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode_rgb(image: np.ndarray, ext: str = ".jpg", quality: int = 95) -> bytes:
    """[H, W, 3] uint8 RGB -> encoded bytes (".jpg" at `quality`, or lossless ".png")."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext == ".jpg" else []
    ok, buf = cv2.imencode(ext, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError(f"cv2 could not encode a {image.shape} image as {ext}")
    return buf.tobytes()


def write_rgb(path: str | os.PathLike, image: np.ndarray, quality: int = 95) -> None:
    """Write [H, W, 3] uint8 RGB to `path` (format from its suffix), atomically."""
    data = encode_rgb(image, pathlib.Path(path).suffix.lower(), quality)
    with atomic_open(path, "wb") as f:
        f.write(data)


def load_resized(
    paths: Sequence[str | os.PathLike], size: tuple[int, int], workers: int = 8
) -> np.ndarray:
    """Read and resize image files -> [N, H, W, 3] uint8 RGB, in the order of `paths`.

    Threads overlap the decoding, which cv2 does with the GIL released.
    """
    out = np.empty((len(paths), *size, 3), np.uint8)

    def load(i: int) -> None:
        out[i] = resize(read_rgb(paths[i]), size)

    if len(paths) < 64 or workers <= 1:
        for i in range(len(paths)):
            load(i)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(load, range(len(paths))))  # list(): re-raises a worker's error
    return out


__all__ = ["decode_rgb", "encode_rgb", "load_resized", "read_rgb", "resize", "write_rgb"]
