"""Robust image reading: every Pillow mode to upright RGB, every bad file to a reason, and
folder scanning. All images are made in tmp_path."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from resnet_gui.core.data import images
from resnet_gui.core.data.images import ImageError, _to_rgb, is_image_path, iter_image_files, load_image


def px(img, xy):
    return tuple(int(v) for v in img.getpixel(xy))


def close(a, b, tol=3):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


# ---------------------------------------------------------------- orientation and modes


def _halves(size=(40, 20)):
    """Left half red, right half blue."""
    img = Image.new("RGB", size, (255, 0, 0))
    img.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return img


def test_exif_orientation_is_applied(tmp_path):
    img = _halves((40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    path = tmp_path / "phone.jpg"
    img.save(path, quality=95, exif=exif)
    out = load_image(path)
    assert out.mode == "RGB"
    assert out.size == (20, 40)
    # what a viewer shows: rotated clockwise, so the stored left (red) half is now on top
    expected = img.transpose(Image.Transpose.ROTATE_270)
    assert close(px(out, (10, 5)), px(expected, (10, 5)), 30) and px(out, (10, 5))[0] > 200
    assert close(px(out, (10, 35)), px(expected, (10, 35)), 30) and px(out, (10, 35))[2] > 200


def test_exif_orientation_with_draft_mode(tmp_path):
    img = _halves((2400, 1200))
    exif = Image.Exif()
    exif[0x0112] = 8
    path = tmp_path / "big_rotated.jpg"
    img.save(path, quality=90, exif=exif)
    out = load_image(path, min_side=256)
    assert out.size[1] > out.size[0]  # upright (portrait) after transposing
    assert min(out.size) >= 256 and max(out.size) < 2400


def test_rgb_passthrough(tmp_path):
    path = tmp_path / "rgb.png"
    _halves().save(path)
    out = load_image(path)
    assert out.mode == "RGB" and px(out, (0, 0)) == (255, 0, 0) and px(out, (39, 0)) == (0, 0, 255)


def test_rgba_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (8, 8), (255, 0, 0, 128))
    img.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent black -> white, not black
    path = tmp_path / "rgba.png"
    img.save(path)
    out = load_image(path)
    assert out.mode == "RGB"
    assert px(out, (0, 0)) == (255, 255, 255)
    assert close(px(out, (4, 4)), (255, 127, 127), 1)


def test_la_is_composited_on_white(tmp_path):
    img = Image.new("LA", (8, 8), (0, 255))
    img.putpixel((0, 0), (0, 0))
    img.putpixel((1, 0), (100, 128))
    path = tmp_path / "la.png"
    img.save(path)
    assert Image.open(path).mode == "LA"
    out = load_image(path)
    assert px(out, (0, 0)) == (255, 255, 255)
    assert px(out, (5, 5)) == (0, 0, 0)
    assert close(px(out, (1, 0)), (177, 177, 177), 1)


def _palette_image():
    img = Image.new("P", (8, 8), 1)
    img.putpalette([0, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    img.putpixel((0, 0), 0)
    return img


@pytest.mark.parametrize("fmt", ["png", "gif"])
def test_palette_with_transparency(tmp_path, fmt):
    img = _palette_image()
    path = tmp_path / f"p.{fmt}"
    img.save(path, transparency=0)
    assert Image.open(path).mode == "P"
    out = load_image(path)
    assert out.mode == "RGB"
    assert px(out, (0, 0)) == (255, 255, 255)  # transparent index on white
    assert px(out, (3, 3)) == (0, 255, 0)


def test_palette_without_transparency(tmp_path):
    path = tmp_path / "p.png"
    _palette_image().save(path)
    out = load_image(path)
    assert px(out, (0, 0)) == (0, 0, 0) and px(out, (3, 3)) == (0, 255, 0)


def test_pa_mode():
    img = _palette_image().convert("PA")
    img.putpixel((0, 0), (1, 0))  # green index, fully transparent
    img.putpixel((1, 0), (1, 255))
    out = _to_rgb(img)
    assert out.mode == "RGB"
    assert px(out, (0, 0)) == (255, 255, 255)
    assert px(out, (1, 0)) == (0, 255, 0)


@pytest.mark.parametrize("fmt", ["jpg", "tif"])
def test_cmyk(tmp_path, fmt):
    img = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red
    path = tmp_path / f"cmyk.{fmt}"
    img.save(path)
    assert Image.open(path).mode == "CMYK"
    out = load_image(path)
    assert out.mode == "RGB" and close(px(out, (8, 8)), (255, 0, 0), 6)


def test_i16_is_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 257 * 64, 257 * 128, 65535]] * 4, dtype=np.uint16)
    path = tmp_path / "depth16.png"
    Image.fromarray(arr).save(path)
    assert Image.open(path).mode.startswith("I")
    out = load_image(path)
    assert out.mode == "RGB"
    assert [px(out, (x, 0))[0] for x in range(4)] == [0, 64, 128, 255]
    assert px(out, (2, 1)) == (128, 128, 128)


def test_i16_tiff(tmp_path):
    arr = np.full((4, 4), 257 * 200, dtype=np.uint16)
    path = tmp_path / "depth16.tif"
    Image.fromarray(arr).save(path)
    assert px(load_image(path), (0, 0)) == (200, 200, 200)


def test_float_mode():
    arr = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    out = _to_rgb(Image.fromarray(arr, "F"))
    assert [px(out, (x, 0))[0] for x in range(3)] == [0, 127, 255]


def test_bilevel_1(tmp_path):
    img = Image.new("1", (8, 8), 0)
    img.putpixel((0, 0), 1)
    path = tmp_path / "bw.png"
    img.save(path)
    assert Image.open(path).mode == "1"
    out = load_image(path)
    assert px(out, (0, 0)) == (255, 255, 255) and px(out, (1, 1)) == (0, 0, 0)


@pytest.mark.parametrize("fmt", ["png", "jpg", "bmp", "pgm"])
def test_grayscale_l(tmp_path, fmt):
    path = tmp_path / f"gray.{fmt}"
    Image.new("L", (8, 8), 90).save(path)
    out = load_image(path)
    assert out.mode == "RGB" and close(px(out, (4, 4)), (90, 90, 90), 2)


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 3
    out = load_image(path)
    assert out.size == (10, 10) and close(px(out, (5, 5)), (255, 0, 0), 4)


def test_multipage_tiff_uses_first_page(tmp_path):
    pages = [Image.new("RGB", (10, 10), c) for c in ((0, 0, 255), (255, 0, 0))]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    assert px(load_image(path), (5, 5)) == (0, 0, 255)


# ---------------------------------------------------------------- draft mode


def test_big_jpeg_is_decoded_at_reduced_scale(tmp_path):
    path = tmp_path / "phone.jpg"
    Image.effect_noise((4032, 3024), 60).convert("RGB").save(path, quality=85)
    out = load_image(path, min_side=256)
    # draft picks the largest 1/2, 1/4, 1/8 scale keeping both sides >= 256
    assert out.size == (504, 378)
    assert load_image(path).size == (4032, 3024)  # without min_side: full size


def test_draft_is_really_called_only_for_jpeg(tmp_path, monkeypatch):
    from PIL import JpegImagePlugin

    calls = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        calls.append((self.format, mode, size))
        return original(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    jpg, png = tmp_path / "a.jpg", tmp_path / "a.png"
    Image.new("RGB", (1200, 900), (10, 20, 30)).save(jpg)
    Image.new("RGB", (1200, 900), (10, 20, 30)).save(png)
    assert load_image(jpg, min_side=256).size == (600, 450)  # 1/2 scale: 1/4 would go below 256
    assert calls and calls[0][0] == "JPEG" and calls[0][2] == (256, 256)
    calls.clear()
    assert load_image(png, min_side=256).size == (1200, 900)
    assert not calls


def test_draft_never_goes_below_the_requested_side(tmp_path):
    for size in ((600, 520), (1030, 515), (300, 300)):
        path = tmp_path / f"{size[0]}x{size[1]}.jpg"
        Image.new("RGB", size, (50, 60, 70)).save(path)
        out = load_image(path, min_side=256)
        assert min(out.size) >= min(256, min(size)), size


# ---------------------------------------------------------------- bad files


def _jpeg_bytes(tmp_path, size=(64, 64)):
    path = tmp_path / "src.jpg"
    Image.effect_noise(size, 50).convert("RGB").save(path, quality=90)
    return path.read_bytes()


def test_truncated_jpeg(tmp_path):
    data = _jpeg_bytes(tmp_path, (256, 256))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated"):
        load_image(path)


def test_truncated_png(tmp_path):
    src = tmp_path / "src.png"
    Image.effect_noise((128, 128), 50).convert("RGB").save(src)
    path = tmp_path / "cut.png"
    path.write_bytes(src.read_bytes()[:2000])
    with pytest.raises(ImageError):
        load_image(path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file"):
        load_image(path)


@pytest.mark.parametrize("content", [b"hello, I am a text file\n", os.urandom(5000), b"\xff\xd8\xff" + b"\x00" * 50])
def test_non_image_with_image_extension(tmp_path, content):
    path = tmp_path / "fake.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError) as err:
        load_image(path)
    assert str(err.value)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("L", (100, 100), 0).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 10,000 px > 2x the limit
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(path)


def test_pillow_limit_is_kept_not_tightened(tmp_path, monkeypatch):
    """Between 1x and 2x Pillow's limit Pillow only warns: the image is still read."""
    path = tmp_path / "big.png"
    Image.new("L", (40, 40), 0).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1,600 px
    assert load_image(path).size == (40, 40)


def test_missing_and_unreadable(tmp_path, monkeypatch):
    with pytest.raises(ImageError, match="file not found"):
        load_image(tmp_path / "gone.jpg")
    path = tmp_path / "locked.png"
    Image.new("RGB", (4, 4)).save(path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(images.Image, "open", denied)
    with pytest.raises(ImageError, match="permission denied"):
        load_image(path)


def test_a_folder_named_like_an_image(tmp_path):
    folder = tmp_path / "album.jpg"
    folder.mkdir()
    with pytest.raises(ImageError):
        load_image(folder)


def test_corrupt_exif_does_not_lose_the_picture(tmp_path):
    path = tmp_path / "badexif.jpg"
    Image.new("RGB", (16, 8), (0, 128, 0)).save(path, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\xff\xff")
    out = load_image(path)
    assert out.size == (16, 8) and close(px(out, (4, 4)), (0, 128, 0), 4)


def test_loading_in_threads_leaves_warning_filters_alone(tmp_path):
    """warnings.catch_warnings is not thread-safe: concurrent decoders must not change the
    process's warning filters (e.g. leave every warning silenced after a run)."""
    files = []
    for i in range(4):
        path = tmp_path / f"p{i}.png"
        img = _palette_image()
        img.save(path, transparency=0)
        files.append(path)
    before = list(warnings.filters)
    errors = []

    def work():
        try:
            for _ in range(50):
                for f in files:
                    load_image(f)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert list(warnings.filters) == before


# ---------------------------------------------------------------- folders


def _touch_image(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4)).save(path, format="PNG")


def test_folder_scan(tmp_path):
    root = tmp_path / "photos"
    for rel in ["b.jpg", "a.png", "UPPER.JPG", "sub/c.jpeg", "sub/deeper/d.webp", "z/e.tif",
                ".hidden/secret.jpg", "sub/.cache/thumb.png", ".dotfile.jpg"]:
        _touch_image(root / rel)
    (root / "notes.txt").write_text("x")
    (root / "sub" / "model.pth").write_bytes(b"x")
    (root / "noext").write_bytes(b"x")
    found = [p.relative_to(root).as_posix() for p in iter_image_files([root])]
    assert found == ["UPPER.JPG", "a.png", "b.jpg", "sub/c.jpeg", "sub/deeper/d.webp", "z/e.tif"]
    assert [p.relative_to(root).as_posix() for p in iter_image_files([str(root)])] == found  # stable


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loops_terminate(tmp_path):
    root = tmp_path / "root"
    _touch_image(root / "a.png")
    _touch_image(root / "sub" / "b.png")
    os.symlink(root, root / "sub" / "loop")  # sub/loop -> root
    os.symlink(root / "sub", root / "sub" / "self")  # sub/self -> sub
    os.symlink(root / "missing", root / "dangling.png")  # broken link: ignored
    outside = tmp_path / "outside"
    _touch_image(outside / "o.png")
    os.symlink(outside, root / "linked")
    found = [p.relative_to(root).as_posix() for p in iter_image_files([root])]
    assert found == ["a.png", "linked/o.png", "sub/b.png"]


def test_explicit_files_are_kept_in_given_order(tmp_path):
    folder = tmp_path / "f"
    _touch_image(folder / "x.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    given = [notes, folder, tmp_path / "missing.jpg"]
    assert list(iter_image_files(given)) == [notes, folder / "x.png", tmp_path / "missing.jpg"]


def test_is_image_path():
    assert is_image_path("a/B.JPG") and is_image_path("x.webp") and is_image_path("x.tiff")
    assert not is_image_path("x.txt") and not is_image_path("jpg")


def test_matches_imageops_for_all_orientations(tmp_path):
    base = _halves((30, 18))
    base.putpixel((0, 0), (0, 255, 0))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        path = tmp_path / f"o{orientation}.png"
        base.save(path, exif=exif)
        expected = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        out = load_image(path)
        assert out.size == expected.size and np.array_equal(np.asarray(out), np.asarray(expected)), orientation


# ---------------------------------------------------------------- hostile shapes and folders


@pytest.mark.parametrize("size", [(150_000, 10), (10, 150_000), (1_000_000, 1)])
def test_extreme_strips_are_refused_from_the_header_before_decoding(tmp_path, size):
    path = tmp_path / "strip.png"
    Image.new("L", size).save(path)
    with pytest.raises(ImageError, match=r"too elongated to classify \(more than 20:1\)"):
        load_image(path)


def test_a_wide_panorama_is_still_read_and_its_work_is_bounded(tmp_path):
    from resnet_gui.core.data.transforms import decode_tensor

    path = tmp_path / "pano.jpg"
    Image.new("RGB", (8000, 1000), (30, 90, 160)).save(path)  # 8:1, like a phone panorama
    tensor = decode_tensor(path, 256)  # training keeps the whole resized picture
    assert tuple(tensor.shape) == (3, 256, 2048)
    assert tuple(decode_tensor(path, 256, 224).shape) == (3, 224, 224)


def test_peak_memory_of_the_strip_from_the_issue_stays_small(tmp_path):
    """The issue's 4 KB PNG peaked at 4.9 GB; now it is refused from its header."""
    import subprocess
    import sys

    path = tmp_path / "p.png"
    Image.new("RGB", (150_000, 10)).save(path)
    code = ("import resource, sys\n"
            "from resnet_gui.core.data.transforms import decode_tensor\n"
            "from resnet_gui.core.data.images import ImageError\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            f"try:\n    decode_tensor({str(path)!r}, 146, 128)\nexcept ImageError as e:\n    print('refused:', e)\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.split("\n")
    assert out[0].startswith("refused: 150000x10 pixels")
    assert int(out[1]) < 100  # MB of extra peak memory


def test_unreadable_folders_are_reported_not_fatal_and_not_silent(tmp_path, monkeypatch):
    album = tmp_path / "album"
    (album / "private").mkdir(parents=True)
    (album / "public").mkdir()
    Image.new("RGB", (8, 8)).save(album / "public" / "a.png")
    Image.new("RGB", (8, 8)).save(album / "private" / "b.png")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("private"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # as root, chmod 000 would not deny anything
    found = list(iter_image_files([album]))
    assert found == [album / "private", album / "public" / "a.png"]
    with pytest.raises(ImageError, match="permission denied"):
        load_image(album / "private")


def test_a_given_path_whose_parent_cannot_be_read(tmp_path, monkeypatch):
    inside = tmp_path / "locked" / "photo.jpg"
    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if "locked" in str(self):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    assert list(iter_image_files([inside])) == [inside]  # no traceback: reported later
    with pytest.raises(ImageError, match="permission denied"):
        load_image(inside)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_real_unreadable_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    Image.new("RGB", (8, 8)).save(locked / "x.png")
    locked.chmod(0)
    try:
        assert list(iter_image_files([tmp_path])) == [locked]
        with pytest.raises(ImageError, match="permission denied"):
            load_image(locked)
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_phone_formats_are_found_in_folders_and_decoded(tmp_path, suffix):
    folder = tmp_path / "phone"
    folder.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(folder / f"IMG_0001{suffix}")
    found = list(iter_image_files([folder]))
    assert found == [folder / f"IMG_0001{suffix}"]
    img = load_image(found[0])
    assert img.size == (64, 48) and img.mode == "RGB"
    r, g, b = img.getpixel((32, 24))
    assert r > 150 and g < 80 and b < 80


def test_decode_ahead_keeps_order_bounds_what_is_in_flight_and_stops_when_closed():
    import threading
    import time

    from resnet_gui.core.data.decoded import decode_ahead

    started, lock = [], threading.Lock()

    def work(n):
        with lock:
            started.append(n)
        time.sleep(0.001 * (n % 3))  # out-of-order finishing
        return n * n

    assert list(decode_ahead(work, range(50), ahead=4, workers=3)) == [(n, n * n) for n in range(50)]
    started.clear()
    results = decode_ahead(work, range(1000), ahead=5, workers=2)
    first = [next(results) for _ in range(3)]
    assert first == [(0, 0), (1, 1), (2, 4)]
    assert len(started) <= 3 + 5  # consumed, plus at most `ahead` submitted
    results.close()
    time.sleep(0.05)
    assert len(started) <= 3 + 5  # nothing more starts once closed
