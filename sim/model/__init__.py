"""The OpenAI-compatible model emulator's parts; import `ModelEmulator` and `Reply` from `sim.openai`."""
