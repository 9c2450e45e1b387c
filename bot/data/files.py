"""An explanation's files for the thread: the series chart, the segments chart, the SQL receipts."""

from __future__ import annotations

from bot.attachment import Attachment
from bot.data.analysis.explain import Explanation
from bot.data.chart import contributions_chart, series_chart
from bot.data.report import sql_file


def explanation_files(e: Explanation) -> list[Attachment]:
    """The charts and the SQL receipts for an explanation, ready to upload."""
    files = [Attachment(f"{e.metric.name}-series.png", series_chart(e), f"{e.metric.name}: {e.description}")]
    contributions = contributions_chart(e)
    if contributions is not None:
        files.append(Attachment(f"{e.metric.name}-segments.png", contributions,
                                f"{e.metric.name}: what drove the change"))
    files.append(Attachment(f"{e.metric.name}-queries.sql", sql_file(e), "The SQL behind these numbers"))
    return files
