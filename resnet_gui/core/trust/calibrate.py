"""``resnet-gui calibrate MODEL DATA_DIR``'s core: a model and a labeled folder of its classes
in, a new checkpoint out with the out-of-class data and the temperature (see :mod:`.fit`).

The folder is split like ``train`` splits it (train/ and val/ folders, a split CSV, or a
stratified 10 % at random, seed 0): the training part describes the classes (the kNN bank),
the held-out part sets the threshold and the temperature. A model whose class names are only
placeholders (``class 0`` ... : a plain state_dict without a names file) takes the folder's
names when the counts match, in the folder's sorted order (the order ``ImageFolder`` and
``train`` number classes in); the result says so. As a generator of
:class:`~resnet_gui.core.train.events.Stage` events (progress, cancel between chunks) that
returns a :class:`CalibrationResult`; the CLI and the window run the same one.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .fit import BANK_ROWS, DEFAULT_K, DEFAULT_METHOD, fit_trust, teacher_or_model
from .record import TrustInfo

CALIBRATED_SUFFIX = ".calibrated.pt"
MIN_HELD_OUT = 20  # below this a 95 % threshold is a guess


class CalibrationError(ValueError):
    """The model or the folder cannot be calibrated; one line (class lists included)."""


@dataclass
class CalibrationResult:
    out: Path
    trust: TrustInfo
    fit_photos: int  # photos that describe the classes (the bank holds at most BANK_ROWS of them)
    held_photos: int  # photos that set the threshold and temperature
    skipped: list[tuple[str, str]]  # unreadable photos: (path, reason)
    adopted_names: list[str] | None = None  # the folder's class names, when the model had only placeholders

    @property
    def names_note(self) -> str:
        if not self.adopted_names:
            return ""
        return ("the model's classes were unnamed (class 0\u2026): it now uses the folder's names, in order: "
                + ", ".join(self.adopted_names))


def default_out(weights: str | os.PathLike) -> Path:
    """``model.pt`` -> ``model.calibrated.pt`` beside it (never the input itself)."""
    weights = Path(weights)
    return weights.with_name(weights.stem + CALIBRATED_SUFFIX)


def class_mismatch(model_classes: list[str], folder_classes: list[str]) -> str:
    """Why a folder's classes cannot calibrate a model, with both lists; "" when they match."""
    if sorted(model_classes) == sorted(folder_classes):
        return ""
    return (f"the folder's classes do not match the model's: model ({len(model_classes)}): "
            f"{', '.join(model_classes)}; folder ({len(folder_classes)}): {', '.join(folder_classes)}")


def placeholder_names(names: list[str]) -> bool:
    """``class 0``, ``class 1``, ...: what a plain state_dict without a names file gets."""
    return bool(names) and names == [f"class {i}" for i in range(len(names))]


def split_folder(data_dir, split_csv=None, val_split: float = 0.1, seed: int = 0):
    """``(folder, train items, held-out items, how)``, as ``train`` splits it; DatasetError if unusable."""
    from ..data.datasets import scan_labeled_folder, split_from_csv, stratified_split

    data = scan_labeled_folder(data_dir)
    if split_csv:
        data = split_from_csv(data, split_csv)
    if data.val is not None:
        return data, data.train, data.val, data.split_from
    train, held = stratified_split(data.train, val_split, seed)
    return data, train, held, f"stratified {1 - val_split:.0%}/{val_split:.0%} split (seed {seed})"


def calibrate_model(weights: str | os.PathLike, data_dir: str | os.PathLike, out: str | os.PathLike | None = None, *,
                    split_csv: str | os.PathLike | None = None, val_split: float = 0.1, seed: int = 0,
                    method: str = DEFAULT_METHOD, k: int = DEFAULT_K, device: str = "auto", workers: int | None = None,
                    features: str = "auto", should_stop: Callable[[], bool] | None = None) -> Iterator[object]:
    """Yield Stage events; return a :class:`CalibrationResult`, or None when cancelled (nothing
    written). Raises CalibrationError, WeightsError, OutputError or DeviceError (one line each).
    ``features``: ``auto`` scores on the ImageNet teacher's features when it is installed, else
    on the model's own (``teacher`` / ``model`` force one; see fit.TRUST_FEATURES)."""
    import numpy as np

    from ..atomic import check_output_file
    from ..data.datasets import DatasetError
    from ..data.decoded import decode_all
    from ..model.checkpoint import save_checkpoint
    from ..model.devices import resolve_device
    from ..model.loading import load_model
    from ..train.events import Stage
    from ..teacher.features import features_of_images
    from .features import FEATURES_KIND, extract, normaliser
    from .record import TEACHER_FEATURES

    should_stop = should_stop or (lambda: False)
    weights = Path(weights)
    if weights.suffix.lower() == ".onnx":
        raise CalibrationError(f"{weights.name}: calibrate reads .pt or .safetensors weights (ONNX files are "
                               "exported from them: calibrate the weights, then export again)")
    out = Path(out) if out is not None else default_out(weights)
    check_output_file(out)
    loaded = load_model(weights)
    info = loaded.info
    try:
        data, train_items, held_items, how = split_folder(data_dir, split_csv, val_split, seed)
    except DatasetError as exc:
        raise CalibrationError(str(exc)) from None
    adopted = None
    if placeholder_names(info.class_names) and len(info.class_names) == len(data.classes):
        adopted = list(data.classes)  # sorted, as the model was most likely trained (ImageFolder order)
        info.class_names, info.class_names_from = adopted, "checkpoint"
        yield Stage(f"the model's classes are unnamed: using the folder's names ({', '.join(adopted)})")
    mismatch = class_mismatch(info.class_names, data.classes)
    if mismatch:
        raise CalibrationError(mismatch)
    to_model = [info.class_names.index(name) for name in data.classes]  # folder label -> model output
    if len(held_items) < MIN_HELD_OUT:
        raise CalibrationError(f"only {len(held_items)} held-out photos ({how}); the threshold and temperature need "
                               f"at least {MIN_HELD_OUT}: add photos or give a larger --val-split")
    if len(train_items) > BANK_ROWS:
        train_items = random.Random(seed).sample(list(train_items), BANK_ROWS)  # enough to fit; bounded time
    from ..teacher.model import TeacherError

    try:
        use_teacher, _ = teacher_or_model(features)
    except TeacherError as exc:
        raise CalibrationError(str(exc)) from None
    device = resolve_device(device)
    model = loaded.model.to(device)
    normalise = normaliser(info.mean, info.std, device)
    outputs, skipped = {}, []
    for name, items in (("training", train_items), ("held-out", held_items)):
        yield Stage(f"reading {len(items)} {name} photos of {Path(data_dir).name}", 0, len(items))
        decoded = decode_all(items, info.resize_size, info.image_size, workers, should_stop=should_stop)
        skipped += decoded.skipped
        if should_stop():
            return None
        yield Stage(f"computing features of {len(decoded.images)} {name} photos", 0, len(decoded.images))
        got = extract(model, decoded.images, normalise, device, should_stop)
        if got is None or should_stop():
            return None
        if use_teacher:
            got = (got[0], features_of_images(decoded.images, should_stop=should_stop))
            if got[1] is None:
                return None
        outputs[name] = (*got, np.array([to_model[y] for y in decoded.labels], dtype=np.int64))
    if len(outputs["held-out"][2]) < MIN_HELD_OUT or len(outputs["training"][2]) == 0:
        raise CalibrationError(f"too few readable photos in {Path(data_dir).name} to calibrate on")
    (_, fit_feats, fit_labels), (held_logits, held_feats, held_labels) = outputs["training"], outputs["held-out"]
    yield Stage(f"fitting on {len(held_labels)} held-out photos ({how})")
    trust = fit_trust(fit_feats, fit_labels, held_logits, held_feats, held_labels, info.num_classes, method=method,
                      k=k, seed=seed, fitted_on=f"{len(held_labels)} held-out photos of {Path(data_dir).name} ({how})",
                      features=TEACHER_FEATURES if use_teacher else FEATURES_KIND)
    info.trust = trust
    half = _stored_half(weights)
    save_checkpoint(out, loaded.model, info, half=half)
    load_model(out)  # what was written reads back, strictly checked
    return CalibrationResult(out, trust, len(fit_labels), len(held_labels), skipped, adopted)


def _stored_half(weights: Path) -> bool:
    """Whether the input stored its weights as fp16 (kept so: a calibrated file is no larger)."""
    import torch

    from ..model.loading import _torch_load, _unwrap

    if weights.suffix.lower() == ".safetensors":
        return False
    state, _ = _unwrap(_torch_load(weights), weights)
    floats = [v for v in state.values() if isinstance(v, torch.Tensor) and v.is_floating_point()]
    return bool(floats) and all(v.dtype == torch.float16 for v in floats)
