"""Weights that take memory instead of code: deflate bombs inside a ``.pt`` (also under an extra
key), stride-0 tensors, bool weights, and metadata sizes that make classification take it all."""

from __future__ import annotations

import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torchvision

from resnet_gui.core.model.checkpoint import WeightsError
from resnet_gui.core.model.loading import load_model


class _Storage:
    def __init__(self, key: str, numel: int):
        self.key, self.numel = key, numel


class _Tensor:
    """Pickles like torch.save's tensors: _rebuild_tensor_v2 over a persistent storage id."""

    def __init__(self, storage: _Storage, shape, stride):
        self.storage, self.shape, self.stride = storage, tuple(shape), tuple(stride)

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, (self.storage, 0, self.shape, self.stride, False, OrderedDict())


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return "storage", torch.FloatStorage, obj.key, "cpu", obj.numel
        return None


def write_pt(path: Path, real: dict, bombs: dict[str, tuple[int, int]]) -> Path:
    """A torch zip file: ``real`` tensors stored as torch stores them, and ``bombs`` (name ->
    shape) as zeros deflated, so a 1.1 GB tensor takes about 5 MB on disk."""
    entries, objects = {}, OrderedDict()
    for i, (name, tensor) in enumerate(real.items()):
        tensor = tensor.detach().float().contiguous()
        storage = _Storage(str(i), tensor.numel())
        objects[name] = _Tensor(storage, tensor.shape, tensor.stride())
        entries[f"archive/data/{i}"] = tensor.numpy().tobytes()
    bomb_keys = {}
    for j, (name, shape) in enumerate(bombs.items(), start=len(real)):
        storage = _Storage(str(j), shape[0] * shape[1])
        objects[name] = _Tensor(storage, shape, (shape[1], 1))
        bomb_keys[f"archive/data/{j}"] = shape[0] * shape[1] * 4
    with zipfile.ZipFile(path, "w") as archive:
        import io

        buffer = io.BytesIO()
        _Pickler(buffer, protocol=2).dump(objects)
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/byteorder", "little")
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, size in bomb_keys.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as handle:
                chunk = bytes(1 << 24)
                for _ in range(size // len(chunk)):
                    handle.write(chunk)
                handle.write(bytes(size % len(chunk)))
        archive.writestr("archive/version", "3\n")
    return path


def _state(num_classes: int = 3) -> dict:
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=num_classes).state_dict()


def test_the_writer_makes_files_torch_loads(tmp_path):
    path = write_pt(tmp_path / "plain.pt", _state(), {})
    assert load_model(path).info.arch == "resnet18"


def _load_in_child(path: Path) -> tuple[str, float]:
    """load_model in a fresh process: its one-line error and its peak memory in MB."""
    code = ("import resource, sys; from resnet_gui.core.model.loading import load_model\n"
            "from resnet_gui.core.model.checkpoint import WeightsError\n"
            "try:\n    load_model(sys.argv[1]); print('loaded')\n"
            "except WeightsError as exc:\n    print(exc)\n"
            # VmHWM is this process's own peak; ru_maxrss would carry the forking pytest's over exec
            "print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    message, peak = done.stdout.strip().splitlines()
    return message, float(peak)


@pytest.mark.parametrize("key", ["fc.weight", "extra.weight"])
def test_a_deflate_bomb_is_refused_from_the_zip_directory(tmp_path, key):
    """550,000 x 512 zeros: 1.1 GB inflated, 1 MB on disk; in fc.weight or under an extra key."""
    state = _state()
    bombs = {key: (550_000, 512)}
    if key == "fc.weight":
        del state["fc.weight"]
    path = write_pt(tmp_path / "bomb.pt", state, bombs)
    assert path.stat().st_size < 60_000_000
    message, peak = _load_in_child(path)
    assert "unpacks to 1.2 GB" in message and "refused before unpacking" in message
    assert peak < 900, f"peak {peak:.0f} MB"  # torch itself takes 300-500 MB; the bomb would add 1,100


def test_an_extra_key_is_refused_before_any_tensor_is_scanned(tmp_path):
    state = _state()
    state["extra"] = torch.full((4,), float("nan"))
    torch.save(state, tmp_path / "extra.pt")
    with pytest.raises(WeightsError, match="unexpected: extra"):
        load_model(tmp_path / "extra.pt")


@pytest.mark.parametrize("key,shape", [("fc.weight", (3, 512)), ("huge", (1 << 40, 512))])
def test_stride_zero_tensors_are_refused_in_one_line(tmp_path, key, shape):
    state = _state()
    state[key] = torch.zeros(1, 1).expand(*shape)
    torch.save(state, tmp_path / "stride.pt")
    with pytest.raises(WeightsError, match="stride 0"):
        load_model(tmp_path / "stride.pt")


@pytest.mark.parametrize("dtype", [torch.bool, torch.int32, torch.complex64])
def test_weights_that_are_not_real_numbers_are_refused(tmp_path, dtype):
    state = _state()
    state["fc.weight"] = torch.zeros(3, 512, dtype=dtype)
    torch.save(state, tmp_path / "odd.pt")
    with pytest.raises(WeightsError, match="not weights"):
        load_model(tmp_path / "odd.pt")


def test_a_head_too_large_for_memory_is_refused_from_its_shape(tmp_path):
    """A file stored without compression is as large as its tensors; the shapes (read without
    their data) refuse a head over the cap before anything is allocated."""
    from resnet_gui.core.model.loading import _expected_model

    state = {k: v.to("meta") for k, v in _state().items()}
    state["fc.weight"] = torch.empty(600_000, 512, device="meta")
    with pytest.raises(WeightsError, match="600000 classes make a head over 1024 MB"):
        _expected_model(state, None, {}, tmp_path / "wide.pt")


@pytest.mark.parametrize("meta,shown", [({"image_size": 2048, "resize_size": 8192}, "image_size 2048 is outside 16..512"),
                                        ({"image_size": 512, "resize_size": 8192}, "resize_size 8192 is outside 512..1024")])
def test_metadata_sizes_beyond_bounded_memory_are_refused(tmp_path, capsys, meta, shown):
    """2048 / 8192 px took 14.5 GB to classify 40 photos; the bounds are documented in docs/threat-model.md."""
    from resnet_gui.cli import main
    from resnet_gui.core.model.checkpoint import ModelInfo, checkpoint_dict

    info = ModelInfo(arch="resnet18", class_names=["a", "b", "c"])
    saved = checkpoint_dict(_state(), info)
    saved.update(meta)
    torch.save(saved, tmp_path / "big.pt")
    with pytest.raises(WeightsError, match=shown):
        load_model(tmp_path / "big.pt")
    (tmp_path / "p.jpg").write_bytes(b"not read")
    assert main(["classify", "--weights", str(tmp_path / "big.pt"), str(tmp_path / "p.jpg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and shown in err[0]
