"""The teacher-guided start: a ResNet learns the user's classes from the ImageNet teacher
(core/teacher) when no ImageNet ResNet weights are at hand.

1. A linear probe is fitted on the teacher's pooled features of the training photos (cached
   per photo, so a second run takes seconds); its validation accuracy is reported.
2. The ResNet (the student) then trains to match the teacher-plus-probe on augmented views of
   the photos: each batch's crops are mixed (mixup) and the very same mixed images go to the
   teacher, whose probe's probabilities are the targets ("function matching", Beyer et al.
   2022, "Knowledge distillation: a good teacher is patient and consistent").
   Photos of none of the classes (``_none``) join each batch with the uniform distribution as
   their target (outlier exposure).

The teacher is needed only while training: the result is an ordinary ResNet checkpoint.
"""

from __future__ import annotations

import time
from typing import Callable

from .config import TrainingError
from .events import Stage
from .steps import ImageBatches

MIXUP_ALPHA = 0.5  # mixing weights ~ Beta(alpha, alpha)
TEACHER_SIZE = 224  # the teacher's input (its ONNX graph is built for 224 px)


def load_teacher_and_probe(train_set, val_set, classes: list[str], device, should_stop: Callable[[], bool]):
    """Yield Stages; return ``(teacher, probe, message)``, or None if stopped. The probe is fitted
    on the training photos' teacher features and judged on the validation photos'."""
    import numpy as np

    from ..teacher import TeacherError, fit_probe, load_teacher, teacher_features

    yield Stage("loading the ImageNet teacher (EfficientNet-Lite0)")
    try:
        teacher = load_teacher("cpu" if device.type == "cpu" else str(device))
    except TeacherError as exc:
        raise TrainingError(f"{exc}; or train without it: --from scratch") from None
    paths = [str(p) for p in train_set.paths] + [str(p) for p in val_set.paths]
    total = len(paths)
    yield Stage(f"the teacher's features of {total} photos (kept for next time)", 0, total)
    started = time.perf_counter()
    features = teacher_features(paths, should_stop=should_stop, teacher=teacher)
    if should_stop():
        return None
    yield Stage(f"the teacher's features of {total} photos (kept for next time)", total, total)
    n = len(train_set.paths)
    train_x, val_x = features[:n], features[n:]
    train_y, val_y = np.array(train_set.labels), np.array(val_set.labels)
    usable = ~np.isnan(train_x[:, 0])
    if len(set(train_y[usable].tolist())) < len(classes):
        raise TrainingError("the teacher could not read a training photo of every class")
    probe = fit_probe(train_x[usable], train_y[usable])
    if len(probe.classes) != len(classes):
        raise TrainingError("the teacher's head does not cover every class")
    readable = ~np.isnan(val_x[:, 0])
    accuracy = float((probe.predict(val_x[readable]) == val_y[readable]).mean()) if readable.any() else float("nan")
    message = (f"teacher's head: {accuracy:.1%} on the {int(readable.sum())} validation photos "
               f"(features and fit in {time.perf_counter() - started:.0f} s); now teaching the ResNet")
    yield Stage(message)
    return teacher, probe, message


class DistilBatches(ImageBatches):
    """Augmented, mixed views of the training photos; targets from the teacher and its probe on
    the same images. Validation is the usual one (the student on the validation photos)."""

    def __init__(self, compute, train_set, val_set, augment, teacher, probe, none_images=None, seed: int = 0,
                 alpha: float = MIXUP_ALPHA) -> None:
        super().__init__(compute, train_set, val_set, augment, None, none_images, seed)
        import torch

        self.teacher, self.probe, self.alpha = teacher, probe, alpha
        self.rng = torch.Generator().manual_seed(seed)
        prep = teacher.preprocess
        self.t_mean = torch.tensor(prep.mean).view(1, 3, 1, 1) * 255
        self.t_std = torch.tensor(prep.std).view(1, 3, 1, 1) * 255

    def targets(self, views):
        """The teacher's probe probabilities for float NCHW views in 0..255 (any size)."""
        import torch
        import torch.nn.functional as F

        x = views
        if x.shape[-1] != TEACHER_SIZE or x.shape[-2] != TEACHER_SIZE:
            x = F.interpolate(x, size=(TEACHER_SIZE, TEACHER_SIZE), mode="bilinear", align_corners=False,
                              antialias=True)
        features = self.teacher.features((x - self.t_mean) / self.t_std)
        return torch.from_numpy(self.probe.predict_proba(features.numpy())).float()

    def batch(self, net, idx: list[int]):
        import torch

        views = torch.stack([self.augment(self.train_set.images[i]) for i in idx]).float()
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample()) if self.alpha > 0 else 1.0
        order = torch.randperm(len(idx), generator=self.rng)
        mixed = lam * views + (1 - lam) * views[order]
        with torch.inference_mode():
            targets = self.targets(mixed)
        extra = self.none.pick(len(idx))
        if extra:  # photos of none of the classes: not mixed, the uniform distribution as target
            outliers = torch.stack([self.augment(self.none_images[j]) for j in extra]).float()
            mixed = torch.cat([mixed, outliers])
            targets = torch.cat([targets, torch.full((len(extra), targets.shape[1]), 1.0 / targets.shape[1])])
        x = self.compute.normalise(mixed)
        return self.compute.forward(net, x), targets.clone().to(self.compute.device)
