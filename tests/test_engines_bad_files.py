"""Bad .onnx files are refused in one line: not a classifier, no class names, truncated,
random bytes, external data, unknown operators, an opset the runtime cannot run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from resnet_gui.core.engines.choose import open_classifier
from resnet_gui.core.engines.onnx_model import read_onnx
from resnet_gui.core.engines.runtimes import EngineError
from resnet_gui.core.model.checkpoint import WeightsError

CLASSES = json.dumps(["a", "b"])


def _model(path, *, in_shape=("N", 3, 16, 16), opset=17, domain="", op="GlobalAveragePool", props=True, external=False):
    """input -> op -> Flatten -> MatMul(3x2) -> logits: a tiny real classifier graph."""
    weight = numpy_helper.from_array(np.ones((3, 2), np.float32), "w")
    if external:
        weight.data_location = TensorProto.EXTERNAL
        weight.ClearField("raw_data")
        for key, value in (("location", "../../../../etc/passwd"), ("offset", "0"), ("length", "24")):
            weight.external_data.add(key=key, value=value)
    nodes = [helper.make_node(op, ["input"], ["pooled"], domain=domain),
             helper.make_node("Flatten", ["pooled"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["logits"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(in_shape))],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])], [weight])
    imports = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = 8
    if props:
        helper.set_model_props(model, {"class_names": CLASSES, "image_size": "16", "resize_size": "18"})
    path.write_bytes(model.SerializeToString())
    return path


def _refused(path, *words):
    with pytest.raises(WeightsError) as caught:
        read_onnx(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message
    assert any(w in message for w in words), message
    return message


def test_a_good_tiny_model_loads(tmp_path):
    model = read_onnx(_model(tmp_path / "good.onnx"))
    assert model.info.class_names == ["a", "b"] and model.info.image_size == 16


def test_not_an_image_classifier(tmp_path):
    path = tmp_path / "flat.onnx"
    _model(path, in_shape=("N", 3), op="Identity")
    _refused(path, "not an image classifier")


def test_no_class_names_and_no_sidecar(tmp_path):
    path = _model(tmp_path / "bare.onnx", props=False)
    _refused(path, "no class names")
    (tmp_path / "bare.json").write_text(CLASSES)
    assert read_onnx(path).info.class_names_from == "sidecar:bare.json"


def test_truncated_and_random_bytes(tmp_path):
    good = _model(tmp_path / "good.onnx").read_bytes()
    (tmp_path / "cut.onnx").write_bytes(good[: len(good) // 2])
    _refused(tmp_path / "cut.onnx", "truncated", "cannot load")
    (tmp_path / "noise.onnx").write_bytes(np.random.default_rng(0).bytes(5000))
    _refused(tmp_path / "noise.onnx", "truncated", "cannot load")
    (tmp_path / "empty.onnx").write_bytes(b"")
    _refused(tmp_path / "empty.onnx", "empty")


def test_external_data_pointing_outside_is_refused(tmp_path):
    _refused(_model(tmp_path / "evil.onnx", external=True), "external data")


def test_unknown_operators_and_opsets(tmp_path):
    _refused(_model(tmp_path / "custom.onnx", domain="com.evil", op="RunShell"), "operators", "cannot load")
    _refused(_model(tmp_path / "future.onnx", opset=99), "opset")


def test_engine_choices_are_checked(tmp_path):
    path = _model(tmp_path / "good.onnx")
    with pytest.raises(EngineError, match="not torch"):
        open_classifier(path, "torch")
    with pytest.raises(EngineError, match="unknown engine"):
        open_classifier(path, "tensorrt")
    assert open_classifier(path, "openvino").engine == "openvino"
