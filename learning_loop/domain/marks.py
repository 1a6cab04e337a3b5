"""The collector's marks: when a published video is polled, and its views at 6 hours
(contract §12). Pure rules, shared by the collector's passes, its simulation and its tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from learning_loop.domain.statuses import Views6hBasis

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# Times after publication at which a video is polled; the second is the reward's 6 hours.
MARKS: tuple[dt.timedelta, ...] = (HOUR, 6 * HOUR, DAY, 3 * DAY, 7 * DAY, 28 * DAY)
MARK_NAMES: tuple[str, ...] = ("1h", "6h", "24h", "72h", "7d", "28d")
SIX_HOURS = 1  # the index of the 6-hour mark
# A poll that comes at most this long after its mark was taken at the mark; a later one means
# the mark was missed (the collector did not run).
TOLERANCE = dt.timedelta(minutes=30)
# A missed 6-hour value is interpolated only from a poll taken by then (the 24-hour mark);
# after that the views at 6 hours stay unknown.
INTERPOLATE_UNTIL = DAY
# A video whose last mark passed longer ago than this when it was first seen is not polled.
ENROL_GRACE = DAY


def mark_time(published_at: dt.datetime, index: int) -> dt.datetime:
    return published_at + MARKS[index]


def first_mark_after(published_at: dt.datetime, moment: dt.datetime) -> int:
    """The index of the first mark still to come at `moment` (len(MARKS) when none is)."""
    return next((i for i, m in enumerate(MARKS) if published_at + m > moment), len(MARKS))


@dataclass(frozen=True)
class Poll:
    """One video's poll at `at`, and what it means for its marks."""

    next_mark: int  # the first mark still to come after this poll (len(MARKS): done)
    marks_missed: int  # marks this poll served that came more than TOLERANCE earlier
    views_6h: int | None
    views_6h_basis: Views6hBasis | None
    before_6h: tuple[dt.datetime, int] | None  # the last poll before the 6-hour mark


def poll(
    published_at: dt.datetime,
    next_mark: int,
    at: dt.datetime,
    views: int,
    before_6h: tuple[dt.datetime, int] | None,
    views_6h: int | None,
    views_6h_basis: Views6hBasis | None,
) -> Poll:
    """What a poll at `at` of a video due at `next_mark` records (contract §12).

    The poll serves every mark that has come by `at` from `next_mark` on. The views at 6 hours
    are decided by the first poll at or after that mark: its own views when it came within
    TOLERANCE of the mark (`observed`); otherwise, when it came by INTERPOLATE_UNTIL, the
    straight line between the last poll before the mark (or the publication, at 0 views) and
    this one, read at the mark (`interpolated`); otherwise they stay unknown.
    """
    after = first_mark_after(published_at, at)
    served = range(next_mark, after)
    missed = sum(1 for i in served if at - mark_time(published_at, i) > TOLERANCE)
    six = mark_time(published_at, SIX_HOURS)
    if at < six:
        return Poll(after, missed, None, None, (at, views))
    if views_6h is not None or next_mark > SIX_HOURS:
        # Decided by an earlier poll (or left unknown by it).
        return Poll(after, missed, views_6h, views_6h_basis, before_6h)
    late = at - six
    if late <= TOLERANCE:
        return Poll(after, missed, views, Views6hBasis.OBSERVED, before_6h)
    if late > INTERPOLATE_UNTIL - MARKS[SIX_HOURS]:
        return Poll(after, missed, None, None, before_6h)
    start, start_views = before_6h if before_6h is not None else (published_at, 0)
    share = (six - start) / (at - start)
    estimate = round(start_views + (views - start_views) * share)
    return Poll(after, missed, estimate, Views6hBasis.INTERPOLATED, before_6h)


def fair_shares(needs: dict[str, int], total: int) -> dict[str, int]:
    """Split `total` calls among projects needing `needs` (max-min fair): each gets an equal
    share, a project that needs less than its share leaves the rest to the others, and what
    cannot be split evenly goes one call each to the projects first in `needs`' order."""
    shares = dict.fromkeys(needs, 0)
    left = total
    wanting = [k for k, n in needs.items() if n > 0]
    while left > 0 and wanting:
        each = left // len(wanting)
        if each == 0:
            for k in wanting[:left]:
                shares[k] += 1
            break
        for k in wanting:
            give = min(each, needs[k] - shares[k])
            shares[k] += give
            left -= give
        wanting = [k for k in wanting if shares[k] < needs[k]]
    return shares
