"""The icon fonts are found in whatever version the installed qtawesome ships (the newest
version with both its font and its charmap), not under file names fixed in the code."""

from __future__ import annotations

from ganpaint.app.views.glyphs import FONTS, _fonts_folder, font_files


def test_the_newest_complete_version_is_chosen(tmp_path):
    name = "materialdesignicons5-webfont"
    for version in ("5.9.55", "5.10.1"):  # 10 > 9: compared as numbers, not text
        (tmp_path / f"{name}-{version}.ttf").write_bytes(b"")
        (tmp_path / f"{name}-charmap-{version}.json").write_text("{}")
    (tmp_path / f"{name}-6.0.0.ttf").write_bytes(b"")  # no charmap: unusable
    (tmp_path / f"{name}-beta.ttf").write_bytes(b"")
    (tmp_path / f"{name}-charmap-beta.json").write_text("{}")
    (tmp_path / "materialdesignicons6-webfont-9.0.0.ttf").write_bytes(b"")  # another font
    ttf, charmap = font_files(tmp_path, name)
    assert ttf.name == f"{name}-5.10.1.ttf" and charmap.name == f"{name}-charmap-5.10.1.json"


def test_no_font_is_none(tmp_path):
    assert font_files(tmp_path, "fontawesome5-solid-webfont") is None


def test_every_font_of_the_app_is_in_the_installed_qtawesome():
    folder = _fonts_folder()
    assert folder is not None
    for prefix, name in FONTS.items():
        assert font_files(folder, name) is not None, prefix
