"""Exact integer dot products of 7-bit probes with an 8-bit gallery, on onnxruntime's MLAS.

`Int8Scorer(codes)` holds the gallery codes as int8 with shape (D, N) (one column per vector,
values in [-127, 127]) with an int32 offset per vector, and computes, for uint8 probes P (M, D)
with values in [0, 127],

    Y = P @ codes        (int32, shape (M, N), written into the caller's array)

with a one-node `MatMulInteger` graph (uint8 x int8, no zero point: with one, MLAS sums the
codes again on every call, twice the time). The arithmetic is exact: P <= 127 and
|codes| <= 127 keep every pair of products that an AVX2 `vpmaddubsw` kernel adds in int16 at
most 2 * 127 * 127 = 32258 < 32767 (no saturation on any x86 kernel MLAS picks; VNNI kernels
accumulate in int32 anyway), and a sum of D <= 65536 products stays inside int32. A signed
probe p in [-64, 63] is passed as P = p + ZERO; then Y - offset, with offset = ZERO * sum(codes)
per vector, is exactly p @ codes. For M = 1 MLAS runs a GEMV that streams the codes once, at
memory bandwidth; larger M runs its blocked GEMM. The graph is written as ONNX protobuf bytes
here, so no `onnx` package is needed.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

ZERO = 64  # signed probe values p in [-64, 63] travel as p + ZERO
MAX_CODE = 127
MAX_PROBE = 127
_sessions: dict[int, Any] = {}
_lock = threading.Lock()


def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | 0x80 if v else b)
        if not v:
            return bytes(out)


def _field(number: int, payload: int | str | bytes) -> bytes:
    """One protobuf field: a varint, or a length-delimited string or message."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _value_info(name: str, elem_type: int, dims: list[str]) -> bytes:
    shape = b"".join(_field(1, _field(2, d)) for d in dims)  # symbolic dims (dim_param)
    tensor_type = _field(1, elem_type) + _field(2, shape)
    return _field(1, name) + _field(2, _field(1, tensor_type))


def model_bytes() -> bytes:
    """ModelProto: Y(int32 M x N) = MatMulInteger(P(uint8 M x D), C(int8 D x N)) - O(int32 N)."""
    uint8, int8, int32 = 2, 3, 6  # TensorProto.DataType
    matmul = _field(1, "P") + _field(1, "C") + _field(2, "Y") + _field(4, "MatMulInteger")
    graph = _field(1, matmul) + _field(2, "int8_scores")
    graph += _field(11, _value_info("P", uint8, ["M", "D"]))
    graph += _field(11, _value_info("C", int8, ["D", "N"]))
    graph += _field(12, _value_info("Y", int32, ["M", "N"]))
    # ir_version 7, opset 13 of the default domain.
    return _field(1, 7) + _field(8, _field(2, 13)) + _field(7, graph)


def _session(threads: int) -> Any:
    """One session per thread count, shared by every gallery (`run` is thread-safe)."""
    import onnxruntime as ort

    with _lock:
        if threads not in _sessions:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            opts.log_severity_level = 3
            _sessions[threads] = ort.InferenceSession(
                model_bytes(), opts, providers=["CPUExecutionProvider"]
            )
        return _sessions[threads]


class Int8Scorer:
    """Exact int32 scores P @ codes - offset for a fixed int8 (D, N) code matrix."""

    def __init__(self, codes: np.ndarray, offset: np.ndarray, threads: int = 2) -> None:
        if codes.dtype != np.int8 or codes.ndim != 2:
            raise ValueError(f"codes: expected int8 (D, N), got {codes.dtype} {codes.shape}")
        if codes.size and int(codes.min()) < -MAX_CODE:
            raise ValueError(f"codes: values must lie in [-{MAX_CODE}, {MAX_CODE}]")
        if offset.dtype != np.int32 or offset.shape != codes.shape[1:]:
            raise ValueError(f"offset: expected int32 ({codes.shape[1]},), got {offset.shape}")
        self.codes = np.ascontiguousarray(codes)
        self.offset = np.ascontiguousarray(offset)
        self._session = _session(max(1, int(threads)))

    def scores(self, probes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """int32 (M, N): probes @ codes, exactly, into `out` (C-contiguous) or a new array;
        probes uint8 (M, D) with values in [0, 127]. Subtract `offset` from each row after."""
        p = np.ascontiguousarray(probes, dtype=np.uint8)
        if p.ndim != 2 or p.shape[1] != self.codes.shape[0]:
            raise ValueError(f"probes: expected (M, {self.codes.shape[0]}), got {p.shape}")
        if p.size and int(p.max()) > MAX_PROBE:
            raise ValueError(f"probes: values must lie in [0, {MAX_PROBE}]")
        shape = (p.shape[0], self.codes.shape[1])
        if out is None:
            out = np.empty(shape, np.int32)
        if out.shape != shape or out.dtype != np.int32 or not out.flags.c_contiguous:
            raise ValueError(f"out: expected a C-contiguous int32 array of shape {shape}")
        binding = self._session.io_binding()
        binding.bind_cpu_input("P", p)
        binding.bind_cpu_input("C", self.codes)
        binding.bind_output("Y", "cpu", 0, np.int32, list(shape), out.ctypes.data)
        self._session.run_with_iobinding(binding)
        return out
