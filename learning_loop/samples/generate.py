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
    "The last lighthouse keeper", "Why octopuses dream", "A city built on salt",
    "The forgotten moon mission", "How bees vote", "The river that runs backwards",
    "A samurai without a sword", "The library of lost sounds", "Glaciers that sing",
    "The first clock", "A robot learns to paint", "The island of silent birds",
    "Ghost ships of the Atlantic", "Why we fear the dark", "The oldest tree alive",
    "A map of forgotten roads", "The chess player who never lost", "Deserts that bloom",
    "The mystery of ball lightning", "A letter from 2126",
]
HOOKS = ["question", "statement", "visual", "story", "contrast", "mystery"]
ENDINGS = ["cliffhanger", "resolve", "cta", "loop"]
PRESETS = ["DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS"]
# Hidden quality per hook and ending, so the leaderboard has something to find.
HOOK_EFFECT = {"question": 0.3, "statement": 0.0, "visual": 0.1, "story": 0.2,
               "contrast": -0.1, "mystery": 0.25}
ENDING_EFFECT = {"cliffhanger": 0.2, "resolve": 0.0, "cta": -0.15, "loop": 0.1}


def main() -> None:
    rng = random.Random(7)
    videos, metrics = [], []
    for i in range(DAYS * PER_DAY):
        published = START + dt.timedelta(hours=12 * i + rng.randint(0, 90) / 60)
        hook, ending = rng.choice(HOOKS[:4]), rng.choice(ENDINGS[:3])
        video = {
            "external_id": f"yt_{i:04d}",
            "topic": f"{TOPICS[i % len(TOPICS)]}" + ("" if i < len(TOPICS) else f" part {i // len(TOPICS) + 1}"),
            "published_at": published.isoformat().replace("+00:00", "Z"),
            "preset": rng.choice(PRESETS),
            "hook_type": hook,
            "scene_count": rng.choice([6, 7, 8]),
            "narration_wpm": round(rng.choice([110, 140, 150, 175]) + rng.uniform(-5, 5), 1),
            "caption_density": round(rng.choice([0.2, 0.45, 0.7]) + rng.uniform(-0.05, 0.05), 3),
            "ending_type": ending,
        }
        videos.append(video)
        quality = HOOK_EFFECT[hook] + ENDING_EFFECT[ending] + rng.gauss(0, 0.3)
        views = int(rng.lognormvariate(8 + quality, 0.8))
        for hours in (6, 24, 72):
            captured = published + dt.timedelta(hours=hours)
            if captured >= START + dt.timedelta(days=DAYS):
                continue
            views_6h = max(1, int(views * 0.3))
            grown = max(views_6h, int(views * min(1.0, hours / 72) ** 0.5))
            metrics.append({
                "external_id": video["external_id"],
                "captured_at": captured.isoformat().replace("+00:00", "Z"),
                "views": grown,
                "views_6h": views_6h,
                "avg_view_duration_s": round(max(3.0, 22 + 8 * quality + rng.gauss(0, 3)), 2),
                "likes": int(grown * max(0.005, 0.04 + 0.02 * quality)),
                "comments": int(grown * max(0.001, 0.004 + 0.002 * quality)),
            })
    for name, rows in (("videos.csv", videos), ("metrics.csv", metrics)):
        with (HERE / name).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
