"""Reading images (Pillow) and a simple, documented image quality score."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sensorec.media.errors import MediaError, check_file

#: Shorter side (pixels) at which the resolution term of :func:`image_quality` reaches 1;
#: 224 is the input side of most image encoders (CLIP, ViT).
QUALITY_REFERENCE_SIDE = 224
#: Variance of the Laplacian (grey levels 0..255) at which the sharpness term is 0.5.
QUALITY_BLUR_SCALE = 100.0
#: Images are shrunk to fit this box before the blur measure, so it costs the same for all.
QUALITY_MAX_SIDE = 512


def load_image(path: str | Path) -> Image.Image:
    """Read an image file as an RGB ``PIL.Image.Image`` (fully loaded, file closed).

    The file is checked with ``Image.verify`` and then decoded completely, so a truncated
    file fails here rather than later inside an encoder. EXIF orientation is applied.
    Images with transparency are composited on a white background.

    Raises:
        MediaError: ``missing`` (no file), ``empty`` (zero bytes), ``corrupt`` (not a
            decodable image), ``unsupported`` (Pillow refuses it as a decompression bomb).
    """
    p = check_file(path)
    try:
        with Image.open(p) as probe:
            probe.verify()
        with Image.open(p) as img:
            img.load()
            return _to_rgb(ImageOps.exif_transpose(img))
    except Image.DecompressionBombError as exc:
        raise MediaError(p, "unsupported", str(exc)) from None
    except UnidentifiedImageError:
        raise MediaError(p, "corrupt", "not a readable image format") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated / damaged data as OSError or SyntaxError
        raise MediaError(p, "corrupt", str(exc) or type(exc).__name__) from None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img.copy()
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def laplacian_variance(img: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian of the grey image (levels 0..255).

    The image is first shrunk (never enlarged) to fit ``QUALITY_MAX_SIDE``; a sharp photo
    scores in the hundreds or more, a blurred or flat one near 0.
    """
    grey = img.convert("L")
    grey.thumbnail((QUALITY_MAX_SIDE, QUALITY_MAX_SIDE), Image.Resampling.BILINEAR)
    g = np.asarray(grey, dtype=np.float64)  # [H, W]
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = (
        g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    )  # [H-2, W-2]
    return float(lap.var())


def image_quality(img: Image.Image) -> float:
    """Quality score in ``[0, 1]`` from resolution and sharpness.

    ``resolution = min(1, min(W, H) / 224)``,
    ``sharpness = v / (v + 100)`` with ``v`` the :func:`laplacian_variance`,
    ``quality = sqrt(resolution * sharpness)`` (geometric mean).

    A flat (one-colour) or heavily blurred image scores near 0; a sharp image at least
    224 pixels on its shorter side scores near 1.
    """
    width, height = img.size
    if width == 0 or height == 0:
        return 0.0
    resolution = min(1.0, min(width, height) / QUALITY_REFERENCE_SIDE)
    v = laplacian_variance(img)
    sharpness = v / (v + QUALITY_BLUR_SCALE)
    return float(math.sqrt(resolution * sharpness))
