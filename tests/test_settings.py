"""Settings: every problem reported at once, chatops.yml validated strictly, channel lookup."""

from __future__ import annotations

import pytest

from bot.errors import SettingsError
from bot.settings import Settings


def test_defaults_from_an_empty_environment(tmp_path):
    settings = Settings.from_env({"CHATOPS_HOME": str(tmp_path)}, cwd=tmp_path)
    assert settings.home == tmp_path
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.model_configured and not settings.socket_mode
    assert settings.max_steps == 20 and settings.concurrency == 256


def test_every_problem_is_listed_at_once(tmp_path):
    env = {
        "CHATOPS_HOME": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxp-user-token",
        "SLACK_APP_TOKEN": "nope",
        "OPENAI_BASE_URL": "localhost:11434",
        "CHATOPS_MAX_STEPS": "many",
        "CHATOPS_MODEL_TIMEOUT": "0",
        "CHATOPS_MODEL_STREAM": "sometimes",
        "OPENAI_API_KEY": "sk-whatever",
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env, cwd=tmp_path)
    problems = "\n".join(caught.value.problems)
    for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "OPENAI_BASE_URL", "CHATOPS_MAX_STEPS",
                "CHATOPS_MODEL_TIMEOUT", "CHATOPS_MODEL_STREAM", "CHATOPS_MODEL"):
        assert key in problems
    assert len(caught.value.problems) == 7


def test_run_mode_requires_slack_credentials(tmp_path):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CHATOPS_HOME": str(tmp_path)}, for_slack=True, cwd=tmp_path)
    assert any("SLACK_BOT_TOKEN is missing" in p for p in caught.value.problems)
    assert any("SLACK_APP_TOKEN" in p and "SLACK_SIGNING_SECRET" in p for p in caught.value.problems)
    ok = Settings.from_env({"CHATOPS_HOME": str(tmp_path), "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"},
                           for_slack=True, cwd=tmp_path)
    assert ok.socket_mode


def test_a_local_model_needs_no_api_key(tmp_path):
    settings = Settings.from_env({"CHATOPS_HOME": str(tmp_path), "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1",
                                  "CHATOPS_MODEL": "llama3.1"}, cwd=tmp_path)
    assert settings.model_configured and settings.openai_api_key is None


def test_chatops_yml_channels_by_name_or_id(tmp_path):
    (tmp_path / "chatops.yml").write_text(
        "defaults:\n  instructions: Be brief.\n"
        "channels:\n  '#payments':\n    instructions: Amounts are in cents.\n  C0RANDOM: {}\n"
    )
    settings = Settings.from_env({"CHATOPS_HOME": str(tmp_path / "home")}, cwd=tmp_path)
    assert settings.config_path == tmp_path / "chatops.yml"
    assert settings.channel("C0PAY", "payments").instructions == "Amounts are in cents."
    assert settings.channel("C0RANDOM").instructions == "Be brief."  # inherits the defaults
    assert settings.channel("C0OTHER", "other").instructions == "Be brief."


def test_chatops_yml_typos_are_reported(tmp_path):
    config = tmp_path / "custom.yml"
    config.write_text("defaults:\n  instrucions: x\nchanels: {}\nchannels:\n  '#a': [1]\n")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CHATOPS_HOME": str(tmp_path), "CHATOPS_CONFIG": str(config)}, cwd=tmp_path)
    problems = "\n".join(caught.value.problems)
    assert "'instrucions'" in problems and "'chanels'" in problems and "channels.#a must be a mapping" in problems


def test_chatops_yml_that_is_not_yaml(tmp_path):
    (tmp_path / "chatops.yml").write_text("channels: [unclosed\n")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CHATOPS_HOME": str(tmp_path)}, cwd=tmp_path)
    assert "cannot be read as YAML" in caught.value.problems[0]


def test_secrets_are_known_for_redaction(tmp_path):
    settings = Settings(home=tmp_path, slack_bot_token="xoxb-123456789", openai_api_key="local-key-123")
    assert set(settings.secrets) == {"xoxb-123456789", "local-key-123"}
