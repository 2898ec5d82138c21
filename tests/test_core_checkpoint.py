"""Safe, strict loading of ResNet weights in every container the issue lists, and clear
errors for everything else. All files are made in tmp_path."""

from __future__ import annotations

import json
import os
import pickle
from collections import OrderedDict

import pytest
import torch
import torchvision

from resnet_gui.core.model.architectures import ARCH_NAMES, ArchitectureError, build_model, infer_architecture
from resnet_gui.core.model.checkpoint import CHECKPOINT_FORMAT, ModelInfo, WeightsError, save_checkpoint, save_safetensors
from resnet_gui.core.model.class_names import imagenet_class_names
from resnet_gui.core.model.loading import load_model


@pytest.fixture(scope="module")
def net18():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=4).eval()


@pytest.fixture(scope="module")
def sd18(net18):
    return net18.state_dict()


def assert_same_weights(model, state_dict, atol=0.0):
    got = model.state_dict()
    assert set(got) == set(state_dict)
    for key, value in state_dict.items():
        assert torch.allclose(got[key].float(), value.float(), atol=atol), key


# ---------------------------------------------------------------- containers


def test_plain_state_dict_like_the_tutorial(tmp_path, sd18):
    path = tmp_path / "resNet34.pth"  # the tutorial's name; the tensors decide the arch
    torch.save(sd18, path)
    loaded = load_model(path)
    assert loaded.info.arch == "resnet18"
    assert loaded.info.num_classes == 4
    assert loaded.info.class_names == ["class 0", "class 1", "class 2", "class 3"]
    assert loaded.info.class_names_from == "generic"
    assert not loaded.model.training
    assert_same_weights(loaded.model, sd18)


def test_legacy_non_zip_torch_save(tmp_path, sd18):
    path = tmp_path / "old.pth"
    torch.save(sd18, path, _use_new_zipfile_serialization=False)
    assert_same_weights(load_model(path).model, sd18)


@pytest.mark.parametrize("wrap", [
    lambda sd: {"state_dict": sd},
    lambda sd: {"model": sd},
    lambda sd: {"model_state_dict": sd, "epoch": 7, "optimizer": {"lr": 0.1}},
    lambda sd: {"epoch": 3, "best_acc": 0.9, "state_dict": OrderedDict(sd)},
    lambda sd: {"model": {"state_dict": sd}},
], ids=["state_dict", "model", "model_state_dict+extras", "state_dict+metrics", "nested"])
def test_wrapped_state_dicts(tmp_path, sd18, wrap):
    path = tmp_path / "wrapped.pt"
    torch.save(wrap(sd18), path)
    loaded = load_model(path)
    assert loaded.info.arch == "resnet18"
    assert_same_weights(loaded.model, sd18)


def test_dataparallel_module_prefix(tmp_path, sd18):
    path = tmp_path / "dp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd18.items()}}, path)
    loaded = load_model(path)
    assert_same_weights(loaded.model, sd18)


def test_missing_num_batches_tracked_is_accepted(tmp_path, sd18):
    """Files from older torchvision lack BatchNorm's num_batches_tracked."""
    path = tmp_path / "old_bn.pth"
    torch.save({k: v for k, v in sd18.items() if not k.endswith("num_batches_tracked")}, path)
    loaded = load_model(path)
    assert loaded.info.arch == "resnet18"


def test_plain_safetensors(tmp_path, sd18):
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in sd18.items()}, str(path))
    loaded = load_model(path)
    assert loaded.info.arch == "resnet18"
    assert loaded.info.class_names_from == "generic"
    assert_same_weights(loaded.model, sd18)


def test_safetensors_detected_by_content_whatever_the_suffix(tmp_path, sd18):
    from safetensors.torch import save_file

    path = tmp_path / "model.bin"
    save_file({k: v.contiguous() for k, v in sd18.items()}, str(path))
    assert_same_weights(load_model(path).model, sd18)


# ---------------------------------------------------------------- the app's own format


def _info(**kw):
    base = dict(arch="resnet18", class_names=["ant", "bee", "cat", "dog"], image_size=192, resize_size=220,
                mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3), training={"epochs": 2, "val_acc": 0.75})
    base.update(kw)
    return ModelInfo(**base)


def _assert_info_round_trip(info):
    assert info.arch == "resnet18"
    assert info.class_names == ["ant", "bee", "cat", "dog"]
    assert info.class_names_from == "checkpoint"
    assert info.image_size == 192 and info.resize_size == 220
    assert info.mean == pytest.approx((0.5, 0.4, 0.3)) and info.std == pytest.approx((0.2, 0.25, 0.3))


def test_app_checkpoint_round_trip_and_weights_only(tmp_path, net18, sd18):
    path = save_checkpoint(tmp_path / "sub" / "ckpt.pt", net18, _info())
    raw = torch.load(path, weights_only=True)  # loadable by anyone with weights_only
    assert raw["format"] == CHECKPOINT_FORMAT and raw["arch"] == "resnet18"
    loaded = load_model(path)
    _assert_info_round_trip(loaded.info)
    assert loaded.info.training == {"epochs": 2, "val_acc": 0.75}
    assert_same_weights(loaded.model, sd18)
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]  # no temp file left


def test_app_checkpoint_half(tmp_path, net18, sd18):
    full = save_checkpoint(tmp_path / "full.pt", net18, _info())
    half = save_checkpoint(tmp_path / "half.pt", net18, _info(), half=True)
    assert half.stat().st_size < full.stat().st_size * 0.6
    raw = torch.load(half, weights_only=True)
    assert raw["state_dict"]["conv1.weight"].dtype == torch.float16
    assert raw["state_dict"]["bn1.num_batches_tracked"].dtype == torch.int64
    loaded = load_model(half)
    _assert_info_round_trip(loaded.info)
    assert loaded.model.conv1.weight.dtype == torch.float32  # computed in fp32
    assert_same_weights(loaded.model, sd18, atol=2e-3)


def test_app_safetensors_round_trip(tmp_path, net18, sd18):
    path = save_safetensors(tmp_path / "ckpt.safetensors", net18, _info())
    loaded = load_model(path)
    _assert_info_round_trip(loaded.info)
    assert_same_weights(loaded.model, sd18)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]


def test_checkpoint_whose_arch_disagrees_with_its_tensors(tmp_path, sd18):
    path = tmp_path / "lying.pt"
    save_checkpoint(path, sd18, _info(arch="resnet50"))
    with pytest.raises(WeightsError, match="says resnet50.*resnet18"):
        load_model(path)


def test_checkpoint_class_names_count_mismatch_falls_back_with_a_note(tmp_path, sd18):
    path = tmp_path / "c.pt"
    save_checkpoint(path, sd18, _info(class_names=["a", "b"]))
    loaded = load_model(path)
    assert loaded.info.class_names == [f"class {i}" for i in range(4)]
    assert any("2 class names" in n for n in loaded.info.notes)


# ---------------------------------------------------------------- class names


def test_sidecar_class_indices_json(tmp_path, sd18):
    path = tmp_path / "resNet34.pth"
    torch.save(sd18, path)
    names = ["daisy", "dandelion", "roses", "sunflowers"]
    (tmp_path / "class_indices.json").write_text(json.dumps({str(i): n for i, n in enumerate(names)}, indent=4))
    loaded = load_model(path)
    assert loaded.info.class_names == names
    assert loaded.info.class_names_from == "sidecar:class_indices.json"


def test_sidecar_with_wrong_count_is_ignored_with_a_note(tmp_path, sd18):
    path = tmp_path / "w.pth"
    torch.save(sd18, path)
    (tmp_path / "class_indices.json").write_text(json.dumps({"0": "a", "1": "b"}))
    loaded = load_model(path)
    assert loaded.info.class_names == [f"class {i}" for i in range(4)]
    assert any("class_indices.json" in n for n in loaded.info.notes)


def test_sidecar_class_to_idx_mapping(tmp_path, sd18):
    """ImageFolder's class_to_idx ({"daisy": 0, ...}) is the other common way to save names."""
    path = tmp_path / "w.pth"
    torch.save(sd18, path)
    (tmp_path / "classes.json").write_text(json.dumps({"b": 1, "a": 0, "d": 3, "c": 2}))
    assert load_model(path).info.class_names == ["a", "b", "c", "d"]


def test_thousand_outputs_get_imagenet_names(tmp_path):
    # Only fc matters for the names; build a 1000-class resnet18 (the default head).
    torch.manual_seed(0)
    path = tmp_path / "in1k.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    loaded = load_model(path)
    assert loaded.info.class_names_from == "imagenet"
    assert loaded.info.num_classes == 1000
    assert loaded.info.class_names[0] == "tench"
    assert loaded.info.class_names == imagenet_class_names()


# ---------------------------------------------------------------- architectures


@pytest.fixture(scope="module")
def meta_state_dicts():
    """State dicts for all five architectures with real shapes but no memory (meta device)."""
    out = {}
    with torch.device("meta"):
        for arch in ARCH_NAMES:
            out[arch] = getattr(torchvision.models, arch)(num_classes=7).state_dict()
    return out


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_infer_architecture_for_all_five(meta_state_dicts, arch):
    assert infer_architecture(meta_state_dicts[arch]) == (arch, 7)


def test_infer_architecture_rejects_non_resnets():
    with torch.device("meta"):
        vgg = torchvision.models.vgg11(num_classes=3).state_dict()
    with pytest.raises(ArchitectureError, match="fc.weight"):
        infer_architecture(vgg)
    with pytest.raises(ArchitectureError, match="unsupported ResNet layout"):
        infer_architecture({"fc.weight": torch.zeros(2, 512), "layer1.0.conv1.weight": torch.zeros(1)})


@pytest.mark.parametrize("arch", ["resnet34", "resnet50"])
def test_load_bigger_archs_from_file(tmp_path, meta_state_dicts, arch):
    # zeros in fp16 keep the file small; the tensors' names and shapes decide the arch
    sd = {k: torch.zeros(v.shape, dtype=torch.float16 if v.is_floating_point() else v.dtype)
          for k, v in meta_state_dicts[arch].items()}
    path = tmp_path / f"{arch}.pth"
    torch.save(sd, path)
    loaded = load_model(path)
    assert (loaded.info.arch, loaded.info.num_classes) == (arch, 7)
    assert loaded.model.fc.weight.dtype == torch.float32


def test_explicit_arch_that_matches(tmp_path, sd18):
    path = tmp_path / "w.pth"
    torch.save(sd18, path)
    assert load_model(path, arch="resnet18").info.arch == "resnet18"


def test_explicit_arch_mismatch_is_an_error(tmp_path, sd18):
    path = tmp_path / "w.pth"
    torch.save(sd18, path)
    with pytest.raises(WeightsError, match="you chose resnet34.*resnet18"):
        load_model(path, arch="resnet34")
    with pytest.raises(WeightsError, match="unknown architecture 'resnet9'"):
        load_model(path, arch="resnet9")


def test_build_model_unknown_arch():
    with pytest.raises(ArchitectureError, match="unknown architecture"):
        build_model("resnet7", 3)


# ---------------------------------------------------------------- strict loading


def test_missing_key_is_named(tmp_path, sd18):
    sd = dict(sd18)
    del sd["layer2.1.bn2.running_var"]
    path = tmp_path / "missing.pth"
    torch.save(sd, path)
    with pytest.raises(WeightsError, match=r"missing: layer2\.1\.bn2\.running_var"):
        load_model(path)


def test_unexpected_key_is_named(tmp_path, sd18):
    sd = dict(sd18)
    sd["extra_head.weight"] = torch.zeros(3)
    path = tmp_path / "unexpected.pth"
    torch.save(sd, path)
    with pytest.raises(WeightsError, match=r"unexpected: extra_head\.weight"):
        load_model(path)


def test_shape_mismatch_is_named(tmp_path, sd18):
    sd = dict(sd18)
    sd["fc.bias"] = torch.zeros(5)  # fc.weight says 4 classes
    sd["layer3.0.conv1.weight"] = torch.zeros(256, 128, 1, 1)
    path = tmp_path / "shape.pth"
    torch.save(sd, path)
    with pytest.raises(WeightsError, match=r"shape mismatch:.*fc\.bias \(5,\) vs \(4,\)") as err:
        load_model(path)
    assert "layer3.0.conv1.weight" in str(err.value)


def test_many_problems_are_summarised_on_one_line(tmp_path, sd18):
    sd = {k: v for k, v in sd18.items() if not k.startswith("layer4.1.")}
    sd["layer4.1.conv1.weight"] = sd18["layer4.1.conv1.weight"]  # keep the block count
    path = tmp_path / "many.pth"
    torch.save(sd, path)
    with pytest.raises(WeightsError) as err:
        load_model(path)
    message = str(err.value)
    assert "\n" not in message and "missing:" in message and "more" in message


# ---------------------------------------------------------------- refused and broken files


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["torch_zip", "torch_legacy", "plain_pickle", "inside_state_dict"])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, sd18, how):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pth"
    evil = _Evil(marker)
    if how == "torch_zip":
        torch.save(evil, path)
    elif how == "torch_legacy":
        torch.save({"state_dict": evil}, path, _use_new_zipfile_serialization=False)
    elif how == "plain_pickle":
        path.write_bytes(pickle.dumps(evil, protocol=2))
    else:
        sd = dict(sd18)
        sd["fc.weight"] = evil
        torch.save(sd, path)
    with pytest.raises(WeightsError, match="refused") as err:
        load_model(path)
    assert "system" in str(err.value)
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_whole_pickled_module_is_refused_with_advice(tmp_path, net18):
    path = tmp_path / "whole.pth"
    torch.save(net18, path)
    with pytest.raises(WeightsError, match="refused.*state_dict"):
        load_model(path)


def test_truncated_file(tmp_path, sd18):
    good = tmp_path / "good.pth"
    torch.save(sd18, good)
    data = good.read_bytes()
    for cut in (len(data) // 2, 100):
        bad = tmp_path / f"cut{cut}.pth"
        bad.write_bytes(data[:cut])
        with pytest.raises(WeightsError, match="truncated or damaged"):
            load_model(bad)


def test_truncated_safetensors(tmp_path, sd18):
    from safetensors.torch import save_file

    good = tmp_path / "g.safetensors"
    save_file({k: v.contiguous() for k, v in sd18.items()}, str(good))
    bad = tmp_path / "b.safetensors"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(WeightsError, match="b.safetensors"):
        load_model(bad)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pth"
    path.write_bytes(b"")
    with pytest.raises(WeightsError, match="empty"):
        load_model(path)


@pytest.mark.parametrize("content", [
    b"just some notes, not weights\n",
    json.dumps({"0": "daisy", "1": "roses"}).encode(),
    bytes(range(256)) * 16,
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
], ids=["text", "json", "random_bytes", "png"])
def test_non_model_files_are_clear_errors_not_refusals(tmp_path, content):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="not a PyTorch weights file") as err:
        load_model(path)
    assert "refused" not in str(err.value)
    assert "\n" not in str(err.value)


def test_random_bytes_with_safetensors_suffix(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(os.urandom(1000))
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        load_model(path)


@pytest.mark.parametrize("obj,match", [
    ({"epoch": 3, "lr": 0.1}, "no weights found"),
    ({}, "no weights found"),
    ([torch.zeros(3)], "holds a list"),
    (torch.zeros(3), "holds a Tensor"),
    ({"weight": torch.zeros(3, 3)}, "fc.weight"),
])
def test_valid_torch_files_without_resnet_weights(tmp_path, obj, match):
    path = tmp_path / "other.pt"
    torch.save(obj, path)
    with pytest.raises(WeightsError, match=match):
        load_model(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(WeightsError, match="no such file"):
        load_model(tmp_path / "nope.pth")
    with pytest.raises(WeightsError, match="not a file"):
        load_model(tmp_path)


def test_unreadable_file(tmp_path, sd18, monkeypatch):
    import resnet_gui.core.model.loading as loading

    path = tmp_path / "locked.pth"
    torch.save(sd18, path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loading, "open", denied, raising=False)  # works as root too
    with pytest.raises(WeightsError, match="cannot read the file"):
        load_model(path)


# ---------------------------------------------------------------- crafted metadata (issue 11, items 5 and 6)


def _crafted(tmp_path, sd18, name="crafted.pt", state=None, **meta):
    from resnet_gui.core.model.checkpoint import checkpoint_dict

    raw = checkpoint_dict(state if state is not None else sd18, _info())
    raw.update(meta)
    path = tmp_path / name
    torch.save(raw, path)
    return path


@pytest.mark.parametrize("meta, expected", [
    ({"image_size": "big"}, "image_size must be a whole number of pixels, not 'big'"),
    ({"image_size": 0}, "image_size 0 is outside 16..512"),
    ({"image_size": -5}, "image_size -5 is outside"),
    ({"image_size": 10**9}, "image_size 1000000000 is outside"),
    ({"image_size": True}, "image_size must be a whole number"),
    ({"image_size": float("nan")}, "image_size must be a whole number"),
    ({"resize_size": 8}, "resize_size 8 is outside"),
    ({"mean": [0.5, 0.5]}, "mean must be 3 finite numbers"),
    ({"mean": "rgb"}, "mean must be 3 finite numbers"),
    ({"std": [0.2, 0.0, 0.2]}, "std must be above 0"),
    ({"std": [0.2, float("inf"), 0.2]}, "std must be 3 finite numbers"),
])
def test_crafted_metadata_is_refused_in_one_line(tmp_path, sd18, meta, expected):
    path = _crafted(tmp_path, sd18, **meta)
    with pytest.raises(WeightsError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith("crafted.pt: ") and expected in message and "\n" not in message


def test_class_names_that_are_not_a_list_fall_back_with_a_note(tmp_path, sd18):
    loaded = load_model(_crafted(tmp_path, sd18, class_names=5))
    assert loaded.info.class_names == [f"class {i}" for i in range(4)]
    assert any("not a list" in n for n in loaded.info.notes)


def test_training_metadata_that_is_not_a_dict_is_dropped(tmp_path, sd18):
    assert load_model(_crafted(tmp_path, sd18, training=["x"])).info.training is None


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_or_inf_weights_are_refused(tmp_path, sd18, value):
    state = {k: v.clone() for k, v in sd18.items()}
    state["layer2.0.conv1.weight"][0, 0, 0, 0] = value
    with pytest.raises(WeightsError, match=r"NaN or infinite values in 1 tensors \(layer2.0.conv1.weight\)"):
        load_model(_crafted(tmp_path, sd18, state=state))


def test_a_model_without_outputs_is_refused(tmp_path, sd18):
    state = dict(sd18, **{"fc.weight": torch.zeros(0, 512), "fc.bias": torch.zeros(0)})
    path = tmp_path / "empty_fc.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match="no outputs"):
        load_model(path)


@pytest.mark.parametrize("metadata, expected", [("[1, 2]", "not a JSON object"), ("{" * 5 + "oops", "not readable JSON"),
                                                ("[" * 100_000 + "]" * 100_000, "not readable JSON"),
                                                ('{"image_size": "big"}', "image_size must be a whole number")])
def test_crafted_safetensors_metadata(tmp_path, sd18, metadata, expected):
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in sd18.items()}, str(path), metadata={"resnet_gui": metadata})
    with pytest.raises(WeightsError, match=expected):
        load_model(path)


def test_a_deeply_nested_sidecar_is_ignored_with_a_note(tmp_path, sd18):
    path = tmp_path / "plain.pth"
    torch.save(sd18, path)
    (tmp_path / "class_indices.json").write_text("[" * 100_000 + "]" * 100_000)
    loaded = load_model(path)
    assert loaded.info.class_names == [f"class {i}" for i in range(4)]
    assert any(n.startswith("ignored class_indices.json: unreadable") for n in loaded.info.notes)


@pytest.mark.parametrize("protocol", range(6))
def test_a_bare_malicious_pickle_of_any_protocol_is_refused_as_code(tmp_path, protocol):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps(Evil(), protocol=protocol))
    with pytest.raises(WeightsError, match=r"refused, the file holds Python objects \(posix.system\) that could run code"):
        load_model(path)
    assert not marker.exists()
