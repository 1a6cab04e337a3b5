"""The loop's partitions: one per evaluated UTC date, added when a run for the date is made.

Dynamic, not a daily range: every date from 2015-01-01 through tomorrow can be evaluated (the CLI
and the API check that range, `domain.dates`), but an asset's page in the UI lists the dates
that were evaluated, so it reads "12 partitions, 12 materialized" rather than "4,359
partitions, 0% filled" (docs/decisions.md, "The loop in the UI"). Whatever makes a run for a
date (the launcher, the daily schedules) adds the date first with `add_evaluation_date`.
"""

from dagster import DagsterInstance, DynamicPartitionsDefinition

EVALUATION_DATES = "evaluation_dates"

daily_partitions = DynamicPartitionsDefinition(name=EVALUATION_DATES)


def add_evaluation_date(instance: DagsterInstance, day: str) -> None:
    """The date `day` (YYYY-MM-DD) as a partition of the instance, if it is not one yet."""
    if not instance.has_dynamic_partition(EVALUATION_DATES, day):
        instance.add_dynamic_partitions(EVALUATION_DATES, [day])
