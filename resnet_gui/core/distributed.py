"""Running under ``torchrun``: who this process is (rank, world size, device) and the few
collectives the trainer and the classifier need. No Qt; torch is imported lazily.

Without torchrun (no ``WORLD_SIZE`` > 1 in the environment) :func:`from_env` gives a
single-process :class:`Dist` whose collectives return their input, so callers need no
branches and a plain run is unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

TIMEOUT_ENV = "RESNET_GUI_DIST_TIMEOUT"  # seconds a collective waits for a silent peer
DEFAULT_TIMEOUT = 600  # long enough for rank 0 to save a big checkpoint, short enough to notice a hung node


class DistributedError(RuntimeError):
    """A process of the group failed or cannot be reached; ``str()`` is one line."""


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: Any = None  # torch.device this process computes on
    backend: str = ""  # "nccl" | "gloo" | "" (single process)
    _objects: Any = field(default=None, repr=False)  # gloo group for pickled objects and CPU tensors

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence) -> list:
        """This rank's share, strided (rank, rank + world, ...): neighbours in a folder, which
        tend to cost alike, are spread over the ranks."""
        return list(items[self.rank::self.world])

    # --- collectives (identity for a single process) ---------------------------------

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (pickled: small objects and state dicts)."""
        if not self.active:
            return obj
        import torch.distributed as td

        box = [obj if self.is_main else None]
        _collective(td.broadcast_object_list, box, src=0, group=self._objects)
        return box[0]

    def gather(self, obj: Any) -> list | None:
        """Every rank's ``obj`` in rank order, on rank 0 only (None elsewhere)."""
        if not self.active:
            return [obj]
        import torch.distributed as td

        out = [None] * self.world if self.is_main else None
        _collective(td.gather_object, obj, out, dst=0, group=self._objects)
        return out

    def all_gather(self, obj: Any) -> list:
        """Every rank's ``obj`` in rank order, on every rank."""
        if not self.active:
            return [obj]
        import torch.distributed as td

        out: list = [None] * self.world
        _collective(td.all_gather_object, out, obj, group=self._objects)
        return out

    def all_gather_cpu(self, tensor) -> list:
        """Every rank's CPU tensor (first dimensions may differ), in rank order, on every rank.
        Sent as tensors over the gloo group, not pickled: features of many images are large."""
        if not self.active:
            return [tensor]
        import torch
        import torch.distributed as td

        tensor = tensor.contiguous()
        sizes = [int(n) for n in self.all_gather(tensor.shape[0])]
        padded = torch.zeros((max(sizes), *tensor.shape[1:]), dtype=tensor.dtype)
        padded[:tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in sizes]
        _collective(td.all_gather, parts, padded, group=self._objects)
        return [part[:n] for part, n in zip(parts, sizes)]

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sum over ranks, on every rank (one small all-reduce)."""
        if not self.active:
            return list(values)
        import torch
        import torch.distributed as td

        t = torch.tensor(list(values), dtype=torch.float64)
        _collective(td.all_reduce, t, group=self._objects)
        return t.tolist()

    def average_(self, tensors) -> None:
        """In place: each tensor becomes its mean over ranks (BatchNorm statistics)."""
        if not self.active:
            return
        import torch.distributed as td

        for t in tensors:
            _collective(td.all_reduce, t)
            t.div_(self.world)

    def on_main(self, fn: Callable[[], Any], errors: tuple = ()) -> Any:
        """Run ``fn`` on rank 0 only; every rank gets its result, or raises its error (one of
        ``errors``), so no rank waits forever for a rank that already gave up."""
        result, failure = None, None
        if self.is_main:
            try:
                result = fn()
            except errors as exc:
                failure = exc
        if not self.active:
            if failure is not None:
                raise failure
            return result
        result, failure = self.broadcast((result, failure))
        if failure is not None:
            raise failure
        return result

    def local_first(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on each machine's local rank 0 first, then on the others: one download
        per machine into torch's cache, not one per GPU racing for the same file."""
        if not self.active:
            return fn()
        if self.local_rank != 0:
            self.barrier()
        result = fn()
        if self.local_rank == 0:
            self.barrier()
        return result

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as td

            _collective(td.barrier, group=self._objects)


def _collective(fn, *args, **kwargs):
    """Call a torch.distributed collective; a dead or silent peer becomes one clear line."""
    try:
        return fn(*args, **kwargs)
    except RuntimeError as exc:
        raise DistributedError(lost_contact(exc)) from exc


def lost_contact(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "]" in first[:200]:  # drop gloo's "[/path/to/pair.cc:545]" source location
        first = first.split("]", 1)[1].strip()
    return f"another process of the group stopped or cannot be reached ({first[:160]})"


def describe_failure(exc: BaseException, rank: int) -> str:
    """One line for an error under torchrun: a lost peer, or this process's own failure."""
    if isinstance(exc, DistributedError):
        return str(exc)
    text = str(exc)
    if type(exc).__name__.startswith("Dist") or any(w in text for w in ("gloo", "NCCL", "Connection", "connection")):
        return lost_contact(exc)
    return f"process {rank} failed: {(text.strip().splitlines() or [type(exc).__name__])[0][:200]}"


_CURRENT: Dist | None = None


def launched() -> bool:
    """Started by torchrun (or srun with its variables) with more than one process?"""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ
    except ValueError:
        return False


def env_rank() -> int:
    """This process's rank as torchrun set it (0 without torchrun), before any group exists:
    commands use it to let only rank 0 print."""
    return int(os.environ.get("RANK", "0")) if launched() else 0


def from_env(device: str = "auto") -> Dist:
    """This process's :class:`Dist`; the process group is created on the first call.

    Under torchrun each process takes its own GPU (``cuda:LOCAL_RANK``, backend nccl), or
    the CPU (backend gloo) when there is no GPU or ``device`` is ``cpu``.
    """
    global _CURRENT
    from .model.devices import DeviceError, resolve_device

    if not launched():
        return Dist(device=resolve_device(device))
    if _CURRENT is not None:
        return _CURRENT
    import datetime

    import torch
    import torch.distributed as td

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    base = resolve_device(device)
    if base.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise DeviceError(f"local rank {local_rank} has no GPU: this machine has {torch.cuda.device_count()}; "
                              f"use --nproc_per_node={torch.cuda.device_count()} or fewer")
        torch.cuda.set_device(local_rank)  # "cuda" without an index now means this rank's GPU
        dev, backend = torch.device("cuda", local_rank), "nccl"
    elif base.type == "cpu":
        dev, backend = base, "gloo"
    else:
        raise DeviceError(f"torchrun on {base.type.upper()} is not supported; use --device cpu")
    timeout = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT)))
    try:
        if not td.is_initialized():
            kwargs = {"device_id": dev} if backend == "nccl" else {}
            td.init_process_group(backend, timeout=timeout, **kwargs)
        # pickled objects and CPU tensors travel over gloo even when the gradients use nccl
        objects = td.new_group(backend="gloo", timeout=timeout) if backend == "nccl" else None
    except RuntimeError as exc:
        raise DistributedError(f"cannot join the process group of {world}: {lost_contact(exc)}") from exc
    _CURRENT = Dist(rank, world, local_rank, dev, backend, objects)
    return _CURRENT


def shutdown() -> None:
    """Leave the process group (at the end of a command), so torchrun sees a clean exit."""
    global _CURRENT
    if _CURRENT is None:
        return
    import torch.distributed as td

    if td.is_initialized():
        td.destroy_process_group()
    _CURRENT = None
