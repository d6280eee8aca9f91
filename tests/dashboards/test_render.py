"""The layout picture of each dashboard: a PNG of the size the grid asks for."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from iocsim.dashboards.catalog import LANGS, build_all
from iocsim.dashboards.render import ROW_PX, WIDTH_PX, grid_height, image_size, render_layout


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize("lang", LANGS)
def test_render_layout_writes_a_png_of_the_grid_size(lang: str, tmp_path: Path) -> None:
    for uid, model in build_all(lang).items():
        out = render_layout(model, tmp_path / "nested" / f"{uid}.{lang}.png")
        assert out.exists()
        width, height = png_size(out)
        assert (width, height) == image_size(model)
        assert width == WIDTH_PX and height > grid_height(model) * ROW_PX >= 20 * ROW_PX
