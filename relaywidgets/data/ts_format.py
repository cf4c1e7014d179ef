"""A reader for the ``.ts`` text format of the UCR/UEA archives (classification files without timestamps).

Format: ``#`` comment lines, ``@key value`` header lines, then after ``@data`` one case per line, its
channels separated by ``:``, the values of a channel by ``,``, and the class label as the last field;
``?`` marks a missing value. aeon ships its own reader, but that one lower-cases every label
("Standing" becomes "standing") and importing ``aeon.datasets`` costs seconds (it pulls in scikit-learn);
this reader keeps labels as written and needs nothing beyond numpy.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import InputError

__all__ = ["read_ts"]


def _flag(header: dict[str, str], key: str) -> bool:
    words = header.get(key, "false").split()
    return bool(words) and words[0].lower() == "true"  # "@classLabel" with no value is not "true"


def read_ts(path: str) -> tuple[list[np.ndarray], list[str], dict[str, str]]:
    """Read a ``.ts`` classification file.

    Parameters
    ----------
    path : str
        Path of the file.

    Returns
    -------
    series : list of ndarray of float64, each of shape (time_i, channel)
        One array per case; ``?`` entries become NaN.
    labels : list of str
        The class label of each case, exactly as written in the file.
    header : dict of str to str
        The ``@key value`` lines, keys lower-cased (e.g. ``"problemname"``, ``"classlabel"``).

    Raises
    ------
    InputError
        When the file is not a classification ``.ts`` file this reader understands.
    """
    header: dict[str, str] = {}
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    n_channels = None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:  # missing, a directory, no permission: the reader's error, naming the path
        raise InputError(f"Could not read the .ts file {str(path)!r} ({exc.strerror or exc}).") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}:{line}: the file is not UTF-8 text (byte {data[exc.start]:#04x}); a .ts file is text. "
            "It may be damaged: replace it with the original."
        ) from None
    # universal newlines, as a file opened in text mode reads them
    with io.StringIO(text, newline=None) as file:
        for number, raw in enumerate(file, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise InputError(f"{path}:{number}: expected a '@' header line before '@data'; got {line[:40]!r}.")
                key, _, value = line[1:].partition(" ")
                key = key.lower()
                if key == "data":
                    if _flag(header, "timestamps"):
                        raise InputError(f"{path}: files with timestamps are not supported.")
                    if not _flag(header, "classlabel"):
                        raise InputError(f"{path} is not a classification file (@classLabel is not true).")
                    in_data = True
                else:
                    header.setdefault(key, value.strip())
                continue
            *channels, label = line.split(":")
            if not channels:
                raise InputError(f"{path}:{number}: a case needs at least one channel before its label.")
            if n_channels is None:
                n_channels = len(channels)
            elif len(channels) != n_channels:
                raise InputError(f"{path}:{number}: {len(channels)} channels, but earlier cases have {n_channels}.")
            try:
                values = [np.array(c.replace("?", "nan").split(","), dtype=np.float64) for c in channels]
            except ValueError as err:
                raise InputError(f"{path}:{number}: a value is not a number ({err}).") from None
            if len({v.size for v in values}) != 1:
                raise InputError(f"{path}:{number}: the channels of a case differ in length.")
            series.append(np.stack(values, axis=1))
            labels.append(label.strip())
    if not series:
        raise InputError(f"{path} holds no cases (no lines after '@data').")
    return series, labels, header
