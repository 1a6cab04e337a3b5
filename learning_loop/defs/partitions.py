"""The loop's daily partitions: one per UTC evaluation date."""

from dagster import DailyPartitionsDefinition

# end_offset=1: today's date is a partition too, so `update-stats` for today can run today.
daily_partitions = DailyPartitionsDefinition(start_date="2025-01-01", end_offset=1)
