"""Fuzzing ONNX graphs (read_onnx, open_engine, predict_batch): random chains of operators
(those a ResNet uses and others: loops, shape operators, reductions), random constants and
declared output shapes, and damaged bytes of a valid graph. The property: a model that
classifies, or one WeightsError line at load, or one EngineError line for a batch; nothing
else, and nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import strategies as st

from fuzz_support import Property, on_file, one_line, read_only

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from resnet_gui.core.engines.onnx_model import read_onnx  # noqa: E402
from resnet_gui.core.engines.runtimes import EngineError, open_engine  # noqa: E402
from resnet_gui.core.model.checkpoint import WeightsError  # noqa: E402

SIZE = 16
# (op, inputs beyond the running value as constants, attributes)
STEPS = st.sampled_from([
    ("Relu", [], {}), ("Sqrt", [], {}), ("Identity", [], {}), ("Flatten", [], {}),
    ("ReduceMean", [], {"axes": [0], "keepdims": 1}), ("ReduceMean", [], {"axes": [2, 3], "keepdims": 0}),
    ("GlobalAveragePool", [], {}), ("Div", [0.0], {}), ("Mul", [1e30], {}), ("Add", [1.0], {}),
    ("Reshape", [[2, -1]], {}), ("Reshape", [[-1, 3]], {}), ("Expand", [[7, 3]], {}), ("Loop", [], {}),
    ("ConstantOfShape", [[2, 3]], {}), ("Softmax", [], {"axis": -1}), ("Transpose", [], {"perm": [1, 0]}),
    ("Shape", [], {}), ("Cast", [], {"to": TensorProto.INT64}), ("Unique", [], {}), ("NonZero", [], {}),
])


def _graph(steps: list, out_dims: list, classes: list) -> bytes:
    nodes, inits, value = [], [], "x"
    for n, (op, consts, attrs) in enumerate(steps):
        names = [value]
        for m, const in enumerate(consts):
            arr = np.asarray(const, dtype=np.int64 if isinstance(const, list) else np.float32)
            inits.append(numpy_helper.from_array(arr, f"c{n}_{m}"))
            names.append(f"c{n}_{m}")
        if op == "ConstantOfShape":
            names = names[1:]
        nodes.append(helper.make_node(op, names, [f"v{n}"], **attrs))
        value = f"v{n}"
    nodes.append(helper.make_node("Identity", [value], ["y"]))
    graph = helper.make_graph(nodes, "fuzz", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                            ["batch", 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_dims)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"class_names": json.dumps(classes)})
    return model.SerializeToString()


def _expect(path, batch: int) -> None:
    with read_only(path.parent):
        try:
            model = read_onnx(path)
        except WeightsError as exc:
            one_line(exc)
            return
        classifier = open_engine(model)
        pixels = np.random.default_rng(batch).integers(0, 256, (batch, 3, SIZE, SIZE), dtype=np.uint8)
        try:
            rows = classifier.predict_batch(pixels, 2)
        except EngineError as exc:
            one_line(exc)
            return
        assert len(rows) == batch
        for row in rows:
            assert all(np.isfinite(p) and 0 <= p <= 1 for _, p in row)


def check_graph(steps: list, out_dims: list, classes: list, batch: int) -> None:
    on_file("g.onnx", _graph(steps, out_dims, classes), lambda path: _expect(path, batch))


def check_damaged_graph(flips: list, cut: float | None) -> None:
    data = bytearray(_graph([("GlobalAveragePool", [], {}), ("Flatten", [], {})], ["batch", 3], ["a", "b", "c"]))
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    on_file("g.onnx", bytes(data), lambda path: _expect(path, 2))


DIMS = st.lists(st.one_of(st.integers(0, 4), st.just("batch"), st.just("n")), min_size=0, max_size=3)
PROPERTIES = [
    Property("onnx random graphs", check_graph,
             {"steps": st.lists(STEPS, max_size=4), "out_dims": DIMS | st.just(["batch", 3]),
              "classes": st.lists(st.text(max_size=4), min_size=1, max_size=4), "batch": st.integers(1, 3)},
             examples=25),
    Property("onnx damaged bytes", check_damaged_graph,
             {"flips": st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
              "cut": st.none() | st.floats(0, 1)}, examples=25),
]

test_onnx_random_graphs, test_onnx_damaged_bytes = (p.test() for p in PROPERTIES)
