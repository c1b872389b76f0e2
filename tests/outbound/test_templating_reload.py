"""Template overrides on a running daemon: an override added for a template already used
shows after ``reload()`` (what SIGHUP does); Jinja alone would keep the built-in one."""

from __future__ import annotations

from pathlib import Path

from outbound.templating import TemplateRenderer

CONTEXT = {"rules_file": "/etc/maild/rules.toml", "error": "bad", "checked_at": "now"}


def test_an_override_added_later_is_used_after_reload(tmp_path: Path) -> None:
    renderer = TemplateRenderer(tmp_path)
    built_in = renderer.render("rules_error", CONTEXT)
    assert built_in.html is not None

    (tmp_path / "rules_error.txt.j2").write_text("Our own words about {{ rules_file }}.\n")
    # Jinja checks the built-in file it cached, not whether the override folder now has
    # the name: still the built-in template until a reload.
    assert renderer.render("rules_error", CONTEXT) == built_in

    renderer.reload()
    override = renderer.render("rules_error", CONTEXT)
    assert override.text == "Our own words about /etc/maild/rules.toml.\n"
    assert override.html is None  # the text's folder has no HTML part
