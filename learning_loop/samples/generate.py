"""Writes the small sample channel shipped with the project (videos.csv, metrics.csv).

Run `python -m learning_loop.samples.generate` to rebuild it; the output is deterministic.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).parent
START = dt.datetime(2026, 10, 1, 15, 0, tzinfo=dt.UTC)
DAYS = 30
PER_DAY = 2

TOPICS = [
    "The last lighthouse keeper",
    "Why octopuses dream",
    "A city built on salt",
    "The forgotten moon mission",
    "How bees vote",
    "The river that runs backwards",
    "A samurai without a sword",
    "The library of lost sounds",
    "Glaciers that sing",
    "The first clock",
    "A robot learns to paint",
    "The island of silent birds",
    "Ghost ships of the Atlantic",
    "Why we fear the dark",
    "The oldest tree alive",
    "A map of forgotten roads",
    "The chess player who never lost",
    "Deserts that bloom",
    "The mystery of ball lightning",
    "A letter from 2126",
]
# The channel's history uses a handful of recipes, as a real channel does:
# (preset, hook_type, scene_count, narration wpm, captions per second, ending_type).
RECIPES = [
    ("DARK_DYSTOPIAN_ANIME", "question", 7, 140, 0.45, "cliffhanger"),
    ("DARK_DYSTOPIAN_ANIME", "story", 8, 110, 0.25, "resolve"),
    ("DARK_DYSTOPIAN_ANIME", "statement", 6, 175, 0.70, "cta"),
    ("VIBRANT_MOTION_GRAPHICS", "mystery", 7, 150, 0.50, "loop"),
    ("VIBRANT_MOTION_GRAPHICS", "visual", 5, 130, 0.40, "resolve"),
    ("VIBRANT_MOTION_GRAPHICS", "contrast", 9, 165, 0.65, "cta"),
]
# Hidden quality of each recipe, so the leaderboard has something to find.
QUALITY = [0.45, 0.1, -0.2, 0.3, 0.0, -0.35]


def main() -> None:
    rng = random.Random(7)
    videos, metrics = [], []
    for i in range(DAYS * PER_DAY):
        published = START + dt.timedelta(hours=12 * i + rng.randint(0, 90) / 60)
        k = rng.randrange(len(RECIPES))
        preset, hook, scenes, wpm, cps, ending = RECIPES[k]
        video = {
            "external_id": f"yt_{i:04d}",
            "topic": f"{TOPICS[i % len(TOPICS)]}"
            + ("" if i < len(TOPICS) else f" part {i // len(TOPICS) + 1}"),
            "published_at": published.isoformat().replace("+00:00", "Z"),
            "preset": preset,
            "hook_type": hook,
            "scene_count": scenes,
            "narration_wpm": round(wpm + rng.uniform(-5, 5), 1),
            "caption_density": round(cps + rng.uniform(-0.04, 0.04), 3),
            "ending_type": ending,
        }
        videos.append(video)
        quality = QUALITY[k] + rng.gauss(0, 0.3)
        views = int(rng.lognormvariate(8 + quality, 0.8))
        for hours in (6, 24, 72):
            captured = published + dt.timedelta(hours=hours)
            if captured >= START + dt.timedelta(days=DAYS):
                continue
            views_6h = max(1, int(views * 0.3))
            grown = max(views_6h, int(views * min(1.0, hours / 72) ** 0.5))
            metrics.append(
                {
                    "external_id": video["external_id"],
                    "captured_at": captured.isoformat().replace("+00:00", "Z"),
                    "views": grown,
                    "views_6h": views_6h,
                    "avg_view_duration_s": round(max(3.0, 22 + 8 * quality + rng.gauss(0, 3)), 2),
                    "likes": int(grown * max(0.005, 0.04 + 0.02 * quality)),
                    "comments": int(grown * max(0.001, 0.004 + 0.002 * quality)),
                }
            )
    for name, rows in (("videos.csv", videos), ("metrics.csv", metrics)):
        with (HERE / name).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
