"""Templates: customer text is data, the sandbox holds, an admin's folder wins."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from outbound.templating import TemplateRenderer


def ack_context(**changes: object) -> dict[str, object]:
    context: dict[str, object] = {
        "ticket_number": 1234,
        "ticket_tag": "[ACME #1234]",
        "subject": "Printer on fire",
        "customer_name": "Jörg Müller",
        "mailbox_name": "ACME Support",
        "excerpt": "My printer is on fire.\nPlease advise.",
    }
    context.update(changes)
    return context


def test_acknowledgement_names_ticket_and_says_how_to_add_information() -> None:
    rendered = TemplateRenderer().render("acknowledgement", ack_context())
    for part in (rendered.text, rendered.html):
        assert part is not None
        assert "[ACME #1234]" in part
        assert "Printer on fire" in part
        assert "Jörg Müller" in part
        assert "ACME Support" in part
        assert "reply to this mail" in part
        assert "My printer is on fire." in part
    assert "> Please advise." in rendered.text


def test_acknowledgement_without_name_or_excerpt_still_reads_well() -> None:
    rendered = TemplateRenderer().render(
        "acknowledgement", ack_context(customer_name="", excerpt="")
    )
    assert rendered.text.startswith("Hello there,")
    assert "Your message" not in rendered.text
    assert rendered.html is not None and "Your message" not in rendered.html


def test_customer_subject_is_never_compiled_as_template() -> None:
    subject = "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %}"
    rendered = TemplateRenderer().render(
        "acknowledgement", ack_context(subject=subject, excerpt="{{ 6*7 }}")
    )
    assert rendered.html is not None
    for part in (rendered.text, rendered.html):
        assert "{{ 7*7 }}" in part
        assert "{% for x in range(3) %}loop{% endfor %}" in part
        assert "{{ 6*7 }}" in part
        assert "49" not in part and "42" not in part and "looploop" not in part


def test_script_in_subject_is_escaped_in_html_and_literal_in_text() -> None:
    subject = '<script>alert("x")</script>'
    rendered = TemplateRenderer().render(
        "acknowledgement", ack_context(subject=subject, customer_name="<b>Eve</b>")
    )
    assert rendered.html is not None
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in rendered.html
    assert subject in rendered.text
    assert "<b>Eve</b>" in rendered.text


def test_missing_variable_fails_loudly() -> None:
    context = ack_context()
    del context["ticket_tag"]
    with pytest.raises(UndefinedError):
        TemplateRenderer().render("acknowledgement", context)


def test_override_folder_wins_over_builtin(tmp_path: Path) -> None:
    (tmp_path / "acknowledgement.txt.j2").write_text("Custom {{ ticket_tag }}: {{ subject }}\n")
    (tmp_path / "acknowledgement.html.j2").write_text("<p>Custom {{ subject }}</p>\n")
    rendered = TemplateRenderer(tmp_path).render("acknowledgement", ack_context(subject="a<b"))
    assert rendered.text == "Custom [ACME #1234]: a<b\n"
    assert rendered.html == "<p>Custom a&lt;b</p>\n"


def test_overriding_only_the_text_sends_no_builtin_html(tmp_path: Path) -> None:
    (tmp_path / "acknowledgement.txt.j2").write_text("Custom {{ ticket_tag }}\n")
    rendered = TemplateRenderer(tmp_path).render("acknowledgement", ack_context())
    assert rendered.text == "Custom [ACME #1234]\n"
    assert rendered.html is None


def test_builtin_is_used_when_override_folder_lacks_the_template(tmp_path: Path) -> None:
    rendered = TemplateRenderer(tmp_path).render("acknowledgement", ack_context())
    assert "We received your request" in rendered.text
    assert rendered.html is not None


def test_new_template_in_override_folder_without_html(tmp_path: Path) -> None:
    (tmp_path / "survey.txt.j2").write_text("How did we do on {{ ticket_tag }}?\n")
    rendered = TemplateRenderer(tmp_path).render("survey", {"ticket_tag": "[ACME #7]"})
    assert rendered.text == "How did we do on [ACME #7]?\n"
    assert rendered.html is None


def test_override_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    (tmp_path / "evil.txt.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(SecurityError):
        TemplateRenderer(tmp_path).render("evil", {})


@pytest.mark.parametrize("name", ["../etc/passwd", "acknowledgement.txt", "", "A b"])
def test_template_name_is_checked(name: str) -> None:
    with pytest.raises(ValueError, match="invalid template name"):
        TemplateRenderer().render(name, ack_context())
