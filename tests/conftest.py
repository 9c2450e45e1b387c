"""Shared fixtures: the local emulators on ephemeral ports, and settings pointed at them."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from sim.openai import ModelEmulator


@pytest.fixture
async def model():
    emulator = ModelEmulator(api_key="sk-sim-model-key", models=("sim-model",))
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def model_settings(tmp_path, model) -> Settings:
    """Settings for a bot whose model is the emulator (no retries, so failures show at once)."""
    return Settings(
        home=tmp_path / "home",
        openai_base_url=model.base_url,
        openai_api_key="sk-sim-model-key",
        model="sim-model",
        model_retries=0,
        model_timeout=10,
    )
