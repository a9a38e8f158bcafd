"""Image encoders: CLIP image tower (``clip``) and ViT (``vit``). Input: one RGB
``PIL.Image.Image`` per item (see :func:`sensorec.media.load_image`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from sensorec.features.base import ENCODERS
from sensorec.features.encoders._pretrained import (
    PretrainedEncoder,
    PretrainedEncoderConfig,
    batches,
    config_int,
    eval_on_device,
    l2_normalize,
    load_pretrained,
)

logger = logging.getLogger("sensorec.features")


def _check_images(batch: Sequence[Any]) -> list[Image.Image]:
    images = []
    for k, img in enumerate(batch):
        if not isinstance(img, Image.Image):
            raise TypeError(
                f"image encoder input {k} is a {type(img).__name__}, expected PIL.Image.Image"
            )
        images.append(img if img.mode == "RGB" else img.convert("RGB"))
    return images


def load_image_processor(model: str, revision: str | None, kind: str, image_size: int) -> Any:
    """The model's saved image processor; without one (a bare ``save_pretrained`` of the
    model), the family's Pillow processor at the model's input size with its default
    normalisation, and a warning."""
    from transformers import AutoImageProcessor

    try:
        return load_pretrained(
            AutoImageProcessor.from_pretrained, model, revision, "image processor"
        )
    except Exception as exc:
        import transformers

        if kind == "clip":
            cls = (
                getattr(transformers, "CLIPImageProcessorPil", None)
                or transformers.CLIPImageProcessor
            )
            proc = cls(
                size={"shortest_edge": image_size},
                crop_size={"height": image_size, "width": image_size},
            )
        else:
            cls = (
                getattr(transformers, "ViTImageProcessorPil", None)
                or transformers.ViTImageProcessor
            )
            proc = cls(size={"height": image_size, "width": image_size})
        logger.warning(
            "%s: no image processor found (%s); using %s at %d px with default normalisation",
            model,
            exc.__cause__ or exc,
            cls.__name__,
            image_size,
        )
        return proc


class ClipImageConfig(PretrainedEncoderConfig):
    """CLIP image tower: the projected image embedding (``projection_dim``, 512 for
    ViT-B/32), comparable with ``clip-text`` features of the same model."""

    model: str = "openai/clip-vit-base-patch32"
    normalize: bool = False


@ENCODERS.register("clip")
class ClipImageEncoder(PretrainedEncoder[ClipImageConfig]):
    """``CLIPModel.get_image_features`` -> ``[B, projection_dim]``."""

    name = "clip"
    modality = "image"
    config_class = ClipImageConfig

    def __init__(self, config: ClipImageConfig) -> None:
        super().__init__(config)
        from transformers import CLIPModel

        self.model = load_pretrained(
            CLIPModel.from_pretrained, config.model, config.revision, "CLIP model"
        )
        eval_on_device(self.model, self.device)
        self.processor = load_image_processor(
            config.model,
            config.revision,
            "clip",
            config_int(self.model.config, "vision_config", "image_size"),
        )
        self._dim = config_int(self.model.config, "projection_dim")

    @property
    def dim(self) -> int:
        return self._dim

    def embed_images(self, images: Sequence[Image.Image], normalize: bool) -> torch.Tensor:
        """Embed RGB images in chunks of ``batch_size``; float32 ``[N, projection_dim]`` on CPU."""
        outs = [torch.zeros(0, self.dim)]
        with torch.inference_mode():
            for chunk in batches(list(images), self.config.batch_size):
                pixels = self.processor(images=list(chunk), return_tensors="pt")["pixel_values"]
                out = self.model.get_image_features(pixel_values=pixels.to(self.device))
                emb = out if isinstance(out, torch.Tensor) else out.pooler_output  # [b, P]
                if normalize:
                    emb = l2_normalize(emb)
                outs.append(emb.float().cpu())
        return torch.cat(outs)

    def encode(self, batch: Sequence[Image.Image]) -> np.ndarray:
        """``B`` RGB images -> float32 ``[B, projection_dim]``."""
        return self.embed_images(_check_images(batch), self.config.normalize).numpy()


class ViTImageConfig(PretrainedEncoderConfig):
    """ViT: ``pooling="cls"`` takes the CLS token of the last hidden state, ``"mean"``
    averages the patch tokens. Output ``[B, hidden_size]`` (768 for ViT-B)."""

    model: str = "google/vit-base-patch16-224"
    pooling: Literal["cls", "mean"] = "cls"
    normalize: bool = False


@ENCODERS.register("vit")
class ViTImageEncoder(PretrainedEncoder[ViTImageConfig]):
    """``ViTModel`` last hidden state, CLS token (or mean of patches) -> ``[B, hidden]``."""

    name = "vit"
    modality = "image"
    config_class = ViTImageConfig

    def __init__(self, config: ViTImageConfig) -> None:
        super().__init__(config)
        from transformers import ViTModel

        self.model = load_pretrained(
            ViTModel.from_pretrained, config.model, config.revision, "ViT model"
        )
        eval_on_device(self.model, self.device)
        self.processor = load_image_processor(
            config.model, config.revision, "vit", config_int(self.model.config, "image_size")
        )
        self._dim = config_int(self.model.config, "hidden_size")

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, batch: Sequence[Image.Image]) -> np.ndarray:
        """``B`` RGB images -> float32 ``[B, hidden]``."""
        images = _check_images(batch)
        outs = [np.zeros((0, self.dim), np.float32)]
        with torch.inference_mode():
            for chunk in batches(images, self.config.batch_size):
                pixels = self.processor(images=list(chunk), return_tensors="pt")["pixel_values"]
                hidden = self.model(
                    pixel_values=pixels.to(self.device)
                ).last_hidden_state  # [b, 1+P, H]
                pooled = hidden[:, 0] if self.config.pooling == "cls" else hidden[:, 1:].mean(1)
                if self.config.normalize:
                    pooled = l2_normalize(pooled)
                outs.append(pooled.float().cpu().numpy())
        return np.concatenate(outs).astype(np.float32, copy=False)
