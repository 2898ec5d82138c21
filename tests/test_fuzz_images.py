"""Fuzzing image decoding (load_image, decode_tensor): random bytes, real Pillow files in
every mode truncated and mutated, extreme sizes and crafted headers. The property: an RGB
picture (a tensor of the asked shape), or one ImageError line; nothing written.
``bench/fuzz.py`` runs the same properties longer."""

from __future__ import annotations

import io
import struct
import zlib

from hypothesis import assume
from hypothesis import strategies as st
from PIL import Image

from fuzz_support import Property, on_file, one_line, read_only, sandbox
from resnet_gui.core.data.images import ImageError, load_image
from resnet_gui.core.data.transforms import decode_tensor

EXTENSIONS = [".jpg", ".png", ".gif", ".bmp", ".tif", ".webp", ".ppm", ".heic", ".avif", ".txt", ""]
# The first bytes of each format Pillow knows, so random data gets past identification.
MAGICS = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
          b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"P6\n", b"P5\n3 3\n255\n", b"\x00\x00\x00\x1cftypheic", b"8BPS", b"icns"]
# (mode, formats that can store it)
MODES = {"1": ["PNG", "BMP", "TIFF", "PPM"], "L": ["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP", "PPM"],
         "P": ["PNG", "BMP", "GIF", "TIFF"], "RGB": ["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP", "PPM"],
         "RGBA": ["PNG", "TIFF", "WEBP", "GIF"], "LA": ["PNG", "TIFF"], "CMYK": ["JPEG", "TIFF"],
         "YCbCr": ["TIFF", "JPEG"], "I": ["PNG", "TIFF"], "I;16": ["PNG", "TIFF"], "F": ["TIFF"],
         "LAB": ["TIFF"]}
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif", "GIF": ".gif", "WEBP": ".webp", "PPM": ".ppm"}


def _expect_picture_or_error(path, short_side: int = 32, crop: int = 28, must_load: bool = False):
    """Both entry points on ``path``: the picture, or ImageError in one line. Returns the image or None."""
    with read_only(path.parent):
        try:
            img = load_image(path)
        except ImageError as exc:
            one_line(exc)
            assert not must_load, f"a valid file was refused: {exc}"
            img = None
        else:
            assert img.mode == "RGB" and min(img.size) >= 1
        try:
            tensor = decode_tensor(path, short_side, crop)
        except ImageError as exc:
            one_line(exc)
            assert img is None or not must_load, f"loads but does not decode: {exc}"
        else:
            assert tuple(tensor.shape) == (3, crop, crop) and str(tensor.dtype) == "torch.uint8"
    return img


def check_random_bytes(magic: bytes, data: bytes, ext: str) -> None:
    on_file(f"x{ext}", magic + data, _expect_picture_or_error)


def _encode(mode: str, size: tuple[int, int], fmt: str, pixels: bytes, orientation: int = 0) -> bytes:
    img = Image.frombytes("L", size, (pixels * (size[0] * size[1] // max(1, len(pixels)) + 1))[: size[0] * size[1]])
    img = Image.merge("RGB", (img, img.rotate(90, expand=False), img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    img = img.convert("I").convert("I;16") if mode == "I;16" else img.convert(mode)
    out = io.BytesIO()
    extra = {}
    if orientation and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):  # EXIF rotation: exif_transpose runs
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif.tobytes()
    try:
        img.save(out, fmt, **extra)
    except (OSError, ValueError, KeyError, TypeError):  # a combination Pillow cannot write: not a case
        assume(False)
    return out.getvalue()


def check_real_file(mode: str, fmt_index: int, width: int, height: int, pixels: bytes, orientation: int,
                    damage: str, cut: float, flips: list) -> None:
    fmt = MODES[mode][fmt_index % len(MODES[mode])]
    data = bytearray(_encode(mode, (width, height), fmt, pixels, orientation))
    flips = flips if damage in ("flip", "both") else []
    for position, value in flips:  # mutated bytes, mostly in the header where parsers branch
        data[int(position * len(data)) % len(data)] = value
    if damage in ("cut", "both"):
        data = data[: int(cut * len(data))]
    with sandbox() as box:
        path = box / f"img{SUFFIX[fmt]}"
        path.write_bytes(bytes(data))
        intact = damage == "none" and max(width, height) <= 20 * min(width, height)
        img = _expect_picture_or_error(path, must_load=intact)
        if intact:
            assert img.size in ((width, height), (height, width))


def _png_header_only(width: int, height: int, colour_type: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with almost no pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def check_extreme_size(long_side: int, short: int, portrait: bool, short_side: int, crafted: bool,
                       colour_type: int) -> None:
    """A strip (``short`` px across), or with ``short`` 0 a square whose header alone may be a bomb."""
    short = short or long_side
    size = (short, long_side) if portrait else (long_side, short)
    crafted = crafted or short * long_side > 50_000_000  # only a header: never made for real
    with sandbox() as box:
        path = box / "strip.png"
        if crafted:
            path.write_bytes(_png_header_only(*size, colour_type))
        else:
            Image.new("1", size).save(path)  # a real file: small on disk whatever its size
        crop = max(1, short_side * 7 // 8)
        _expect_picture_or_error(path, short_side, crop)
        try:
            whole = decode_tensor(path, short_side)  # no crop: what training's random crops start from
        except ImageError as exc:
            one_line(exc)
        else:  # bounded work per image: the resized picture is not unboundedly long
            assert whole.shape[1] * whole.shape[2] <= 25 * short_side * short_side, tuple(whole.shape)


PROPERTIES = [
    Property("image random bytes", check_random_bytes,
             {"magic": st.sampled_from(MAGICS), "data": st.binary(max_size=1024), "ext": st.sampled_from(EXTENSIONS)},
             examples=60),
    Property("image real files mutated", check_real_file,
             {"mode": st.sampled_from(sorted(MODES)), "fmt_index": st.integers(0, 6),
              "width": st.integers(1, 40), "height": st.integers(1, 40), "pixels": st.binary(min_size=1, max_size=64),
              "orientation": st.integers(0, 9),
              "damage": st.sampled_from(["none", "none", "cut", "flip", "both"]), "cut": st.floats(0, 1),
              "flips": st.lists(st.tuples(st.floats(0, 0.2) | st.floats(0, 1), st.integers(0, 255)),
                                min_size=1, max_size=4)},
             examples=80),
    Property("image extreme sizes", check_extreme_size,
             {"long_side": st.integers(1, 30_000) | st.integers(1, 2**31 - 1), "short": st.integers(0, 4),
              "portrait": st.booleans(), "short_side": st.sampled_from([16, 32, 64, 146, 256]),
              "crafted": st.booleans(), "colour_type": st.sampled_from([0, 2, 4, 6])},
             examples=30),
]

test_image_random_bytes, test_image_real_files_mutated, test_image_extreme_sizes = (p.test() for p in PROPERTIES)
