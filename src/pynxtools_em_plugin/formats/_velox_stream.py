"""Velox EDS spectrum images decoded from their event stream block by block, on demand.

Velox stores an EDS spectrum image as a stream of 16-bit values per detector:
the channel of each X-ray count, pixel after pixel, frame after frame, each
pixel ended by 65535. RosettaSciIO decodes the whole stream into a dense array
(2 GiB for 512 x 512 pixels x 4096 channels of uint16), or, lazily, into a
sparse array of about 26 bytes per count, before anything is written.

:func:`decoded_on_demand` replaces RosettaSciIO's decoder while its reader runs
(through :func:`pynxtools_em_plugin.compat.rsciio.velox_stream_decoder`),
so that it returns, with its own axes and metadata, a :class:`StreamSpectrumImage`:
the streams (what the file stores) and the position of every pixel end; a block
of scan rows is decoded only when asked for (``array[rows]``), which is what the
streaming writer does, one block at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ..compat.rsciio import velox_stream_decoder

_PIXEL_END = 65535


class StreamSpectrumImage:
    """(y, x, channel) counts summed over frames and detectors, decoded per block of rows."""

    #: Slicing along the first axis decodes just those rows (see ``streaming._copy_into``).
    decodes_by_block = True

    def __init__(self, shape: tuple[int, int], channels: int, frames: range, rebin: int, dtype: Any):
        self._spatial = (int(shape[0]), int(shape[1]))
        self._channels, self._rebin = int(channels), int(rebin)
        self._frames = frames
        self._dtype = np.dtype(dtype)
        self._streams: list[tuple[np.ndarray, np.ndarray]] = []  # (stream, positions of pixel ends)

    def add_stream(self, stream: np.ndarray) -> None:
        """One more detector's stream, summed with the others."""
        stream = np.asarray(stream, dtype=np.uint16)
        self._streams.append((stream, np.flatnonzero(stream == _PIXEL_END)))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (*self._spatial, self._channels // self._rebin)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return 3

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if key and isinstance(key[0], slice) and key[0].step in (None, 1):
            start, stop, _ = key[0].indices(self._spatial[0])
            return self._decode_rows(start, max(start, stop))[(slice(None), *key[1:])]
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self._decode_rows(0, self._spatial[0])
        return values if dtype is None else values.astype(dtype)

    def _decode_rows(self, first: int, stop: int) -> np.ndarray:
        height, width = self._spatial
        channels = self.shape[2]
        block = np.zeros((stop - first) * width * channels, dtype=self._dtype)
        for stream, ends in self._streams:
            for frame in self._frames:
                begin = frame * height * width + first * width  # index of the first pixel of the block
                pixel, channel = self._counts(stream, ends, begin, begin + (stop - first) * width)
                np.add.at(block, pixel * channels + channel // self._rebin, 1)
        return block.reshape(stop - first, width, channels)

    def _counts(self, stream: np.ndarray, ends: np.ndarray, begin: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """(pixel index within the block, channel) of every count of pixels ``begin`` to ``end``;
        a frame the stream does not complete (an interrupted acquisition) gives what it holds."""
        start = int(ends[begin - 1]) + 1 if 0 < begin <= len(ends) else (0 if begin == 0 else len(stream))
        finish = int(ends[end - 1]) if end <= len(ends) else len(stream)
        values = stream[start:finish]
        is_end = values == _PIXEL_END
        pixel = np.cumsum(is_end)[~is_end]
        channel = values[~is_end].astype(np.int64)
        inside = channel < self._channels  # a damaged value beyond the channels is not counted
        return pixel[inside], channel[inside]


def decoded_on_demand() -> AbstractContextManager[None]:
    """While RosettaSciIO's Velox reader runs, spectrum streams become :class:`StreamSpectrumImage`."""
    return velox_stream_decoder(_stream_to_image)


def _stream_to_image(original: Callable[..., Any], stream: np.ndarray, spatial_shape: tuple[int, int],
                     channels: int, last_frame: int, first_frame: int = 0, rebin_energy: int = 1,
                     sum_frames: bool = True, dtype: Any = "uint16", spectrum_image: Any = None) -> Any:  # fmt: skip
    """RosettaSciIO's decoder call answered with a :class:`StreamSpectrumImage` (one more detector's
    stream added to it); per-frame arrays (``sum_frames=False``) are left to RosettaSciIO's ``original``."""
    if not sum_frames:
        return original(stream, spatial_shape, channels, last_frame, first_frame, rebin_energy,
                        sum_frames, dtype, spectrum_image)  # fmt: skip
    if spectrum_image is None:
        spectrum_image = StreamSpectrumImage(
            spatial_shape, channels, range(first_frame, last_frame), rebin_energy, dtype
        )
    spectrum_image.add_stream(stream)
    return spectrum_image
