"""Hostile ONNX graphs (loops, failing shape operators, a batch reshaped away, NaN) and the
engine cache keyed by everything that goes into a conversion (issue 25, items 7 and 8)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from resnet_gui.cli import main  # noqa: E402
from resnet_gui.core.engines.graph_check import check_operators, operators  # noqa: E402
from resnet_gui.core.engines.onnx_model import read_onnx  # noqa: E402
from resnet_gui.core.model.checkpoint import WeightsError  # noqa: E402

SIZE, CLASSES = 32, 3


def _pooled(nodes: list, inits: list) -> str:
    """x -> GlobalAveragePool -> Flatten: 'flat', batch x 3 (the classes)."""
    nodes += [helper.make_node("GlobalAveragePool", ["x"], ["gap"]), helper.make_node("Flatten", ["gap"], ["flat"])]
    return "flat"


def save_graph(path, nodes, inits=(), out="y", out_dims=("batch", CLASSES), opset=17):
    graph = helper.make_graph(
        nodes, "hostile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, list(out_dims))],
        initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    helper.set_model_props(model, {"class_names": json.dumps(["cat", "dog", "bird"])})
    path.write_bytes(model.SerializeToString())
    return path


def _const(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def test_a_plain_graph_loads(tmp_path):
    nodes = []
    flat = _pooled(nodes, [])
    nodes.append(helper.make_node("Identity", [flat], ["y"]))
    model = read_onnx(save_graph(tmp_path / "ok.onnx", nodes))
    assert model.info.image_size == SIZE and len(model.info.class_names) == CLASSES


def test_a_loop_of_a_trillion_iterations_is_refused_before_it_runs(tmp_path):
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)])
    nodes = []
    flat = _pooled(nodes, [])
    nodes.append(helper.make_node("Loop", ["trips", "cond", flat], ["y"], body=body))
    inits = [_const("trips", 10**12, np.int64), _const("cond", True, np.bool_)]
    path = save_graph(tmp_path / "loop.onnx", nodes, inits)
    with pytest.raises(WeightsError, match=r"uses operators a ResNet does not \(Loop\)"):
        read_onnx(path)


@pytest.mark.parametrize("op", ["ConstantOfShape", "Expand"])
def test_failing_shape_operators_are_refused(tmp_path, op):
    nodes = []
    flat = _pooled(nodes, [])
    if op == "ConstantOfShape":
        nodes.append(helper.make_node("ConstantOfShape", ["shape"], ["y"]))
        inits = [_const("shape", [-5, 3], np.int64)]
    else:
        nodes.append(helper.make_node("Expand", [flat, "shape"], ["y"]))
        inits = [_const("shape", [7, 5], np.int64)]
    with pytest.raises(WeightsError, match=op):
        read_onnx(save_graph(tmp_path / f"{op}.onnx", nodes, inits))


def test_a_graph_that_reshapes_its_batch_away_is_refused_at_load(tmp_path):
    nodes = []
    flat = _pooled(nodes, [])
    nodes.append(helper.make_node("ReduceMean", [flat], ["y"], axes=[0], keepdims=1))
    with pytest.raises(WeightsError, match=r"batch of two photos gives outputs of shape \[1, 3\]"):
        read_onnx(save_graph(tmp_path / "batch.onnx", nodes))


def test_a_graph_giving_nan_is_refused_at_load(tmp_path):
    nodes = []
    flat = _pooled(nodes, [])
    nodes.append(helper.make_node("Div", [flat, "zero"], ["y"]))  # 0 / 0 on the probe's zeros
    with pytest.raises(WeightsError, match="NaN or infinite"):
        read_onnx(save_graph(tmp_path / "nan.onnx", nodes, [_const("zero", 0.0)]))


def test_functions_and_damaged_protobufs_are_refused_in_one_line(tmp_path):
    with pytest.raises(WeightsError, match="not an ONNX model"):
        check_operators(b"\x3a\xff\xff\xff\xff\x0f", "bad.onnx")  # field 7, a length past the end
    nodes = []
    _pooled(nodes, [])
    nodes.append(helper.make_node("Identity", ["flat"], ["y"]))
    path = save_graph(tmp_path / "f.onnx", nodes)
    model = onnx.load(path)
    model.functions.append(helper.make_function("evil", "Conv", ["a"], ["b"],
                                                [helper.make_node("Identity", ["a"], ["b"])],
                                                [helper.make_opsetid("", 17)]))
    with pytest.raises(WeightsError, match="functions"):
        check_operators(model.SerializeToString(), "f.onnx")


def test_the_shipped_int8_model_uses_only_allowed_operators():
    from resnet_gui.resources import weights_dir

    data = (weights_dir() / "default.int8.onnx").read_bytes()
    check_operators(data, "default.int8.onnx")
    assert ("", "QuantizeLinear") in operators(data)


def _photos(tmp_path, n, value):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir(exist_ok=True)
    for i in range(n):
        Image.new("RGB", (SIZE, SIZE), (value, value, value)).save(folder / f"p{i}.png")
    return folder


def test_nan_scores_at_run_time_fail_that_batch_with_a_reason(tmp_path, capsys):
    """sqrt of the mean: fine on the probe's zeros, NaN on dark photos (negative once normalised)."""
    nodes = []
    flat = _pooled(nodes, [])
    nodes.append(helper.make_node("Sqrt", [flat], ["y"]))
    path = save_graph(tmp_path / "sqrt.onnx", nodes)
    code = main(["classify", "--weights", str(path), "--json", str(_photos(tmp_path, 3, 0))])
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    assert "Traceback" not in captured.err and code == 0  # skipped photos are reported, as unreadable ones are
    assert len(rows) == 3 and all("NaN or infinite" in row["error"] for row in rows)


def test_a_runtime_failure_fails_that_batch_only(tmp_path, capfd):
    """A Reshape to a fixed batch of two: the probe passes, a batch of three fails with a reason."""
    nodes = []
    flat = _pooled(nodes, [])
    nodes.append(helper.make_node("Reshape", [flat, "two"], ["y"]))
    path = save_graph(tmp_path / "two.onnx", nodes, [_const("two", [2, CLASSES], np.int64)])
    photos = _photos(tmp_path, 5, 128)
    code = main(["classify", "--weights", str(path), "--json", "--batch-size", "2", str(photos)])
    captured = capfd.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    assert "Traceback" not in captured.err and len(rows) == 5
    assert [("error" in row) for row in rows] == [False, False, False, False, True]
    assert "failed on this batch" in rows[-1]["error"] and code == 0
    assert "[E:onnxruntime" not in captured.err  # its own log line stays out of the user's terminal


# ------------------------------------------------------------------ the engine cache


def test_the_cache_is_keyed_by_the_sidecar_too(tmp_path, monkeypatch, tiny_weights):
    """The same model.pt beside different class names (or none) is converted once for each."""
    from resnet_gui.core.engines.cache import cached_conversion

    monkeypatch.setenv("RESNET_GUI_CACHE_DIR", str(tmp_path / "cache"))
    hostile, plain = tmp_path / "a", tmp_path / "b"
    for folder in (hostile, plain):
        folder.mkdir()
        shutil.copy(tiny_weights, folder / "model.pt")
    (hostile / "labels.json").write_text(json.dumps(["evil\u202eGPJ.exe", "b", "c"]))
    first, made_first = cached_conversion(hostile / "model.pt")
    second, made_second = cached_conversion(plain / "model.pt")
    assert made_first and made_second and first != second
    assert read_onnx(first).info.class_names[0] == "evil\u202eGPJ.exe"
    assert "evil" not in " ".join(read_onnx(second).info.class_names)
    assert cached_conversion(hostile / "model.pt") == (first, False)
    (hostile / "labels.json").write_text(json.dumps(["x", "y", "z"]))
    changed, made = cached_conversion(hostile / "model.pt")
    assert made and read_onnx(changed).info.class_names == ["x", "y", "z"]


def test_temp_files_of_a_killed_conversion_are_removed(tmp_path, monkeypatch, tiny_weights):
    from resnet_gui.core.engines.cache import cached_conversion

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("RESNET_GUI_CACHE_DIR", str(cache))
    stale = cache / ".0123abcd-resnet18-v2.onnx.0123456789ab.tmp"
    stale.write_bytes(b"half a conversion")
    os.utime(stale, (1_500_000_000, 1_500_000_000))
    kept = cache / "notes.txt"
    kept.write_text("not ours")
    cached_conversion(tiny_weights)
    assert not stale.exists() and kept.exists()
