"""Fuzzing the folder walk (iter_image_files): random trees with odd names (newlines,
unicode, leading dots and dashes), symlinks to anything (loops, ancestors, dangling) and
folders without permissions. The property: a finite, stable list of paths under the root,
every readable non-hidden image in it, no exception; nothing written."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import strategies as st

from fuzz_support import Property, read_only, sandbox
from resnet_gui.core.data.images import is_image_path, iter_image_files

NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=10)
NAMES = NAMES.filter(lambda n: n not in (".", "..") and len(n.encode()) < 200) | st.sampled_from(
    [".hidden", "-rf", "a\nb", "\x1b[2J", "\u202eevil", "über", "dir with space", "CON"])
EXTS = st.sampled_from([".jpg", ".PNG", ".jpeg", ".webp", ".heic", ".txt", "", ".jpg.txt", ".tar.gz"])
OPS = st.lists(st.one_of(
    st.tuples(st.just("dir"), st.integers(0, 50), NAMES),
    st.tuples(st.just("file"), st.integers(0, 50), NAMES, EXTS),
    st.tuples(st.just("link"), st.integers(0, 50), NAMES, st.integers(-2, 50)),  # -1 dangling, -2 itself
    st.tuples(st.just("chmod"), st.integers(0, 50), st.sampled_from([0o000, 0o100, 0o400, 0o500])),
), max_size=25)


def _build(root: Path, ops: list) -> tuple[list[Path], list[Path]]:
    """Make the tree; return (every entry made, the image files a walk must find)."""
    dirs, made, images, closed = [root], [], [], set()
    for op in ops:
        parent = dirs[op[1] % len(dirs)]
        if op[0] == "chmod":
            if parent != root:
                os.chmod(parent, op[2])
                closed.add(parent)
            continue
        path = parent / (op[2] + (op[3] if op[0] == "file" else ""))
        if os.path.lexists(path) or len(os.fsencode(path.name)) > 255 or any(p in closed for p in [parent, *parent.parents]):
            continue
        if op[0] == "dir":
            path.mkdir()
            dirs.append(path)
        elif op[0] == "file":
            path.write_bytes(b"x")
            if is_image_path(path) and not any(part.startswith(".") for part in path.relative_to(root).parts):
                images.append(path)
        else:
            target = path if op[3] == -2 else root / "missing" if op[3] == -1 else (dirs + made)[op[3] % len(dirs + made)]
            path.symlink_to(target)
        made.append(path)
    readable = os.geteuid() == 0  # root reads every folder; otherwise a closed folder hides its files
    return made, [p for p in images if readable or not any(c in closed for c in p.parents)]


def check_walk(ops: list, extra_given: bool) -> None:
    with sandbox() as box:
        root = box / "tree"
        root.mkdir()
        made, images = _build(root, ops)
        given = [root] + ([*made[:3], box / "no such\nfile.jpg"] if extra_given else [])
        with read_only(box):
            found = list(iter_image_files(given))
            again = list(iter_image_files(given))
        assert found == again, "the order is not stable"
        assert all(isinstance(p, Path) for p in found)
        walked = [p for p in found if p not in given]
        assert len(walked) <= len(made) + 1, f"{len(walked)} paths from {len(made)} entries"
        for path in walked:
            rel = path.relative_to(root)  # never outside the folder given, even through links
            assert not any(part.startswith(".") for part in rel.parts), f"hidden: {path}"
            assert is_image_path(path) or _unusable(path), f"not an image, yet listed: {path}"
        reached = {os.path.realpath(p) for p in found if os.path.exists(p)}
        missing = [p for p in images if os.path.realpath(p) not in reached]
        assert not missing, f"left out: {missing[:3]}"


def _unusable(path: Path) -> bool:
    """Listed so load_image can say why (a folder that cannot be listed, a link loop)."""
    try:
        return path.is_dir() and not os.access(path, os.R_OK | os.X_OK) or not path.exists()
    except OSError:
        return True


PROPERTIES = [Property("walk random trees", check_walk, {"ops": OPS, "extra_given": st.booleans()}, examples=60)]

test_walk_random_trees = PROPERTIES[0].test()
