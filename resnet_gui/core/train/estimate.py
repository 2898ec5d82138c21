"""About how long a fine-tune will take here, from a short measurement on this machine: a few of
the folder's photos decoded, and a few batches through the chosen network (forward only for
features and validation; forward, backward and an optimizer step for the whole network).

``measure_speed`` takes seconds (it runs in the background); ``estimate_run`` is plain
arithmetic, so a change of epochs or of the validation share needs no new measurement.
"""

from __future__ import annotations

import io
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from .config import TEACHER, TrainConfig

SAMPLE_PHOTOS = 6  # photos decoded to time decoding
PASS_SECONDS = 1.5  # a timed pass on a CPU: long enough for a fair batch size, short enough for a quick Cancel
DISK_BYTES_PER_SECOND = 300e6  # a checkpoint and a resume file are written each epoch


@dataclass
class Speed:
    """Seconds per image (or per epoch for saving) measured for one architecture, size, mode and device."""

    device: str
    decode: float  # reading and decoding one photo, with the decoding threads
    forward: float  # one image through the network without gradients (features, validation)
    train: float  # one training image: augmentation, forward, backward, optimizer step (0 in head mode)
    save: float  # the files written after each epoch
    calibration_rows: int = 0  # training photos the run's last step (calibrate_step) passes through the network
    teacher: float = 0.0  # the teacher-guided start: one image through the ImageNet teacher (0: not that start)


@dataclass
class Estimate:
    seconds: float
    parts: list[tuple[str, float]] = field(default_factory=list)  # ("reading 2,569 photos", seconds), ...

    def describe(self) -> str:
        """"about 4 min", "about 40 s", "about 1 h 20 min"."""
        return about(self.seconds)

    def breakdown(self) -> str:
        return "\n".join(f"{name}: {about(seconds).removeprefix('about ')}" for name, seconds in self.parts)


def about(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown"
    if seconds < 50:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {max(1, minutes)} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


def sample_photos(data_dir: str, n: int = SAMPLE_PHOTOS) -> list:
    """``n`` photos spread over the labeled folder (every class, not just the first)."""
    from ..data.datasets import scan_labeled_folder

    data = scan_labeled_folder(data_dir)
    items = list(data.train) + list(data.val or [])
    step = max(1, len(items) // n)
    return [path for path, _ in items[::step][:n]]


def measure_speed(cfg: TrainConfig, arch: str, sample_paths: list, should_stop: Callable[[], bool],
                  workers: int | None = None) -> Speed | None:
    """Time decoding ``sample_paths`` and a few batches of ``arch`` at ``cfg``'s image size, mode,
    batch size and device (random weights: the speed does not depend on them). None if stopped."""
    import torch

    from ..data.decoded import default_workers
    from ..data.transforms import decode_tensor, resize_for
    from ..model.architectures import build_model
    from ..model.devices import resolve_device
    from .setup import amp_dtype, augmenter
    from .steps import FEATURE_CHUNK, Compute

    size = cfg.image_size or 224
    device = resolve_device(cfg.device)
    decoded, seconds = [], []
    for path in sample_paths[:SAMPLE_PHOTOS]:
        started = time.perf_counter()
        try:
            decoded.append(decode_tensor(path, resize_for(size)))
        except Exception:  # noqa: BLE001 - an unreadable photo is skipped by training too
            pass
        seconds.append(time.perf_counter() - started)
    threads = max(1, min(workers or default_workers(), os.cpu_count() or 1))
    timed_photos = seconds[1:] or seconds  # the first one also pays for the decoders' first use
    decode = sum(timed_photos) / max(1, len(timed_photos)) / threads
    if should_stop():
        return None

    model = build_model(arch, 2).to(device).to(memory_format=torch.channels_last)
    compute = Compute(device, amp_dtype(cfg, device))
    x = torch.randint(0, 256, (max(FEATURE_CHUNK, cfg.batch_size or 32), 3, size, size), dtype=torch.uint8)

    def per_image(step, most: int) -> float | None:
        """Seconds per image of ``step(n)`` at the batch size training uses (``most``) or, on a CPU,
        at a batch of about PASS_SECONDS (bigger batches cost less per image); None if stopped."""
        cpu = device.type == "cpu"
        if should_stop():
            return None
        step(2 if cpu else most)  # warm-up: the first passes also pay for setting up kernels
        began = time.perf_counter()
        step(2 if cpu else most)
        warm = (time.perf_counter() - began) / 2
        n = max(min(most, 8), min(most, int(PASS_SECONDS / max(warm, 1e-6)))) if cpu else most
        total = 0.0
        for _ in range(1 if cpu else 2):
            if should_stop():
                return None
            began = time.perf_counter()
            step(n)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            total += time.perf_counter() - began
        return total / (1 if cpu else 2) / n

    def forward_step(n: int) -> None:
        model.eval()
        with torch.inference_mode():
            compute.forward(model, compute.normalise(x[:n]))

    forward = per_image(forward_step, FEATURE_CHUNK)
    train = 0.0
    if forward is not None and cfg.mode == "full":
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        augment = augmenter(size, "light" if cfg.pretrained else "strong")
        sample = decoded or [x[0]]

        def train_step(n: int) -> None:
            model.train()
            crops = torch.stack([augment(sample[i % len(sample)]) for i in range(n)])  # real photos' cost
            loss = compute.forward(model, compute.normalise(crops)).float().logsumexp(1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        train = per_image(train_step, cfg.batch_size or 32)
    if forward is None or train is None:
        return None
    teacher = _teacher_seconds(forward, arch, size) if cfg.start == TEACHER else 0.0
    started = time.perf_counter()
    torch.save(model.state_dict(), io.BytesIO())
    model_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    # the resume file also holds the optimizer's two moments in full mode
    files = 2 + (2 if cfg.mode == "full" else 0)
    save = (time.perf_counter() - started) * files / 2 + files * model_bytes / DISK_BYTES_PER_SECOND
    from ..trust.fit import BANK_ROWS

    return Speed(str(device), decode, forward, train, save, BANK_ROWS, teacher)


# The teacher (EfficientNet-Lite0 at 224 px, ONNX Runtime) per image, as a share of a resnet18
# forward pass at 224 px in torch: 0.30 measured on the 2-core development CPU. The estimate
# scales the measured forward pass by it instead of loading the teacher: cheap, and cancelled
# at once when the options change.
TEACHER_PER_RESNET18 = 0.30
_GFLOPS = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 4.1, "resnet101": 7.8, "resnet152": 11.6}  # at 224 px


def _teacher_seconds(forward: float, arch: str, size: int) -> float:
    """Seconds per image through the teacher, from ``arch``'s measured forward pass at ``size`` px."""
    resnet18_at_224 = forward * (224 / size) ** 2 * _GFLOPS["resnet18"] / _GFLOPS.get(arch, _GFLOPS["resnet18"])
    return TEACHER_PER_RESNET18 * resnet18_at_224


def estimate_run(speed: Speed, mode: str, epochs: int, n_train: int, n_val: int) -> Estimate:
    """The run's duration from ``speed``: reading the photos, then features and epochs (head
    mode), or epochs of training and validation (whole network). Early stopping can end it sooner."""
    parts = [(f"reading {n_train + n_val:,} photos", (n_train + n_val) * speed.decode)]
    if mode == "head":
        # the backbone sees each training photo and its mirror image once; the epochs train fc only
        parts.append((f"computing features of {2 * n_train + n_val:,} images", (2 * n_train + n_val) * speed.forward))
        parts.append((f"{epochs} epochs of the last layer", epochs * speed.save))
    else:
        if speed.teacher:  # first run: every photo through the teacher for its head (kept for the next run)
            parts.append((f"the teacher's head on {n_train + n_val:,} photos", (n_train + n_val) * speed.teacher))
        train = speed.train + speed.teacher  # the teacher sees every training view too
        per_epoch = n_train * train + n_val * speed.forward + speed.save
        parts.append((f"{epochs} epochs ({n_train:,} training, {n_val:,} validation photos)", epochs * per_epoch))
    # the last step: out-of-class detection and the temperature, fitted on the best model
    calibrated = min(speed.calibration_rows, n_train) + n_val
    parts.append((f"calibrating confidence on {calibrated:,} photos", calibrated * speed.forward))
    return Estimate(sum(seconds for _, seconds in parts), parts)
