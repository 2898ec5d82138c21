"""What an ``.onnx`` file may ask the runtime to do: the operators a ResNet export uses, no more.

A graph is a program. A ``Loop`` of 10^12 iterations hangs the engine, a failing
``ConstantOfShape``/``Expand`` crashes it; none of them appears in a ResNet. The graph's
operators are read straight from the protobuf wire format (no ``onnx`` package, nothing
inflated or run) and anything outside :data:`ALLOWED` is refused in one line.
"""

from __future__ import annotations

from ..model.checkpoint import WeightsError

# torch.onnx's ResNet export (opset 17), its features output (L2-normalised), onnxruntime's
# int8 quantization in both of its formats (QDQ and QOperator), and a few layout operators
# other exporters emit for the same network. Nothing that loops, branches or sizes by value.
ALLOWED = {
    "": {"Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv", "ConvInteger",
         "DequantizeLinear", "Div", "DynamicQuantizeLinear", "Flatten", "Gather", "Gemm", "GlobalAveragePool",
         "Identity", "LpNormalization", "MatMul", "MatMulInteger", "MaxPool", "Mul", "Pow", "QLinearConv",
         "QLinearMatMul", "QuantizeLinear", "ReduceL2", "ReduceMean", "Relu", "Reshape", "Shape", "Softmax",
         "Sqrt", "Squeeze", "Sub", "Transpose", "Unsqueeze"},
    "com.microsoft": {"QLinearAdd", "QLinearGlobalAveragePool", "QLinearConv", "QGemm", "FusedConv", "FusedGemm"},
}
ALLOWED["ai.onnx"] = ALLOWED[""]
_MODEL_GRAPH, _MODEL_FUNCTIONS, _GRAPH_NODE, _NODE_OP_TYPE, _NODE_DOMAIN = 7, 25, 1, 4, 7


class _Malformed(ValueError):
    pass


class _Refused(_Malformed):
    """Well formed, but something this app never runs (functions of its own)."""


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed("a truncated number")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: memoryview):
    """``(field number, payload)`` of one protobuf message; only length-delimited payloads are kept."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
            continue
        if wire in (1, 5):
            pos += 8 if wire == 1 else 4
            continue
        if wire != 2:
            raise _Malformed(f"wire type {wire}")
        length, pos = _varint(data, pos)
        if pos + length > len(data):
            raise _Malformed("a field past the end")
        yield number, data[pos:pos + length]
        pos += length
    if pos != len(data):
        raise _Malformed("a field past the end")


def operators(data: bytes) -> set[tuple[str, str]]:
    """``{(domain, op_type)}`` of the main graph's nodes; ValueError for a malformed file or
    one that defines its own functions."""
    found: set[tuple[str, str]] = set()
    for number, graph in _fields(memoryview(data)):
        if number == _MODEL_FUNCTIONS:
            raise _Refused("it defines functions of its own")
        if number != _MODEL_GRAPH:
            continue
        for field, node in _fields(graph):
            if field != _GRAPH_NODE:
                continue
            op_type = domain = ""
            for key, value in _fields(node):
                if key == _NODE_OP_TYPE:
                    op_type = bytes(value).decode("utf-8", "replace")
                elif key == _NODE_DOMAIN:
                    domain = bytes(value).decode("utf-8", "replace")
            found.add((domain, op_type))
    return found


def check_operators(data: bytes, name: str) -> None:
    """WeightsError in one line unless every operator of the graph is one a ResNet export uses."""
    try:
        used = operators(data)
    except _Refused as exc:
        raise WeightsError(f"{name}: {exc}; refused") from None
    except _Malformed:  # which protobuf field broke means nothing to a user
        raise WeightsError(f"{name}: not an ONNX model, or the file is truncated or damaged") from None
    refused = sorted(f"{domain + '.' if domain else ''}{op}" for domain, op in used
                     if op not in ALLOWED.get(domain, ()))
    if refused:
        shown = ", ".join(refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
        raise WeightsError(f"{name}: uses operators a ResNet does not ({shown}); refused")
