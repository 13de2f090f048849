"""Label Studio's brush RLE (`brushlabels` results, `value.rle`), written and read without its SDK.

The format is thi.ng's rle-pack over the flattened RGBA uint8 image (H*W*4 values, mask in every
channel, Label Studio reads the alpha one), as `label_studio_converter.brush` encodes it:

    header: 32 bits value count | 5 bits (word size - 1) | 4 x 4 bits (run-length field size - 1)
    blocks: 1 bit kind | 2 bits field index | (n - 1) in that field's bits | then
            kind 1 (a run): one word repeated n times; kind 0 (literals): n words
    the bit string is padded with 8 - len % 8 zero bits (a whole zero byte when already aligned)
    and sent as a list of byte values, most significant bit first.

The encoder uses the converter's fixed choices (word size 8, field sizes 3, 4, 8, 16; a single value
is a literal block of one); the decoder takes any header, so masks drawn in the Label Studio UI
(whose JS encoder may pick other sizes and longer literal blocks) read back too.
"""

from __future__ import annotations

import numpy as np

from schemas.errors import BadInput

WORD_SIZE = 8
RLE_SIZES = (3, 4, 8, 16)
CHANNELS = 4
MASK_VALUE = 255


def runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(run lengths, run values) of a 1-d array."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), values
    ends = np.append(np.flatnonzero(values[1:] != values[:-1]), len(values) - 1)
    lengths = np.diff(np.append(-1, ends))
    return lengths, values[ends]


def block_bits(length: int, value: int) -> str:
    """The bits of one run of `length` equal values (split into 2**16-long runs when longer)."""
    word = f"{value:0{WORD_SIZE}b}"
    if length == 1:
        return "0" + "00" + "0" * RLE_SIZES[0] + word
    longest = 2 ** RLE_SIZES[-1]
    parts = []
    index = next((i for i, size in enumerate(RLE_SIZES) if length <= 2**size), len(RLE_SIZES) - 1)
    while length > longest:  # the converter's split: full 2**16 runs, then the rest in a 16-bit field
        parts.append("1" + "11" + "1" * RLE_SIZES[-1] + word)
        length -= longest
    parts.append("1" + f"{index:02b}" + f"{length - 1:0{RLE_SIZES[index]}b}" + word)
    return "".join(parts)


def encode_values(values: np.ndarray) -> list[int]:
    """rle-pack a 1-d array of uint8 values into Label Studio's list of byte values."""
    bits = [f"{len(values):032b}", f"{WORD_SIZE - 1:05b}", *(f"{s - 1:04b}" for s in RLE_SIZES)]
    lengths, vals = runs(np.asarray(values, dtype=np.uint8))
    bits.extend(block_bits(int(n), int(v)) for n, v in zip(lengths, vals, strict=True))
    text = "".join(bits)
    text += "0" * (8 - len(text) % 8)
    return np.packbits(np.frombuffer(text.encode(), dtype=np.uint8) - ord("0")).tolist()


class BitReader:
    """Reads unsigned big-endian fields from a bit array."""

    def __init__(self, data: list[int]) -> None:
        self.bits = np.unpackbits(np.asarray(data, dtype=np.uint8))
        self.pos = 0

    def read(self, size: int) -> int:
        if self.pos + size > len(self.bits):
            raise BadInput("unreadable", "a brush RLE ends before its declared values", unit="region")
        field = self.bits[self.pos : self.pos + size]
        self.pos += size
        return int(field.astype(np.int64) @ (1 << np.arange(size - 1, -1, -1, dtype=np.int64)))


def decode_values(rle: list[int]) -> np.ndarray:
    """Label Studio's list of byte values back to the 1-d array it packs."""
    reader = BitReader(rle)
    count = reader.read(32)
    word_size = reader.read(5) + 1
    sizes = [reader.read(4) + 1 for _ in range(4)]
    out = np.zeros(count, dtype=np.uint8 if word_size <= 8 else np.uint32)
    i = 0
    while i < count:
        is_run = reader.read(1)
        j = min(count, i + 1 + reader.read(sizes[reader.read(2)]))
        if is_run:
            out[i:j] = reader.read(word_size)
        else:
            out[i:j] = [reader.read(word_size) for _ in range(j - i)]
        i = j
    return out


def encode_mask(mask: np.ndarray) -> list[int]:
    """HxW binary mask -> brush RLE of its RGBA image (255 where set, in every channel)."""
    values = np.repeat((np.asarray(mask) > 0).astype(np.uint8).ravel() * MASK_VALUE, CHANNELS)
    return encode_values(values)


def decode_mask(rle: list[int], height: int, width: int) -> np.ndarray:
    """Brush RLE -> HxW uint8 mask (1 where the alpha channel is set)."""
    values = decode_values(rle)
    if len(values) != height * width * CHANNELS:
        raise BadInput("shape_mismatch", "a brush RLE does not hold original_height x original_width RGBA "
                       "pixels", unit="region")
    return (values.reshape(height, width, CHANNELS)[:, :, CHANNELS - 1] > 0).astype(np.uint8)
