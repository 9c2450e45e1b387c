"""leaf_table: database values become labelled leaves, summed, in a fixed order; segments map back to SQL."""

import uuid

import numpy as np

from bot.data.analysis.rca import Segment
from bot.data.analysis.scan import leaf_table


def _values(*counts: float) -> np.ndarray:
    table = np.zeros((len(counts), 6))
    table[:, 5] = counts  # rows in the current window
    return table


def test_rows_of_one_leaf_are_summed_and_leaves_are_in_label_order():
    table = leaf_table(["platform", "version"], [("ios", 2), ("android", 10), ("ios", 2), (None, 1)],
                       _values(1, 2, 3, 4))
    keys = [tuple(table.leaves.values[j][code] for j, code in enumerate(row)) for row in table.leaves.codes]
    assert keys == [("(none)", "1"), ("android", "10"), ("ios", "2")]
    assert table.values[:, 5].tolist() == [4, 2, 4]
    assert table.of.tolist() == [2, 1, 2, 0]


def test_values_that_print_the_same_are_one_leaf():
    table = leaf_table(["version"], [(1,), ("1",)], _values(1, 1))
    assert len(table.leaves) == 1 and table.values[0, 5] == 2


def test_a_segment_matches_its_leaves_and_becomes_sql_on_the_database_values():
    table = leaf_table(["platform", "version", "id"],
                       [("ios", 2, None), ("android", 10, None), ("it's", 2, uuid.UUID(int=1))], _values(1, 1, 1))
    ios_2 = Segment((("platform", "ios"), ("version", "2")))
    assert table.matching(ios_2).tolist() == [False, True, False]
    assert table.matching(Segment((("platform", "windows"),))).tolist() == [False, False, False]
    assert table.equals_sql(ios_2, "duckdb") == ['"platform" = \'ios\'', '"version" = 2']
    assert table.equals_sql(Segment((("platform", "it's"), ("id", "(none)"))), "duckdb") == \
        ['"platform" = \'it\'\'s\'', '"id" IS NULL']
    assert table.equals_sql(Segment((("id", str(uuid.UUID(int=1))),)), "duckdb") == \
        [f'CAST("id" AS VARCHAR) = \'{uuid.UUID(int=1)}\'']
