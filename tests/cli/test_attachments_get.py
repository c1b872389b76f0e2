"""``maild attachments get N``: a ticket's files under safe names, nothing overwritten."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from tests.cli.conftest import invoke


def with_files(*files: tuple[str, bytes]) -> bytes:
    message = EmailMessage()
    message["From"] = "Ada <ada@customer.example>"
    message["To"] = "support@example.com"
    message["Subject"] = "Files"
    message["Message-ID"] = "<files@customer.example>"
    message.set_content("See attached.\n")
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


def test_files_land_in_the_folder_under_safe_names(console_config: Path, tmp_path: Path) -> None:
    mail = with_files(
        ("scan.pdf", b"first"),
        ("scan.pdf", b"second"),
        ("../../etc/passwd", b"sneaky"),
        (".hidden", b"dot"),
    )
    assert invoke(console_config, "ingest", input=mail).exit_code == 0
    out = tmp_path / "out"
    out.mkdir()
    (out / "scan.pdf").write_bytes(b"already here")
    result = invoke(console_config, "attachments", "get", "1000", "--out", str(out))
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == ["hidden", "passwd", "scan-2.pdf", "scan-3.pdf", "scan.pdf"]
    assert (out / "scan.pdf").read_bytes() == b"already here"  # never overwritten
    assert (out / "scan-2.pdf").read_bytes() == b"first"
    assert (out / "passwd").read_bytes() == b"sneaky"
    assert not (tmp_path / "etc").exists()
    assert [Path(line).name for line in result.stdout.splitlines()] == [
        "scan-2.pdf",
        "scan-3.pdf",
        "passwd",
        "hidden",
    ]


def test_no_such_ticket_and_no_files(console_config: Path, tmp_path: Path) -> None:
    plain = with_files()
    assert invoke(console_config, "ingest", input=plain).exit_code == 0
    missing = invoke(console_config, "attachments", "get", "1001", "--out", str(tmp_path))
    assert missing.exit_code == 1 and "no ticket #1001" in missing.output
    none = invoke(console_config, "attachments", "get", "1000", "--out", str(tmp_path / "x"))
    assert none.exit_code == 0 and "no attachments" in none.stderr
