"""Every setting is documented in the README (as datasette checks its options)."""

from __future__ import annotations

from support import ROOT

from kb.settings import Settings


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`TRIALKB_{name.upper()}`" not in readme]
    assert not missing, f"settings missing from the README's table: {missing}"


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_settings_read_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRIALKB_QUERY_TIMEOUT", "2.5")
    assert Settings().query_timeout == 2.5
