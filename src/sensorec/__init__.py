"""sensorec: multisensory recommendation.

Recommenders that see, read and hear the items (text, image, audio, video) instead of
treating them as opaque ids. The public API is re-exported from the sub-packages:

- :mod:`sensorec.data`: ``Dataset``, ``Vocabulary``, loaders, filtering and splitting
- :mod:`sensorec.evaluation`: metrics and full / sampled ranking evaluation
- :mod:`sensorec.models`: model configs, modules and wrappers, and the model registry
- :mod:`sensorec.training`: the one training loop
- :mod:`sensorec.experiments`: the runner (train, select on validation, test once)
- :mod:`sensorec.features`: encoders and the item-keyed feature store
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
