"""The files the app ships besides its code (the default model, the icons), for the PyInstaller spec.

They come from pyproject.toml: each package of ``[tool.setuptools] package-dir`` (the data
packages ``resnet_gui.weights`` -> ``weights/`` and ``resnet_gui.assets`` -> ``assets/``) with
its ``__init__.py`` and the files its ``package-data`` patterns match. The bundle puts them at
the place they have in the wheel (``resnet_gui/weights/default.pt``...), below ``sys._MEIPASS``,
where resnet_gui/resources.py finds them with importlib.resources; the wheel and the bundle
cannot drift apart. Standard library only: the spec imports it, and so do the tests.
"""

from __future__ import annotations

import tomllib
from pathlib import Path


def shipped_files(root: Path) -> list[tuple[str, str]]:
    """``(source file, destination folder in the bundle)`` pairs, PyInstaller's ``datas`` form."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = config.get("package-data", {})
    datas = []
    for package, folder in sorted(config.get("package-dir", {}).items()):
        if not package:  # a "" root mapping is about code, not data
            continue
        source = root / folder
        files = {source / "__init__.py"}  # so that importlib.resources.files(package) can import it
        for pattern in patterns.get(package, []):
            files.update(p for p in source.glob(pattern) if p.is_file())
        dest = package.replace(".", "/")
        datas += [(str(p), dest) for p in sorted(files)]
    return datas
