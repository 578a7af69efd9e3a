"""Static int8 quantization: activation scales fixed at build time, so scores do not depend on the batch.

Dynamic quantization (``quantize_dynamic``) picks each activation's int8 scale from the batch
being run: the same headline scored alone or beside a long, extreme one is quantized differently,
and about 1 % of labels changed between single and batched scoring. Here the scales come from a
calibration pass over TRAIN sentences (never a dev or reporting split) and are stored in the
graph; integer matmuls are exact, so a row's result depends only on that row (up to float
summation order in the fp32 ops, ~1e-6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from engine.onnx_feeds import padded_feeds

CALIBRATION_ROWS = 512
CALIBRATION_BATCH = 16


def calibration_feeds(tok, texts: Sequence[str], batch_size: int = CALIBRATION_BATCH) -> list[dict]:
    """Feeds as the engine builds them: padded to each batch's longest item, mask 1 on tokens."""
    import copy

    tok = copy.deepcopy(tok)
    tok.no_padding()
    ids = [e.ids for e in tok.encode_batch(list(texts))]
    feeds = []
    for start in range(0, len(ids), batch_size):
        feeds.append(padded_feeds(ids[start : start + batch_size]))
    return feeds


def calibration_texts(train_texts: Sequence[str], rows: int = CALIBRATION_ROWS, seed: int = 42) -> list[str]:
    """An evenly random sample of TRAIN texts (seeded) for the activation ranges."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(train_texts), size=min(rows, len(train_texts)), replace=False)
    return [train_texts[i] for i in sorted(idx)]


def quantize_static_int8(fp32_path: Path, int8_path: Path, feeds: list[dict], per_channel: bool = False,
                         method: str = "minmax") -> None:
    """QDQ int8: MatMul weights and activations (u8 activations, s8 weights) plus the embedding Gathers.

    Quantizing the Gathers keeps the 30k-word embedding table int8 (a 4x smaller file).
    """
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

    if method != "minmax":
        # Histogram collectors stack every batch's activations: all batches need one width.
        width = max(f["input_ids"].shape[1] for f in feeds)
        feeds = [{k: np.pad(v, ((0, 0), (0, width - v.shape[1]))) for k, v in f.items()} for f in feeds]
    prepped = Path(int8_path).with_suffix(".prep.onnx")
    quant_pre_process(str(fp32_path), str(prepped), skip_optimization=False, skip_symbolic_shape=True)
    calibrate = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                 "entropy": CalibrationMethod.Entropy}[method]
    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    if method == "percentile":
        extra["CalibPercentile"] = 99.999
    quantize_static(str(prepped), str(int8_path), Reader(), quant_format=QuantFormat.QDQ,
                    op_types_to_quantize=["MatMul", "Gather"], per_channel=per_channel,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=calibrate, extra_options=extra)
    prepped.unlink(missing_ok=True)
