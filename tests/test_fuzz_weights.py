"""Fuzzing weights loading (load_model, find_class_names): random bytes, the app's checkpoint
with random metadata and damaged bytes, safetensors with random metadata JSON, tensors of
wrong shapes, dtypes and values, and random class-name sidecars. The property: a model that
can work (sane sizes, normalisation, names), or one WeightsError line; nothing written.
Full loads build a real resnet18 (about a second each), so the suite runs few of those."""

from __future__ import annotations

import functools
import io
import json
import math

import pytest
import torch
import torchvision
from hypothesis import strategies as st

from fuzz_support import Property, on_file, one_line, read_only, sandbox
from resnet_gui.core.model.checkpoint import ModelInfo, WeightsError, checkpoint_dict
from resnet_gui.core.model.class_names import _SIDECARS, find_class_names
from resnet_gui.core.model.loading import load_model

META_KEYS = ["arch", "class_names", "image_size", "resize_size", "mean", "std", "training", "format", "version",
             "torch_version", "state_dict"]
SCALARS = (st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(["big", "resnet18", "resnet50", "224", ""]))
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
META_VALUES = JSONISH | st.lists(st.text(max_size=8), min_size=3, max_size=3) | st.sampled_from(
    [0, -5, 10**9, 1e9, 224.0, 223.5, [0.5, 0.5], [0.0, 0.0, 0.0], [math.nan] * 3, "x" * 1000])
MAGICS = [b"", b"PK\x03\x04", b"\x80\x02", b"\x80\x05\x95", b"\x08\x00\x00\x00\x00\x00\x00\x00{",
          b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{}}   "]
DTYPES = [torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.uint8, torch.bool, torch.int64,
          torch.complex64, torch.float8_e4m3fn, torch.float8_e5m2]


@functools.lru_cache(maxsize=None)
def _state() -> dict:
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=3).state_dict()


@functools.lru_cache(maxsize=None)
def _checkpoint_bytes() -> bytes:
    out = io.BytesIO()
    torch.save(checkpoint_dict(_state(), ModelInfo("resnet18", ["a", "b", "c"])), out)
    return out.getvalue()


def _expect_model_or_error(path, arch: str | None = None):
    """load_model(path): a model that can work, or one WeightsError line."""
    with read_only(path.parent):
        try:
            loaded = load_model(path, arch=arch)
        except WeightsError as exc:
            one_line(exc)
            return None
    info = loaded.info
    assert isinstance(info.class_names, list) and all(isinstance(n, str) for n in info.class_names)
    assert len(info.class_names) == loaded.model.fc.out_features >= 1
    for size in (info.image_size, info.resize_size):
        assert isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 65536, size
    assert len(info.mean) == len(info.std) == 3 and all(math.isfinite(x) for x in (*info.mean, *info.std))
    assert min(info.std) > 0 and all(isinstance(n, str) for n in info.notes)
    return loaded


def check_random_bytes(magic: bytes, data: bytes, suffix: str) -> None:
    on_file(f"w{suffix}", magic + data, _expect_model_or_error)


def check_damaged_checkpoint(flips: list, cut: float | None) -> None:
    """Bytes changed where the parsers look (zip headers and the pickle up front, the
    central directory at the end), or the file cut short."""
    data = bytearray(_checkpoint_bytes())
    for position, at_end, value in flips:
        data[len(data) - 1 - position if at_end else position] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    on_file("w.pt", bytes(data), _expect_model_or_error)


def check_checkpoint_meta(overrides: dict, dropped: list, arch: str | None) -> None:
    ckpt = checkpoint_dict(_state(), ModelInfo("resnet18", ["a", "b", "c"]))
    ckpt.update(overrides)
    for key in dropped:
        ckpt.pop(key, None)
    with sandbox() as box:
        try:
            torch.save(ckpt, box / "w.pt")
        except (TypeError, ValueError, OverflowError, RuntimeError):  # not something torch can write either
            return
        _expect_model_or_error(box / "w.pt", arch)


def check_safetensors_meta(meta, extra_keys: dict, flips: list) -> None:
    from safetensors.torch import save

    text = meta if isinstance(meta, str) else json.dumps(meta)
    data = bytearray(save(_state(), metadata={"resnet_gui": text, **extra_keys}))
    header_end = 8 + int.from_bytes(data[:8], "little")
    for position, value in flips:  # inside the JSON header: lengths, offsets, dtypes, shapes
        data[position % header_end] = value
    on_file("w.safetensors", bytes(data), _expect_model_or_error)


def check_tensors(changes: list) -> None:
    state = dict(_state())
    keys = sorted(state)
    for index, action, arg in changes:
        key = keys[index % len(keys)]
        if action == "drop":
            state.pop(key, None)
        elif action == "shape":
            state[key] = torch.zeros(arg)
        elif action == "dtype":
            state[key] = state[key].to(DTYPES[arg[0] % len(DTYPES)]) if key in state else torch.zeros(1)
        elif action in ("nan", "inf", "-inf") and key in state and state[key].is_floating_point():
            state[key] = state[key].clone()
            state[key].view(-1)[arg[0] % max(1, state[key].numel())] = float(action)
        elif action == "extra":
            state[f"extra.{index}"] = torch.zeros(arg)
        elif action == "rename":
            state[f"module.{key}"] = state.pop(key, torch.zeros(1))
        elif action == "intkey":  # torch.save and weights_only take any key
            state[index] = torch.zeros(arg)
        elif action == "sparse" and key in state:
            state[key] = state[key].to_sparse()
        elif action == "meta" and key in state:  # shape and dtype without any data
            state[key] = torch.empty(state[key].shape, dtype=state[key].dtype, device="meta")
    with sandbox() as box:
        torch.save(state, box / "w.pth")
        loaded = _expect_model_or_error(box / "w.pth")
        if loaded is not None:  # what loads is finite
            assert all(bool(torch.isfinite(t).all()) for t in loaded.model.state_dict().values()
                       if t.is_floating_point())


def check_sidecar(content, raw: bool, sidecar: int, num_classes: int) -> None:
    """find_class_names (what load_model asks for a plain state_dict) on a random sidecar."""
    with sandbox() as box:
        name = _SIDECARS[sidecar % len(_SIDECARS)].format(stem="w")
        text = content if raw and isinstance(content, str) else json.dumps(content)
        (box / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        with read_only(box):
            names, source, notes = find_class_names(box / "w.pth", num_classes)
        assert len(names) == num_classes and all(isinstance(n, str) for n in names)
        assert isinstance(source, str) and all(isinstance(n, str) for n in notes)


def check_sidecar_through_load(content) -> None:
    with sandbox() as box:
        torch.save(_state(), box / "w.pth")
        (box / "class_indices.json").write_text(content, encoding="utf-8", errors="surrogatepass")
        loaded = _expect_model_or_error(box / "w.pth")
        assert loaded is not None  # a bad sidecar is a note, never a refused model


SHAPES = st.lists(st.integers(0, 5), max_size=4).map(tuple)
ACTIONS = ["drop", "shape", "dtype", "nan", "inf", "-inf", "extra", "rename", "intkey", "sparse", "meta"]


def _changes(actions: list, dtypes: int) -> st.SearchStrategy:
    args = SHAPES.filter(bool) | st.just((1,)) | st.tuples(st.integers(0, dtypes - 1))
    return st.lists(st.tuples(st.integers(0, 200), st.sampled_from(actions), args), min_size=1, max_size=3)


CHANGES = _changes(ACTIONS, len(DTYPES))
SIDECAR_TEXT = (st.text(max_size=200) | st.sampled_from(["[" * 100_000, "{\"a\":" * 50_000, "\ufeff[1,2,3]",
                                                          "[\"a\", \"b\", \"c\"]", "{\"0\": 1e999}"]))

PROPERTIES = [
    Property("weights random bytes", check_random_bytes,
             {"magic": st.sampled_from(MAGICS), "data": st.binary(max_size=512),
              "suffix": st.sampled_from([".pth", ".pt", ".safetensors", ".ckpt", ".bin"])}, examples=40),
    Property("weights damaged checkpoint", check_damaged_checkpoint,
             {"flips": st.lists(st.tuples(st.integers(0, 3000), st.booleans(), st.integers(0, 255)), max_size=3),
              "cut": st.none() | st.floats(0, 1)}, examples=4),
    Property("weights checkpoint metadata", check_checkpoint_meta,
             {"overrides": st.dictionaries(st.sampled_from(META_KEYS), META_VALUES, max_size=3),
              "dropped": st.lists(st.sampled_from(META_KEYS), max_size=2), "arch": st.none() | st.just("resnet18")},
             examples=6),
    Property("weights safetensors metadata", check_safetensors_meta,
             {"meta": st.text(max_size=40) | st.dictionaries(st.sampled_from(META_KEYS), META_VALUES, max_size=4),
              "extra_keys": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
              "flips": st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=2)}, examples=4),
    Property("weights tensors", check_tensors, {"changes": CHANGES}, examples=5),
    Property("weights sidecar names", check_sidecar,
             {"content": JSONISH | SIDECAR_TEXT, "raw": st.booleans(), "sidecar": st.integers(0, 6),
              "num_classes": st.sampled_from([1, 2, 3, 1000])}, examples=60),
    Property("weights sidecar load", check_sidecar_through_load, {"content": SIDECAR_TEXT}, examples=2),
]



def _at(key: str) -> int:
    return sorted(_state()).index(key)


# Found by these fuzzers in loading.py, fixed there; kept as regression tests.
FOUND = [
    pytest.param([(5, "intkey", (1,))], id="int-key"),
    pytest.param([(_at("fc.weight"), "sparse", (1,))], id="sparse-tensor"),
    pytest.param([(_at("fc.bias"), "meta", (1,))], id="meta-tensor"),
    pytest.param([(_at("fc.weight"), "dtype", (DTYPES.index(torch.float8_e4m3fn),))], id="float8-tensor"),
]


@pytest.mark.parametrize("changes", FOUND)
def test_tensors_found_by_fuzzing(changes):
    check_tensors(changes)


def test_bytes_found_by_fuzzing():
    check_random_bytes(b"\x80\x02", b"X", ".pth")  # protocol 2, then a string opcode without its length


(test_weights_random_bytes, test_weights_damaged_checkpoint, test_weights_checkpoint_metadata,
 test_weights_safetensors_metadata, test_weights_tensors, test_weights_sidecar_names,
 test_weights_sidecar_load) = (p.test() for p in PROPERTIES)
