from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from sensorec.media import MediaError, image_quality, laplacian_variance, load_image
from sensorec.testing.media import (
    make_image,
    write_empty,
    write_garbage,
    write_image,
    write_truncated,
)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_load_image_formats(tmp_path, suffix):
    path = write_image(tmp_path / f"a{suffix}", size=(40, 30), color=(200, 30, 30))
    img = load_image(path)
    assert img.mode == "RGB" and img.size == (40, 30)
    pixel = np.asarray(img)[15, 20].astype(int)
    assert np.abs(pixel - [200, 30, 30]).max() <= 12  # lossy formats move colours a little


def test_load_image_converts_grey_and_alpha(tmp_path):
    Image.new("L", (8, 8), 77).save(tmp_path / "grey.png")
    assert np.asarray(load_image(tmp_path / "grey.png"))[0, 0].tolist() == [77, 77, 77]
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent black
    rgba.save(tmp_path / "alpha.png")
    arr = np.asarray(load_image(tmp_path / "alpha.png"))
    assert arr[0, 0].tolist() == [255, 255, 255]  # composited on white, not black
    assert arr[1, 1].tolist() == [255, 0, 0]


def test_load_image_errors(tmp_path):
    with pytest.raises(MediaError) as err:
        load_image(tmp_path / "nope.png")
    assert err.value.reason == "missing" and err.value.path.endswith("nope.png")
    with pytest.raises(MediaError) as err:
        load_image(write_garbage(tmp_path / "garbage.png"))
    assert err.value.reason == "corrupt"
    good = write_image(tmp_path / "good.png", size=(64, 64), pattern="noise")
    with pytest.raises(MediaError) as err:
        load_image(write_truncated(good, tmp_path / "truncated.png", keep=0.5))
    assert err.value.reason == "corrupt"
    with pytest.raises(MediaError) as err:
        load_image(write_empty(tmp_path / "empty.jpg"))
    assert err.value.reason == "empty"


def test_media_error_fields_and_pickling():
    err = MediaError("/x/y.png", "corrupt", "bad bytes")
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.reason, again.detail) == ("/x/y.png", "corrupt", "bad bytes")
    assert "/x/y.png" in str(err) and "corrupt" in str(err)
    with pytest.raises(ValueError, match="unknown media error reason"):
        MediaError("/x", "broken")


def test_image_quality_orders_sharpness_and_resolution():
    sharp_big = make_image(size=(256, 256), pattern="checker")
    sharp_small = make_image(size=(32, 32), pattern="checker")
    smooth = make_image(size=(256, 256), pattern="gradient")
    flat = make_image(size=(256, 256), pattern="solid")
    scores = [image_quality(im) for im in (sharp_big, sharp_small, smooth, flat)]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] > 0.9
    assert scores[0] > scores[1] > 0  # same sharpness, lower resolution
    assert scores[0] > scores[2]  # a smooth gradient is "blurry"
    assert scores[3] == 0.0  # no detail at all
    assert laplacian_variance(flat) == 0.0
