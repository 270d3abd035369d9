"""check-config names what ``run`` would trip on in the files and secrets: one line each, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from propdesk.cli import main


def _write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "propdesk.toml"
    secret = tmp_path / "no-such-secret"
    path.write_text(
        f'[database]\npassword = {{ file = "{secret}" }}\n\n[[mailboxes]]\nname = "main"\n'
        'host = "h"\nusername = "u"\npassword = { env = "PROPDESK_TEST_UNSET_VARIABLE" }\n' + extra
    )
    return path


def test_broken_template_missing_secrets_and_bad_rules_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROPDESK_TEST_UNSET_VARIABLE", raising=False)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "ticket_assigned.txt").write_text("Ticket {{ ticket.ticket_id \n")
    rules = tmp_path / "rules.toml"
    rules.write_text("[no_such_table]\nx = 1\n")
    extra = f'\n[notifications]\ntemplates_dir = "{templates}"\n\n[rules]\nfile = "{rules}"\n'
    # --connect resolves the secrets too; the local problems (exit 2) win over the peers.
    code = main(["--config", str(_write(tmp_path, extra)), "check-config", "--connect"])
    out = capsys.readouterr().out.splitlines()
    assert code == 2
    fails = [line for line in out if line.startswith("FAIL")]
    assert any(line.startswith("FAIL rules:") and "no_such_table" in line for line in fails)
    assert any(line.startswith("FAIL templates:") and "ticket_assigned" in line for line in fails)
    assert any("database.password" in line and "no-such-secret" in line for line in fails)
    assert any(
        "mailboxes[0] (main).password" in line and "PROPDESK_TEST_UNSET_VARIABLE" in line
        for line in fails
    )
    local = [f for f in fails if f.split()[1] in ("rules:", "templates:", "secret")]
    assert len(local) == 4, fails


def test_a_good_local_setup_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROPDESK_TEST_UNSET_VARIABLE", "pw")
    (tmp_path / "no-such-secret").write_text("db-pw\n")
    code = main(["--config", str(_write(tmp_path, "")), "check-config"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok   templates:" in out and "ok   rules:" in out
