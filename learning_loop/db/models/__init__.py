"""SQLAlchemy 2.0 models of the product tables; Alembic migrations are built from this metadata.

One module a family of tables: `projects` (a project and what hangs on it alone), `recipes`
(recipes, what is learnt of them, experiments), `videos` (batches, jobs, snapshots, rewards,
plan requests); `base` holds what they share.
"""

from learning_loop.db.models.base import (
    NAMING_CONVENTION,
    Base,
    Stated,
    UTCDateTime,
    one_of,
    utcnow,
)
from learning_loop.db.models.projects import (
    ApiToken,
    PlatformConnection,
    PlatformQuota,
    Project,
    ProjectSettingChange,
)
from learning_loop.db.models.recipes import (
    RECIPE_RANK,
    Experiment,
    Recipe,
    RecipeDailyStats,
    RecipeModel,
    RewardBacklog,
)
from learning_loop.db.models.videos import (
    CollectedVideo,
    MetricSnapshot,
    PlannedBatch,
    PlanRequest,
    RewardDate,
    RewardValues,
    SettledReward,
    VideoJob,
    VideoReward,
)

__all__ = [
    "NAMING_CONVENTION",
    "RECIPE_RANK",
    "ApiToken",
    "Base",
    "CollectedVideo",
    "Experiment",
    "MetricSnapshot",
    "PlanRequest",
    "PlannedBatch",
    "PlatformConnection",
    "PlatformQuota",
    "Project",
    "ProjectSettingChange",
    "Recipe",
    "RecipeDailyStats",
    "RecipeModel",
    "RewardBacklog",
    "RewardDate",
    "RewardValues",
    "SettledReward",
    "Stated",
    "UTCDateTime",
    "VideoJob",
    "VideoReward",
    "one_of",
    "utcnow",
]
