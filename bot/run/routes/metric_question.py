"""The metric-question route, with no model: "why did signups drop last week?" -> numbers, charts, SQL.

The question is parsed deterministically (bot/data/analysis/question.py), the metric resolved against the
channel's catalog (which asks back when the name is unknown or ambiguous), and the same analysis
the explain_metric skill runs is posted as the answer, with the charts and the SQL as files.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.agent.loop import AgentResult
from bot.data.analysis.explain import Explanation, explain_window
from bot.data.analysis.question import MetricQuestion, parse_question
from bot.data.analysis.windows import parse_period
from bot.data.catalog import ChannelData
from bot.data.files import explanation_files
from bot.data.report import to_markdown
from bot.data.why import add_candidates
from bot.errors import UserError
from bot.repos.run_repos import RunRepos
from bot.run.request import Answered, Request, Services
from bot.slack.answer import AnswerWriter
from bot.slack.io import SlackIO


class MetricQuestionRoute:
    """Taken when no model is configured and the channel has metrics (with a model, explain_metric is a skill)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def accepts(self, request: Request) -> bool:
        return self.services.agent is None and bool(request.channel.data.metrics) \
            and parse_question(request.run.text) is not None

    async def answer(self, request: Request) -> Answered:
        question = parse_question(request.run.text)
        assert question is not None, "accepts() said this is a metric question"
        run, links = request.run, request.channel.repos
        if links:  # candidate commits come from every linked repo's history
            request.repos = RunRepos(self.services.workspaces, links, links[0], run.id)
        await request.progress.update(headline=f":bar_chart: Explaining `{question.metric}`…")
        explanation = await explain_question(question, request.channel.data, request.repos,
                                             today=dt.datetime.now(dt.UTC).date())
        writer = AnswerWriter(self.services.io, run.channel, run.thread_ts, run.id, stream=False)
        text = await post_explanation(self.services.io, run.channel, run.thread_ts, explanation, writer.post)
        request.save_turn([*request.session.messages, {"role": "user", "content": run.text},
                           {"role": "assistant", "content": text}])
        self.services.store.save_thread(request.session)
        return Answered(AgentResult(text=text, messages=request.session.messages))


PERIODS = ("last week", "yesterday", "this week vs last week", "last 14 days", "since Nov 3", "on Nov 18")


async def explain_question(question: MetricQuestion, data: ChannelData, repos: RunRepos | None, *,
                           today: dt.date) -> Explanation:
    metric = data.metric(question.metric)
    comparison = parse_period(question.period, today)
    if comparison is None:
        raise UserError(f"I can't tell which period \u201c{question.period}\u201d means. Try one of: "
                        + ", ".join(f"`{p}`" for p in PERIODS) + ", or dates like `2026-11-01..2026-11-07`.",
                        kind="period")
    source = data.source(metric.source)
    explanation = await asyncio.to_thread(explain_window, source, metric, comparison)
    await add_candidates(explanation, repos)
    return explanation


async def post_explanation(io: SlackIO, channel: str, thread_ts: str, explanation: Explanation, post) -> str:
    """Post the answer (through `post`, the answer writer) and then its charts and SQL; return the text."""
    text = to_markdown(explanation)
    await post(text)
    await io.upload_files(channel, thread_ts, await asyncio.to_thread(explanation_files, explanation))  # draws PNGs
    return text
