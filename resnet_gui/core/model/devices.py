"""Choosing the compute device: auto, cpu, cuda or mps."""

from __future__ import annotations

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(RuntimeError):
    """The requested device is not usable on this machine."""


def available_devices() -> list[str]:
    """Devices this machine can run on, CPU always included."""
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str = "auto"):
    import torch

    name = (name or "auto").lower()
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise DeviceError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    available = available_devices()
    if name == "auto":
        for preferred in ("cuda", "mps"):
            if preferred in available:
                return torch.device(preferred)
        return torch.device("cpu")
    if name.split(":")[0] not in available:
        raise DeviceError(f"{name.upper()} was requested but is not available on this machine (available: {', '.join(available)})")
    return torch.device(name)


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
