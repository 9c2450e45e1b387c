"""`ChatModel` against the model emulator: a malformed completion is a `ModelError`; a bug in our
own code (the streaming `on_text` callback) is not, and propagates as the bug it is."""

from __future__ import annotations

import logging

import pytest

from bot.agent.llm import ChatModel
from bot.errors import ModelError
from sim.openai import Reply

ASK = [{"role": "user", "content": "hi"}]
NOT_A_COMPLETION = "The model endpoint returned something that is not a chat completion."


@pytest.fixture(params=["on", "off"], ids=["streamed", "plain"])
async def chat(request, model_settings):
    chat_model = ChatModel(model_settings.replace(model_stream=request.param))
    yield chat_model
    await chat_model.close()


async def test_a_bug_in_the_text_callback_propagates_as_itself(model, chat):
    async def on_text(delta: str) -> None:
        raise KeyError("our own bug")

    model.script(Reply.text("Hello there."), Reply.text("Still fine."))
    with pytest.raises(KeyError, match="our own bug"):
        await chat.complete(ASK, on_text=on_text)
    # The connection was released: the next call works.
    assert (await chat.complete(ASK)).text == "Still fine."


@pytest.mark.parametrize(
    "body",
    [{"choices": [None]}, {"choices": [{"delta": "oops", "message": "oops"}]}, ["not", "an", "object"], "not json"],
    ids=["a null choice", "wrong types", "a list", "not json"],
)
async def test_a_malformed_completion_is_a_model_error_with_the_traceback_logged(model, chat, body, caplog):
    texts: list[str] = []

    async def on_text(delta: str) -> None:
        texts.append(delta)

    model.script(Reply.raw_body(body))
    with caplog.at_level(logging.WARNING, logger="bot.agent.llm"), pytest.raises(ModelError) as caught:
        await chat.complete(ASK, on_text=on_text)
    assert caught.value.message == NOT_A_COMPLETION and texts == []
    [record] = [r for r in caplog.records if "malformed completion" in r.getMessage()]
    assert record.exc_info is not None
