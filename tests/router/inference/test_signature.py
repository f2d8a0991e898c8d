from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from router.inference import (
    OPAQUE_DATATYPE,
    ModelSignature,
    TensorSpec,
    load_session,
    numpy_dtype,
    oip_datatype,
    tensor_spec,
)

if TYPE_CHECKING:
    from .conftest import Built


def test_cancer_signature_names_datatypes_and_batch_dim(cancer: Built) -> None:
    signature = load_session(cancer.onnx_bytes).signature
    assert signature.inputs == (TensorSpec("X", "FP32", (None, 30), "tensor(float)"),)
    assert [(s.name, s.datatype, s.shape) for s in signature.outputs] == [
        ("label", "INT64", (None,)),
        ("probabilities", "FP32", (None, 2)),
    ]
    assert not any(spec.opaque for spec in signature.outputs)


def test_mixed_signature_has_one_named_input_per_column(mixed: Built) -> None:
    signature = load_session(mixed.onnx_bytes).signature
    assert [(s.name, s.datatype, s.shape) for s in signature.inputs] == [
        ("radius", "FP32", (None, 1)),
        ("texture", "FP32", (None, 1)),
        ("count", "INT64", (None, 1)),
        ("site", "BYTES", (None, 1)),
    ]
    assert not signature.input("site").opaque


def test_symbolic_dims_are_none(rank1_bytes: bytes, open_columns_bytes: bytes) -> None:
    rank1 = load_session(rank1_bytes).signature
    assert [(s.name, s.datatype, s.shape) for s in rank1.inputs] == [
        ("a", "FP32", (None,)),
        ("b", "INT64", (None,)),
        ("on", "BOOL", (None,)),
    ]
    assert load_session(open_columns_bytes).signature.inputs[0].shape == (None, None)


def test_zipmap_output_is_an_opaque_bytes_spec(iris_zipmap: Built) -> None:
    outputs = load_session(iris_zipmap.onnx_bytes).signature.outputs
    probability = outputs[1]
    assert probability.name == "output_probability"
    assert probability.datatype == OPAQUE_DATATYPE == "BYTES"
    assert probability.onnx_type == "seq(map(int64,tensor(float)))"
    assert probability.opaque
    assert probability.shape == (None,)


def test_tensor_spec_maps_every_element_type() -> None:
    expected = {
        "bool": "BOOL",
        "uint8": "UINT8",
        "int8": "INT8",
        "int16": "INT16",
        "int32": "INT32",
        "int64": "INT64",
        "float16": "FP16",
        "float": "FP32",
        "double": "FP64",
        "string": "BYTES",
    }
    for onnx_name, oip in expected.items():
        spec = tensor_spec("x", f"tensor({onnx_name})", ["N", 3, None, -1])
        assert spec.datatype == oip
        assert spec.shape == (None, 3, None, None)
        assert not spec.opaque


def test_unknown_types_become_opaque_not_errors() -> None:
    spec = tensor_spec("m", "map(string,tensor(float))", [])
    assert (spec.datatype, spec.shape, spec.opaque) == ("BYTES", (), True)
    assert tensor_spec("c", "tensor(complex64)", [None]).opaque


def test_signature_dict_round_trip_uses_minus_one_for_variable_dims(cancer: Built) -> None:
    signature = load_session(cancer.onnx_bytes).signature
    data = signature.to_dict()
    assert data["inputs"] == [
        {"name": "X", "datatype": "FP32", "shape": [-1, 30], "onnx_type": "tensor(float)"}
    ]
    assert ModelSignature.from_dict(data) == signature


def test_numpy_dtype_and_oip_datatype_are_inverse() -> None:
    for name in ["BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"]:
        assert oip_datatype(numpy_dtype(name)) == name
    assert numpy_dtype("BYTES") == np.dtype(object)
    assert oip_datatype(np.dtype("<U5")) == "BYTES"
    assert oip_datatype(np.float32) == "FP32"


def test_unmappable_datatypes_raise_value_error() -> None:
    with pytest.raises(ValueError, match="BF16"):
        numpy_dtype("BF16")
    with pytest.raises(ValueError, match="complex128"):
        oip_datatype(np.complex128)
