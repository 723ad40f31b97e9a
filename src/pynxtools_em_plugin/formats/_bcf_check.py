"""A structural check of Bruker ``.bcf`` spectrum-image streams before they are decoded.

RosettaSciIO decodes the hypermap with a Cython routine compiled without
bounds checks (``rsciio/bruker/unbcf_fast.pyx``): it writes counts at the
pixel and line positions read from the stream and reads each record where the
record's size fields say. A truncated or damaged file therefore crashes the
process (segmentation fault, bus error) or silently writes outside the array.

This module walks the stream the way the decoder does, with the same buffer
accounting (a 4-byte line header, 22-byte pixel headers, packed data whose
sizes the headers give; at most one more block loaded per read), without
decoding counts, and refuses the file if any read would leave the buffer or
any pixel lies outside the image. The walk is linear in the stream size and
cheap next to the decoding. The record layout is RosettaSciIO's
(``py_parse_hypermap`` documents it); the per-bunch layout of instructively
packed pixels is walked only where its reads could reach past the buffer end.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

_PIXEL = struct.Struct("<IHHIHHHI")  # x, channels, channels, unknown, flag, size, pulses, data size
_U32 = struct.Struct("<I")
_FIRST_LINE_AT = 0x1A0
_FLAG_16BIT, _FLAG_12BIT = 0, 1
#: Bytes an instructively packed bunch may read past its own start: header, gain, 255 values of 4 bytes.
_BUNCH_REACH = 2 + 8 + 255 * 4


class DamagedStream(ValueError):
    """The stream would make the decoder read or write out of bounds."""


class _Stream:
    """The decoder's view of the stream: a buffer it believes holds ``size`` bytes."""

    def __init__(self, blocks: Iterator[bytes], block_size: int):
        self.blocks = blocks
        self.block_size = block_size
        self.size = block_size
        self.offset = 0
        self.raw = next(blocks, b"")

    def take(self, length: int) -> int:
        """Advance by ``length`` as the decoder does (``ptr_to``/``skip``); the start offset."""
        if length < 0:
            raise DamagedStream(f"negative record size {length}")
        if self.offset + length > self.size:
            following = next(self.blocks, None)
            if following is None:
                raise DamagedStream("the stream ends inside a pixel record (truncated)")
            self.size = self.block_size + self.size - self.offset
            self.raw = self.raw[self.offset :] + following
            self.offset = 0
        if self.offset + length > len(self.raw):
            raise DamagedStream(f"a record of {length} bytes reaches past the data (truncated or damaged)")
        start = self.offset
        self.offset += length
        return start

    def take_values(self, count: int, width: int) -> None:
        """``count`` values read one by one (each read may load the next block)."""
        while count:
            fitting = min(count, max(0, (self.size - self.offset) // width))
            if fitting:
                if self.offset + fitting * width > len(self.raw):
                    raise DamagedStream("additional pulses reach past the data (truncated or damaged)")
                self.offset += fitting * width
                count -= fitting
            else:
                self.take(width)
                count -= 1


def check_hypermap(blocks: Iterator[bytes], block_size: int, rows: int, columns: int) -> None:
    """Raise :class:`DamagedStream` unless the decoder stays inside the stream and a rows x columns array."""
    stream = _Stream(blocks, block_size)
    if len(stream.raw) < _FIRST_LINE_AT:
        raise DamagedStream("the stream is shorter than its header")
    height = _U32.unpack_from(stream.raw, 0)[0]
    if height > rows:
        raise DamagedStream(f"the stream holds {height} lines, the image {rows}")
    stream.offset = _FIRST_LINE_AT
    for _ in range(height):
        start = stream.take(4)  # before reading stream.raw: taking may load the next block
        pixels = _U32.unpack_from(stream.raw, start)[0]
        for _ in range(pixels):
            _check_pixel(stream, columns)


def _check_pixel(stream: _Stream, columns: int) -> None:
    start = stream.take(_PIXEL.size)
    x, _, _, _, flag, _, pulses, size = _PIXEL.unpack_from(stream.raw, start)
    if x >= columns:
        raise DamagedStream(f"a pixel at x = {x} lies outside the {columns} image columns")
    if flag == _FLAG_16BIT:
        _check_packed(stream, size, 2 * pulses)
    elif flag == _FLAG_12BIT:
        _check_packed(stream, size, _bytes_12bit(pulses))
    else:
        start = stream.take(size - 4)
        if start + size - 4 + _BUNCH_REACH > len(stream.raw):
            _check_bunches(stream.raw, start, size - 4)
        stream.take(4)
        if pulses:
            stream.take_values(pulses, 2)


def _check_packed(stream: _Stream, size: int, needed: int) -> None:
    start = stream.take(size)
    if start + needed > len(stream.raw):
        raise DamagedStream(f"{needed} bytes of pulses announced in a record of {size} bytes")


def _bytes_12bit(pulses: int) -> int:
    """Bytes the 12-bit unpacker reads for ``pulses`` values (groups of 4 values in 6 bytes)."""
    if not pulses:
        return 0
    group, last = divmod(pulses - 1, 4)
    return 6 * group + (2, 4, 6, 6)[last]


def _check_bunches(raw: bytes, start: int, size: int) -> None:
    """Instructively packed channels: every bunch the decoder reads lies inside the buffer.

    The decoder takes the record size as 16 bits, and reads a gain of ``width``
    bytes (5 for widths other than 1, 2, 4) and then the bunch's values.
    """
    offset, size = 0, size & 0xFFFF
    while offset < size:
        if start + offset + 2 > len(raw):
            raise DamagedStream("a packed spectrum reaches past the data (truncated or damaged)")
        width, channels = raw[start + offset], raw[start + offset + 1]
        offset += 2
        if width == 0:
            continue
        length = (channels + 1) // 2 if width == 1 else channels * width // 2
        reach = width + length if width in (1, 2, 4) else max(5, width + 2 * channels + 2)
        if start + offset + reach > len(raw):
            raise DamagedStream("a packed spectrum reaches past the data (truncated or damaged)")
        offset += width + length
