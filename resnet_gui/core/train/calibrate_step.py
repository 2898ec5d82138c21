"""The last step of a training run: out-of-class detection and the temperature (core/trust),
fitted on the best model with the run's own split (training photos describe the classes,
validation photos set the threshold and the temperature), and stored in its checkpoint."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Iterator

from .events import Calibrated, Stage


def calibrate_after_training(out: Path, half: bool, image_size: int, train_set, val_set, device, seed: int,
                             should_stop: Callable[[], bool], none_set=None) -> Iterator[object]:
    """Yield Stage events; return a :class:`Calibrated` (its ``message`` says why when nothing
    was fitted). The checkpoint at ``out`` is rewritten atomically only when all went well.
    Under torchrun this runs on rank 0 with the images it holds (in head mode, its share).
    ``none_set``: held-out photos of none of the classes (``_none``), which then help set the threshold."""
    import numpy as np
    from torchvision.transforms.v2 import functional as F

    from ..model.checkpoint import WeightsError, save_checkpoint
    from ..model.loading import load_model
    from ..teacher.features import features_of_images
    from ..trust.features import FEATURES_KIND, extract, normaliser
    from ..trust.fit import BANK_ROWS, fit_trust, teacher_or_model
    from ..trust.record import TEACHER_FEATURES

    if not val_set.labels or not train_set.labels:
        return Calibrated("out-of-class detection and temperature: not fitted (no validation photos)")
    try:
        loaded = load_model(out)  # the best epoch, exactly as saved
    except WeightsError as exc:
        return Calibrated(f"out-of-class detection and temperature: not fitted ({exc})")
    info = loaded.info
    model = loaded.model.to(device)
    normalise = normaliser(info.mean, info.std, device)
    picked = sorted(random.Random(seed).sample(range(len(train_set.images)), min(BANK_ROWS, len(train_set.images))))
    train_images = [F.center_crop(train_set.images[i], [image_size, image_size]) for i in picked]
    none_images = list(none_set.images) if none_set is not None else []
    total = len(train_images) + len(val_set.images) + len(none_images)
    yield Stage(f"fitting out-of-class detection and temperature on {len(train_images)} training and "
                f"{len(val_set.images) + len(none_images)} validation photos", 0, total)
    fitted = extract(model, train_images, normalise, device, should_stop)
    held = extract(model, val_set.images, normalise, device, should_stop) if fitted is not None else None
    none = extract(model, none_images, normalise, device, should_stop) if held is not None and none_images else None
    use_teacher, note = teacher_or_model("auto")
    if use_teacher and held is not None:  # the score on the ImageNet teacher's features (docs/trust.md)
        fit_t = features_of_images(train_images, should_stop=should_stop)
        held_t = features_of_images(val_set.images, should_stop=should_stop) if fit_t is not None else None
        none_t = features_of_images(none_images, should_stop=should_stop) if none is not None else None
        fitted, held = (None, None) if held_t is None else ((fitted[0], fit_t), (held[0], held_t))
        if none is not None:
            none = None if none_t is None else (none[0], none_t)
    if held is None or should_stop():
        return Calibrated("out-of-class detection and temperature: not fitted (cancelled); "
                          "resnet-gui calibrate MODEL DATA_DIR adds them")
    yield Stage("fitting out-of-class detection and temperature", total, total)
    fitted_on = f"the validation split of training ({len(val_set.labels)} photos)"
    if none is not None:
        fitted_on += f" and {len(none_images)} photos of none of the classes"
    trust = fit_trust(fitted[1], np.array([train_set.labels[i] for i in picked]), held[0], held[1],
                      np.array(val_set.labels), info.num_classes, seed=seed, fitted_on=fitted_on,
                      none_logits=None if none is None else none[0], none_features=None if none is None else none[1],
                      features=TEACHER_FEATURES if use_teacher else FEATURES_KIND)
    info.trust = trust
    try:
        save_checkpoint(out, loaded.model, info, half=half)
    except (OSError, RuntimeError) as exc:  # the model saved before is intact
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:200]
        return Calibrated(f"out-of-class detection and temperature: not saved ({reason}); the model is kept without them")
    return Calibrated(trust.describe() + (f"; {note}" if note else ""), trust.temperature, trust.ece_before, trust.ece_after, trust.threshold,
                      trust.pass_rate, trust.photos, trust.method)
