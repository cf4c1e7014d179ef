"""Data sets for training and analysing recurrent classifiers.

- :func:`load_dataset` / :func:`datasets`: real UCR/UEA time-series classification sets bundled with the
  optional dependency aeon (``pip install "relaywidgets[datasets]"``), with their published train/test
  splits; nothing is downloaded.
- :func:`from_arrays`: your own arrays, validated and split (stratified, seeded).

Both return a :class:`TimeSeriesDataset`: float32 ``X`` of shape ``(sample, time, feature)``, zero-padded
after each sequence's ``lengths`` (int64), int64 labels ``0 .. C-1``, and the original ``class_names``;
features are z-normalised with statistics fitted on the training split only.
"""

from __future__ import annotations

from .arrays import from_arrays
from .dataset import DatasetInfo, TimeSeriesDataset
from .uea_ucr import bundled_data_dir, datasets, load_dataset

__all__ = ["TimeSeriesDataset", "DatasetInfo", "load_dataset", "datasets", "from_arrays", "bundled_data_dir"]
