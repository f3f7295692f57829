import re

from models.registry import MODELS, QWEN_GGUF, get_spec
from models.verify import pinned_output_sha256

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def test_names_are_unique_and_every_source_is_pinned() -> None:
    assert len({m.name for m in MODELS}) == len(MODELS)
    for spec in MODELS:
        for package in spec.packages:
            assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.]+", package.requirement)
            for source in package.files:
                assert SHA256.match(source.sha256), (spec.name, source.member)
                assert source.size_bytes > 0


def test_every_output_comes_from_a_source_or_a_conversion() -> None:
    for spec in MODELS:
        saved = {f.save_as for p in spec.packages for f in p.files}
        if spec.conversion is None:
            assert set(spec.outputs) <= saved, spec.name
        else:
            assert spec.conversion.script.endswith(".py")


def test_qwen_is_assembled_from_22_parts_to_the_official_size_and_hash() -> None:
    spec = get_spec("qwen2.5-1.5b")
    assert len(spec.packages) == 22
    assert spec.size_bytes == 1_117_320_768
    assert pinned_output_sha256(spec) == {QWEN_GGUF: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"}


def test_converted_models_are_pinned_by_their_manifest_not_the_registry() -> None:
    assert pinned_output_sha256(get_spec("whisper-tiny.en")) == {}
    assert set(pinned_output_sha256(get_spec("silero-vad"))) == {"silero_vad.onnx"}
