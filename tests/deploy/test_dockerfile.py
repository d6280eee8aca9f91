"""The iocsim image installs the whole package: every folder pyproject maps into ``iocsim`` is copied in."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def copied() -> set[str]:
    text = (ROOT / "Dockerfile").read_text()
    return {source for line in re.findall(r"^COPY (.+)$", text, re.M) for source in line.split()[:-1]}


def test_every_package_folder_and_the_build_metadata_are_copied() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = {path.split("/")[0] for path in project["tool"]["setuptools"]["package-dir"].values()}
    assert folders - copied() == set(), "pip install . in the image would miss these packages"
    assert {"pyproject.toml", project["project"]["readme"]} <= copied()


def test_the_image_runs_iocsim_as_an_unprivileged_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["iocsim"]' in text
    assert re.search(r"^USER (?!root)\w+", text, re.M)
