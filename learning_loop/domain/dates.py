"""The evaluation dates the loop accepts: from 2015-01-01 through tomorrow (UTC).

One range for the CLI, the API and the Dagster partitions, so that a date the edges accept
is always a partition a run can be made for.
"""

from __future__ import annotations

import datetime as dt

EARLIEST_EVALUATION_DATE = dt.date(2015, 1, 1)
# Tomorrow, not today: a channel east of UTC already lives in the next UTC day's evening.
DAYS_PAST_TODAY = 1


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def latest_evaluation_date(today: dt.date | None = None) -> dt.date:
    return (today or utc_today()) + dt.timedelta(days=DAYS_PAST_TODAY)


def evaluation_date_error(day: dt.date, today: dt.date | None = None) -> str | None:
    """Why `day` cannot be evaluated, in one line; None when it can."""
    latest = latest_evaluation_date(today)
    if EARLIEST_EVALUATION_DATE <= day <= latest:
        return None
    return (
        f"{day.isoformat()} is outside the evaluation dates "
        f"{EARLIEST_EVALUATION_DATE.isoformat()} through {latest.isoformat()} (tomorrow, UTC)"
    )


# The timestamps a row may carry (a video's publication, a snapshot's capture): none before
# 2005 (the year YouTube began) and none after tomorrow (UTC), like the evaluation dates.
EARLIEST_TIMESTAMP = dt.datetime(2005, 1, 1, tzinfo=dt.UTC)


def timestamp_error(moment: dt.datetime, key: str, today: dt.date | None = None) -> str | None:
    """Why an aware timestamp is refused, in one line; None when it is accepted."""
    latest = latest_evaluation_date(today)
    end = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time(), dt.UTC)
    if EARLIEST_TIMESTAMP <= moment < end:
        return None
    return (
        f"{key} {moment.isoformat()} is outside the accepted times "
        f"{EARLIEST_TIMESTAMP.date().isoformat()} through {latest.isoformat()} (tomorrow, UTC)"
    )
