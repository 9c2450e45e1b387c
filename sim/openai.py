"""A local OpenAI-compatible Chat Completions emulator for tests, benchmarks and `chatops dev`.

```python
from sim.openai import ModelEmulator, Reply

model = ModelEmulator(api_key="sk-sim", models=("sim-model",))
await model.start(host="127.0.0.1", port=0)
model.script(Reply.tool_call("search_code", {"pattern": "retry"}), Reply.text("The answer is **4**."))
# point openai.AsyncOpenAI(base_url=model.base_url, api_key="sk-sim") at it
assert model.protocol_errors == []
await model.stop()
```
Standalone, answering every request with the same text:

    python -m sim.openai --port 0 --reply-delay 1.0 --text "Hello from the emulator."

prints one JSON line `{"base_url": ..., "model": ..., "api_key": ...}` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal

from sim.model.replies import Reply, ScriptedCall
from sim.model.server import ModelEmulator

__all__ = ["ModelEmulator", "Reply", "ScriptedCall"]


async def _serve(args: argparse.Namespace) -> None:
    model = ModelEmulator(api_key=args.api_key, models=(args.model,))
    model.default = Reply.text(args.text, delay=args.reply_delay)
    await model.start(host=args.host, port=args.port)
    print(json.dumps({"base_url": model.base_url, "model": args.model, "api_key": args.api_key}), flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
            loop.add_signal_handler(signum, done.set)
    try:
        await done.wait()
    finally:
        await model.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sim.openai",
        description="Serve a local OpenAI-compatible Chat Completions endpoint that answers every request "
                    "the same way.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument("--text", default="ok", help="the text every answer carries (default: ok)")
    parser.add_argument("--reply-delay", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--model", default="sim-model", help="the one model id served (default sim-model)")
    parser.add_argument("--api-key", default=None, help="require this bearer key (default: no auth check)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
