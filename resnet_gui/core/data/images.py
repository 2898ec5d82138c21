"""Reading user images robustly, and finding them in folders.

Every failure becomes :class:`ImageError` with a short reason, so one bad file never
stops a run. Files are only ever opened for reading.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterable, Iterator

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError, features


def _phone_formats() -> set[str]:
    """HEIC/HEIF (iPhones, many Androids) through pillow-heif, AVIF through Pillow itself,
    each only when its decoder is really there: a folder scan lists exactly what can be read."""
    found = set()
    try:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        found |= {".heic", ".heif", ".hif"}
    except ImportError:  # an install without pillow-heif: HEIC files are not listed, not half-read
        pass
    if features.check("avif"):
        found |= {".avif", ".avifs"}
    return found


IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm"}
    | _phone_formats()
)
# Beyond this aspect ratio a picture is a strip, not a photo: resizing its shorter side to the
# model's size would make the longer side (and the memory) explode (150000x10 px -> 5 GB).
# Phone panoramas stay well below it (about 8:1).
MAX_ASPECT_RATIO = 20
# Keep Pillow's decompression-bomb limit (Image.MAX_IMAGE_PIXELS) as it is: an image
# above twice that limit is refused by Pillow and reported as skipped here.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow's own warnings (corrupt EXIF, palette transparency, the decompression-bomb warning
# between 1x and 2x the limit) are noise to a user; real problems raise. Filtered here, once,
# and only for warnings issued by Pillow: warnings.catch_warnings() is not thread-safe, and
# load_image runs in several decoding threads at once (concurrent catch_warnings blocks can
# leave every warning in the process silenced).
warnings.filterwarnings("ignore", module=r"PIL\.")


class ImageError(Exception):
    """An image that cannot be used; ``str()`` is the reason shown to the user."""


def is_image_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB the way a viewer would show it."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))  # alpha on white
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        import numpy as np

        arr = np.asarray(img)
        if mode == "F":
            arr = arr * 255.0 if float(arr.max(initial=0)) <= 1.0 else arr
        elif mode.startswith("I;16") or float(arr.max(initial=0)) > 255:
            arr = arr / 257.0  # 16-bit range to 8-bit; a plain convert("L") would clip
        arr = np.clip(arr, 0, 255).astype("uint8")
        return Image.fromarray(arr, "L").convert("RGB")
    return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def load_image(path: str | os.PathLike, min_side: int | None = None) -> Image.Image:
    """Open ``path`` as an upright RGB image.

    ``min_side``: the smallest shorter side the caller needs. Large JPEGs are then
    decoded at a reduced scale (Pillow's draft mode), which is many times faster than
    decoding a 12-megapixel photo in full and then throwing most pixels away.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ImageError("empty file")
        if path.is_dir():
            os.scandir(path).close()  # a folder reaches here only when it could not be listed
            raise ImageError("a folder, not an image")
        with Image.open(path) as img:
            _check_shape(img.size)  # from the header: refused before anything is decoded
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # animated or multi-page: the first frame
            if min_side and img.format == "JPEG":
                img.draft("RGB", (min_side, min_side))
            img.load()
            try:
                img = ImageOps.exif_transpose(img) or img
            except Exception:  # a broken EXIF block must not lose the picture
                pass
            return _to_rgb(img)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"too large, refused as a possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError("not an image Pillow can read") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError) as exc:
        text = str(exc) or type(exc).__name__
        if "truncated" in text:
            raise ImageError("truncated or damaged image data") from None
        raise ImageError(f"cannot decode: {text}") from None


def _check_shape(size: tuple[int, int]) -> None:
    width, height = size
    if min(width, height) < 1:
        raise ImageError(f"empty picture ({width}x{height} pixels)")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageError(f"{width}x{height} pixels: too elongated to classify (more than {MAX_ASPECT_RATIO}:1)")


def iter_image_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Yield image files from files and folders, in a stable (sorted) order.

    Folders are walked recursively; hidden files and folders are skipped, only image
    extensions are taken, and symlinked folders are followed at most once each, so a
    link loop cannot recurse forever. A file named directly is always yielded, so a
    dropped non-image gets reported instead of silently ignored; so is a folder that
    cannot be listed (no permission), which :func:`load_image` then reports as skipped.
    """
    seen_dirs: set[tuple[int, int]] = set()
    for given in paths:
        root = Path(given)
        try:
            is_dir = root.is_dir()
        except OSError:  # e.g. PermissionError from a parent folder: load_image says why
            is_dir = False
        if is_dir:
            yield from _walk(root, seen_dirs)
        else:
            yield root


def _walk(top: Path, seen_dirs: set[tuple[int, int]]) -> Iterator[Path]:
    """Depth first, a folder's files before its subfolders; a stack, not recursion, so a tree
    thousands of folders deep is walked like any other. A folder that cannot be read or even
    looked at (no permission, a path beyond PATH_MAX) is yielded, so it is reported as skipped."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            stat = folder.stat()
        except FileNotFoundError:
            continue  # gone meanwhile
        except OSError:
            yield folder
            continue
        key = (stat.st_dev, stat.st_ino)
        if key in seen_dirs:
            continue
        seen_dirs.add(key)
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            yield folder  # reported as skipped ("permission denied"), never silently left out
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    subdirs.append(Path(entry.path))
                elif entry.is_file() and is_image_path(entry.name):
                    yield Path(entry.path)
            except OSError:
                yield Path(entry.path)
        stack.extend(reversed(subdirs))
