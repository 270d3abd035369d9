"""Configuration: the shipped example is valid and complete; errors are one line; secrets hide."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from propdesk.config import Config, Secret, SecretRef, load_config, parse_config
from propdesk.errors import ConfigError
from tests.stack.configfile import config_toml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"

MINIMAL = """
[[mailboxes]]
name = "main"
host = "imap.example.org"
username = "ticketbot"
password = { env = "PROPDESK_IMAP_PASSWORD" }
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "propdesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message, "a config error is one line"
    assert message.startswith(f"{path}: "), "it names the file"
    return message


# --- the shipped example ---------------------------------------------------------------------
def test_example_config_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.mailboxes and config.mailboxes[0].tls == "none"
    assert config.database.port == 5432
    assert config.smtp.tls == "none"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        out.append(prefix + name)
        annotation: Any = field.annotation
        inner = [annotation, *getattr(annotation, "__args__", ())]
        for t in inner:
            if isinstance(t, type) and issubclass(t, BaseModel) and t is not SecretRef:
                out += _keys(t, f"{prefix}{name}.")
    return out


def _documented() -> dict[str, set[str]]:
    """Section name -> keys shown in it (set or as a commented default) in the example."""
    sections: dict[str, set[str]] = {"": set()}
    current = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        header = re.match(r"^\[\[?([\w.]+)\]\]?\s*$", line)
        if header:
            current = header.group(1)
            sections.setdefault(current, set())
            continue
        key = re.match(r"^#?\s?(\w+)\s*=", line)
        if key:
            sections[current].add(key.group(1))
    return sections


@pytest.mark.parametrize("key", _keys(Config))
def test_example_config_documents_every_key(key: str) -> None:
    """Every key of Config appears in its section of config.example.toml (set or commented)."""
    documented = _documented()
    section, _, leaf = key.rpartition(".")
    assert key in documented or leaf in documented.get(section, set()), (
        f"{key} is not documented in config.example.toml"
    )


# --- one-line errors ------------------------------------------------------------------------------
def test_unknown_key(tmp_path: Path) -> None:
    message = _error(tmp_path, MINIMAL + "\n[database]\nhots = 'x'\n")
    assert "database.hots" in message and "unknown key" in message


def test_wrong_type(tmp_path: Path) -> None:
    message = _error(tmp_path, MINIMAL + "\n[database]\nport = 'five'\n")
    assert "database.port" in message and "'five'" in message


def test_missing_value(tmp_path: Path) -> None:
    message = _error(tmp_path, MINIMAL.replace('host = "imap.example.org"\n', ""))
    assert "mailboxes[0].host" in message and "missing" in message


def test_bad_choice_and_validator(tmp_path: Path) -> None:
    assert "mailboxes[0].tls" in _error(tmp_path, MINIMAL.replace('ticketbot"', "x\"\ntls = 'tls'"))
    assert "timezone" in _error(tmp_path, MINIMAL + "\n[business_hours]\ntimezone = 'Mars/Base'\n")


def test_toml_syntax_error(tmp_path: Path) -> None:
    assert "TOML syntax error" in _error(tmp_path, "[database\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ if env is None else env)
    environ["PYTHONPATH"] = str(REPO / "src")
    return subprocess.run(
        [sys.executable, "-m", "propdesk", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def test_check_config_exit_2_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "\n[smtp]\nport = 99999\n")
    proc = _cli("--config", str(path), "check-config")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(path) in lines[0] and "smtp.port" in lines[0]
    assert "Traceback" not in proc.stderr


def test_check_config_ok_and_no_config(tmp_path: Path) -> None:
    proc = _cli("--config", str(EXAMPLE), "check-config")
    assert proc.returncode == 0, proc.stderr
    assert "is valid" in proc.stdout
    env = {k: v for k, v in os.environ.items() if k != "PROPDESK_CONFIG"}
    proc = _cli("check-config", env=env)
    assert proc.returncode == 2 and "PROPDESK_CONFIG" in proc.stderr


def test_config_written_by_the_stack_helper_round_trips(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    path = _write(tmp_path, config_toml(config))
    assert load_config(path).model_dump() == config.model_copy(update={"source": path}).model_dump()


# --- secrets ------------------------------------------------------------------------------------
def test_secret_from_env() -> None:
    ref = SecretRef(env="PD_TEST_PW")
    assert ref.resolve({"PD_TEST_PW": "hunter2"}).reveal() == "hunter2"
    with pytest.raises(ConfigError, match="PD_TEST_PW is not set") as info:
        ref.resolve({})
    assert "hunter2" not in str(info.value)


def test_secret_from_file(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("s3cret-from-file\n")
    assert SecretRef(file=path).resolve({}).reveal() == "s3cret-from-file"
    with pytest.raises(ConfigError, match="cannot read"):
        SecretRef(file=tmp_path / "missing").resolve({})


def test_secret_from_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "db-password").write_text("s3cret-cred")
    ref = SecretRef(credential="db-password")
    assert ref.resolve({"CREDENTIALS_DIRECTORY": str(tmp_path)}).reveal() == "s3cret-cred"
    with pytest.raises(ConfigError, match="CREDENTIALS_DIRECTORY"):
        ref.resolve({})


def test_secret_ref_needs_exactly_one_source(tmp_path: Path) -> None:
    for bad in ("{}", "{ env = 'A', file = '/x' }"):
        message = _error(tmp_path, MINIMAL.replace('{ env = "PROPDESK_IMAP_PASSWORD" }', bad))
        assert "mailboxes[0].password" in message and "exactly one" in message


def test_secret_never_shows() -> None:
    secret = Secret("hunter2-very-secret")
    for text in (repr(secret), str(secret), f"{secret}", repr([secret]), repr({"p": secret})):
        assert "hunter2" not in text


def test_password_value_in_toml_is_rejected(tmp_path: Path) -> None:
    """A plain password string is not accepted, and the error does not echo it back."""
    message = _error(tmp_path, MINIMAL.replace('{ env = "PROPDESK_IMAP_PASSWORD" }', '"hunter2"'))
    assert "mailboxes[0].password" in message
    assert "hunter2" not in message


def test_config_repr_holds_no_secret_value() -> None:
    config = parse_config(
        {"mailboxes": [{"name": "m", "host": "h", "username": "u", "password": {"env": "X"}}]}
    )
    assert "X" in repr(config.mailboxes[0].password)  # only where it lives


# --- housekeeping and the metrics endpoint ------------------------------------------------------
def test_housekeeping_errors_name_the_key(tmp_path: Path) -> None:
    bad = MINIMAL + 'processed_keep_days = 30\nprocessed_retention = "delete"\n'
    assert "mailboxes[0].processed_retention" in _error(tmp_path, bad)
    bad = MINIMAL + "processed_keep_days = -1\n"
    assert "mailboxes[0].processed_keep_days" in _error(tmp_path, bad)
    message = _error(tmp_path, MINIMAL + 'processed_archive_folder = "Archive"\n')
    assert "mailboxes[0]" in message and "needs %Y" in message
    message = _error(
        tmp_path, MINIMAL + 'processed_archive_folder = "%Y"\nprocessed_folder = "2026"\n'
    )
    assert "is a folder we read or fill" in message
    bad = MINIMAL + "\n[housekeeping]\nmax_messages_per_pass = 0\n"
    assert "housekeeping.max_messages_per_pass" in _error(tmp_path, bad)


def test_housekeeping_settings_load(tmp_path: Path) -> None:
    text = MINIMAL + 'processed_keep_days = 90\nprocessed_retention = "expunge"\n'
    mailbox = load_config(_write(tmp_path, text)).mailboxes[0]
    assert (mailbox.processed_keep_days, mailbox.processed_retention) == (90, "expunge")
    assert load_config(_write(tmp_path, MINIMAL)).mailboxes[0].processed_keep_days == 90
    off = load_config(_write(tmp_path, MINIMAL + "processed_keep_days = 0\n"))
    assert off.mailboxes[0].processed_keep_days == 0


def test_metrics_listen_on_loopback_by_default_and_off_when_empty(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, MINIMAL)).metrics.listen == "127.0.0.1:9464"
    off = load_config(_write(tmp_path, MINIMAL + '\n[metrics]\nlisten = ""\n'))
    assert off.metrics.listen == ""
    assert "metrics.listen" in _error(tmp_path, MINIMAL + '\n[metrics]\nlisten = "9464"\n')
