"""The loop's daily partitions: one per UTC evaluation date, the range the CLI and API accept."""

from dagster import DailyPartitionsDefinition

from learning_loop.domain.dates import DAYS_PAST_TODAY, EARLIEST_EVALUATION_DATE

# A Dagster daily partition ends when its day ends, so `end_offset=1` would make today the last
# one; one more makes tomorrow a partition too (see docs/decisions.md, "Evaluation dates").
daily_partitions = DailyPartitionsDefinition(
    start_date=EARLIEST_EVALUATION_DATE.isoformat(), end_offset=1 + DAYS_PAST_TODAY
)
