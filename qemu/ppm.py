# SPDX-License-Identifier: GPL-2.0
"""PPM (P6) screendumps from QEMU: read, compare, and write as PNG, with the stdlib only."""

import struct
import zlib


class Image:
    """An RGB image: width, height and `width * height * 3` bytes of pixels."""

    def __init__(self, width, height, pixels):
        self.width = width
        self.height = height
        self.pixels = pixels

    def pixel(self, x, y):
        i = (y * self.width + x) * 3
        return tuple(self.pixels[i:i + 3])

    def row(self, y):
        return self.pixels[y * self.width * 3:(y + 1) * self.width * 3]

    def is_blank(self):
        """True if every pixel has the same colour."""
        first = self.pixels[:3]
        return self.pixels == first * (self.width * self.height)

    def distinct_colours(self, limit=4096):
        seen = set()
        for i in range(0, len(self.pixels), 3 * 7):  # sampled: enough to tell bars from blank
            seen.add(self.pixels[i:i + 3])
            if len(seen) >= limit:
                break
        return len(seen)

    def count_colour(self, rgb):
        """How many pixels have exactly colour `rgb` (an (r, g, b) tuple)."""
        want = bytes(rgb)
        px = self.pixels
        # Counting the 3-byte pattern in the whole buffer could match across pixel boundaries:
        # count per pixel, by slicing each colour channel.
        r, g, b = px[0::3], px[1::3], px[2::3]
        return sum(1 for i in range(len(r)) if r[i] == want[0] and g[i] == want[1]
                   and b[i] == want[2])

    def diff_rows(self, other):
        """Row indexes where the two images differ (same size required)."""
        if (self.width, self.height) != (other.width, other.height):
            raise ValueError("size differs: %dx%d vs %dx%d"
                             % (self.width, self.height, other.width, other.height))
        return [y for y in range(self.height) if self.row(y) != other.row(y)]


def _tokens(data):
    """Yields the header tokens of a PPM and finally the offset after the header."""
    i = 0
    count = 0
    while count < 4:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            while data[i:i + 1] not in (b"\n", b""):
                i += 1
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        yield data[i:j]
        count += 1
        i = j
    yield i + 1


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    toks = _tokens(data)
    magic = next(toks)
    if magic != b"P6":
        raise ValueError("%s: not a binary PPM (magic %r)" % (path, magic))
    width, height, maxval = int(next(toks)), int(next(toks)), int(next(toks))
    if maxval != 255:
        raise ValueError("%s: maxval %d unsupported" % (path, maxval))
    off = next(toks)
    pixels = data[off:off + width * height * 3]
    if len(pixels) != width * height * 3:
        raise ValueError("%s: truncated" % path)
    return Image(width, height, pixels)


def write_png(img, path):
    raw = bytearray()
    stride = img.width * 3
    for y in range(img.height):
        raw.append(0)
        raw += img.pixels[y * stride:(y + 1) * stride]

    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", img.width, img.height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(bytes(raw), 6)))
        f.write(chunk(b"IEND", b""))
