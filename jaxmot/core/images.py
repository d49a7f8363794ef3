"""Reading, writing, resizing and normalising images: the one image reader of jaxmot.

cv2 reads BGR; everything outside this file is RGB [H, W, 3] uint8. Masks read as bool
[H, W]. ImageNet normalisation uses torchvision's mean and std (the statistics the
torchvision ResNets and DINO ViTs were trained with).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jaxmot.core.atomic import atomic_open


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[h, w, 3] uint8 -> [H, W, 3] uint8 with size = (H, W), bilinear (cv2 INTER_LINEAR)."""
    import cv2  # lazy: cv2 is slow to import, only pixels need it

    height, width = size
    if image.shape[:2] == (height, width):
        return np.ascontiguousarray(image)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # RGB, torchvision's values
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


class ImageReadError(FileNotFoundError, ValueError):
    """An image or mask file that is missing, empty or not an image (the message names it)."""


def _imread(path: str | os.PathLike, flags: int, what: str) -> np.ndarray:
    import cv2  # lazy: cv2 is slow to import, only pixels need it

    image = cv2.imread(str(path), flags)
    if image is None:
        raise ImageReadError(f"{path}: cannot read the {what} (missing, empty or not an image)")
    return image


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file -> [H, W, 3] uint8 RGB; ImageReadError naming the file if unreadable."""
    import cv2

    return cv2.cvtColor(_imread(path, cv2.IMREAD_COLOR, "image"), cv2.COLOR_BGR2RGB)


def read_grey(path: str | os.PathLike) -> np.ndarray:
    """An image file -> [H, W] uint8 grey."""
    import cv2

    return _imread(path, cv2.IMREAD_GRAYSCALE, "image")


def read_binary_mask(path: str | os.PathLike) -> np.ndarray:
    """A 0/255 or 0/1 PNG -> bool [H, W]; any other value raises, naming the file."""
    import cv2

    mask = _imread(path, cv2.IMREAD_GRAYSCALE, "mask")
    values = np.unique(mask)
    if values.max(initial=0) <= 1:
        return mask == 1
    if np.all(np.isin(values, (0, 255))):
        return mask > 127
    bad = values[~np.isin(values, (0, 1, 255))][:5].tolist()
    raise ValueError(
        f"{path}: mask is not binary: values {bad or values[:5].tolist()} "
        "(expected 0 and 255, or 0 and 1)"
    )


def read_label_mask(path: str | os.PathLike) -> np.ndarray:
    """A DAVIS annotation (0/255, or palette / colour object indices) -> bool: any non-zero."""
    import cv2

    mask = _imread(path, cv2.IMREAD_UNCHANGED, "mask")
    if mask.ndim == 3:
        mask = mask[..., :3].any(axis=-1)  # colour labels; ignore an alpha channel
    return mask != 0


def imagenet_normalize(images):
    """uint8 [..., H, W, 3] RGB (NumPy or JAX) -> float32 scaled to [0, 1], ImageNet-normalised."""
    import jax.numpy as jnp

    x = jnp.asarray(images).astype(jnp.float32) / 255.0
    return (x - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)


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


CHANNEL_ORDERS = ("rgb", "bgr")


def as_rgb(frame: np.ndarray, channel_order: str = "rgb") -> np.ndarray:
    """A frame from the outside as jaxmot's [H, W, 3] uint8 RGB: the one place where
    OpenCV's BGR (`cv2.imread`, `cv2.VideoCapture`) is converted; anything else raises."""
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be [H, W, 3] uint8, got {frame.shape} {frame.dtype}")
    return np.ascontiguousarray(frame[..., ::-1]) if channel_order == "bgr" else frame


__all__ = [
    "CHANNEL_ORDERS",
    "as_rgb",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageReadError",
    "decode_rgb",
    "encode_rgb",
    "imagenet_normalize",
    "load_resized",
    "read_binary_mask",
    "read_grey",
    "read_label_mask",
    "read_rgb",
    "resize",
    "write_rgb",
]
