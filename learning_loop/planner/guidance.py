"""The planner's rules as data: hook and ending guidance, pace and caption bands, scene timing.

The LLM prompt, the template backend and the validator all read these, so they cannot drift.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from learning_loop.domain.buckets import density_bucket, wpm_bucket
from learning_loop.domain.recipe import Recipe
from learning_loop.planner.errors import PlanRequestError
from learning_loop.planner.models import (
    MAX_IDEA_CHARS,
    MAX_TARGET_DURATION_S,
    MIN_TARGET_DURATION_S,
)

# --- Words and sentences -------------------------------------------------------------------------
# A word is a whitespace-separated token with at least one letter or digit, so "—" or "..."
# standing alone are not words; edge punctuation is ignored when words are compared.

_ALNUM = re.compile(r"[^\W_]")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
_SENTENCE_END = re.compile(r"(?<=[.!?…][\"'”’)\]])\s+|(?<=[.!?…])\s+")
_CLOSERS = "\"'”’)]"


def words(text: str) -> list[str]:
    return [token for token in text.split() if _ALNUM.search(token)]


def word_count(text: str) -> int:
    return len(words(text))


def normalized_words(text: str) -> list[str]:
    """Lowercased words without edge punctuation; curly apostrophes become straight ones."""
    return [_EDGE_PUNCT.sub("", w.replace("’", "'")).lower() for w in words(text)]


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def _ends(sentence: str) -> str:
    return sentence.rstrip().rstrip(_CLOSERS).rstrip()


def _find_phrase(haystack: Sequence[str], phrases: Sequence[str], start: int = 0) -> int:
    """Index of the first occurrence at or after start of any phrase (as whole words), or -1."""
    best = -1
    for phrase in phrases:
        needle = phrase.split()
        for i in range(start, len(haystack) - len(needle) + 1):
            if list(haystack[i : i + len(needle)]) == needle:
                if best < 0 or i < best:
                    best = i
                break
    return best


# --- Hook and ending guidance --------------------------------------------------------------------

VISUAL_HOOK_MAX_WORDS = 12
LOOP_WORDS = 3

POINTING_WORDS = ("look", "see", "watch", "behold", "notice", "here", "there", "this", "these")
STORY_OPENERS = (
    "once",
    "one day",
    "one night",
    "one morning",
    "long ago",
    "years ago",
    "it began",
    "it started",
    "it was",
    "there was",
    "when",
    "last night",
    "last year",
)
CONTRAST_BEFORE = ("before", "once", "used to", "at first", "yesterday", "years ago", "back then")
CONTRAST_AFTER = ("now", "today", "after", "but", "until", "these days", "tonight", "suddenly")
MYSTERY_MARKERS = (
    "no one",
    "nobody",
    "secret",
    "hidden",
    "mystery",
    "mysterious",
    "unexplained",
    "strange",
    "unknown",
    "vanished",
    "disappeared",
)
RESOLVE_MARKERS = (
    "in the end",
    "finally",
    "at last",
    "and so",
    "that is why",
    "that's why",
    "which is why",
    "that is how",
    "that's how",
    "from then on",
    "ever since",
)
CTA_VERBS = ("follow", "subscribe", "comment", "share", "like", "save", "tell", "tap", "join")
# Words that may come before the verb of an imperative without changing it: "So follow ...".
CTA_SOFTENERS = ("so", "now", "and", "please", "then", "go", "just")

Check = Callable[[str, str], str | None]
"""(scene 1 narration, last scene narration) -> what is wrong, or None when the rule holds."""


@dataclass(frozen=True)
class Guidance:
    """How a hook or ending type should feel (for the writer) and the exact rule that is checked."""

    name: str
    description: str
    rule: str
    check: Check


def _first_sentence(text: str) -> str:
    found = sentences(text)
    return found[0] if found else ""


def _last_sentence(text: str) -> str:
    found = sentences(text)
    return found[-1] if found else ""


def _hook_question(first: str, _last: str) -> str | None:
    if _ends(_first_sentence(first)).endswith("?"):
        return None
    return "the first sentence of scene 1 does not end with '?'"


def _hook_statement(first: str, _last: str) -> str | None:
    end = _ends(_first_sentence(first))
    if end.endswith(("...", "…")) or not end.endswith((".", "!")):
        return "the first sentence of scene 1 is not a statement ending with '.' or '!'"
    return None


def _hook_visual(first: str, _last: str) -> str | None:
    found = normalized_words(first)
    if len(found) > VISUAL_HOOK_MAX_WORDS:
        return (
            f"scene 1 narration has {len(found)} words; a visual hook keeps it to at most "
            f"{VISUAL_HOOK_MAX_WORDS}"
        )
    if not found or found[0] not in POINTING_WORDS:
        return "scene 1 narration does not start by pointing at the image (e.g. 'Look ...')"
    return None


def _hook_story(first: str, _last: str) -> str | None:
    if _find_phrase(normalized_words(_first_sentence(first))[:3], STORY_OPENERS) == 0:
        return None
    return "scene 1 does not open like a story (e.g. 'It began ...', 'One night ...')"


def _hook_contrast(first: str, _last: str) -> str | None:
    found = normalized_words(first)
    before = _find_phrase(found, CONTRAST_BEFORE)
    if before < 0 or _find_phrase(found, CONTRAST_AFTER, before + 1) < 0:
        return "scene 1 does not state a before and then an after (e.g. 'Before ... Now ...')"
    return None


def _hook_mystery(first: str, _last: str) -> str | None:
    if _find_phrase(normalized_words(first), MYSTERY_MARKERS) >= 0:
        return None
    return "scene 1 opens no curiosity gap (no word such as 'secret', 'nobody', 'hidden')"


def _ending_cliffhanger(_first: str, last: str) -> str | None:
    if _ends(_last_sentence(last)).endswith(("?", "...", "…")):
        return None
    return "the last sentence does not leave an open question (end it with '?' or '...')"


def _ending_resolve(_first: str, last: str) -> str | None:
    end = _ends(_last_sentence(last))
    if end.endswith(("...", "…")) or not end.endswith((".", "!")):
        return "the last sentence does not conclude (it must end with '.' or '!')"
    if _find_phrase(normalized_words(last), RESOLVE_MARKERS) < 0:
        return "the last scene has no concluding phrase (e.g. 'In the end', 'Finally')"
    return None


def _ending_cta(_first: str, last: str) -> str | None:
    for sentence in sentences(last):
        found = normalized_words(sentence)
        while found and found[0] in CTA_SOFTENERS:
            found = found[1:]
        if found and found[0] in CTA_VERBS:
            return None
    return "the last scene has no sentence that starts with a call to action (e.g. 'Follow ...')"


def _ending_loop(first: str, last: str) -> str | None:
    opening = normalized_words(first)[:LOOP_WORDS]
    if opening and normalized_words(last)[-len(opening) :] == opening:
        return None
    return (
        f"the last narration does not end with the first {LOOP_WORDS} words of scene 1 "
        f"({' '.join(opening)!r}), so it does not lead back into the opening"
    )


def _listed(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values)


HOOK_GUIDANCE: dict[str, Guidance] = {
    "question": Guidance(
        "question",
        "Open with a compelling question the viewer wants answered.",
        "The first sentence of scene 1's narration is a question ending with '?'.",
        _hook_question,
    ),
    "statement": Guidance(
        "statement",
        "Open with a bold, confident claim that grabs attention.",
        "The first sentence of scene 1's narration is a statement ending with '.' or '!' "
        "(not '?' and not '...').",
        _hook_statement,
    ),
    "visual": Guidance(
        "visual",
        "Lead with a striking image; the picture does the work and the voice only points at it.",
        f"Scene 1's narration has at most {VISUAL_HOOK_MAX_WORDS} words, its first word is one "
        f"of {_listed(POINTING_WORDS)}, and its visual direction describes the striking image.",
        _hook_visual,
    ),
    "story": Guidance(
        "story",
        "Open a mini-story: a moment, a character, something about to happen.",
        f"The first sentence of scene 1's narration starts with one of {_listed(STORY_OPENERS)}.",
        _hook_story,
    ),
    "contrast": Guidance(
        "contrast",
        "Open with a before/after or a comparison that shows a change.",
        f"Scene 1's narration contains a 'before' word ({_listed(CONTRAST_BEFORE)}) and, later, "
        f"an 'after' word ({_listed(CONTRAST_AFTER)}).",
        _hook_contrast,
    ),
    "mystery": Guidance(
        "mystery",
        "Open a curiosity gap: hint at something hidden or unexplained without revealing it.",
        f"Scene 1's narration contains one of {_listed(MYSTERY_MARKERS)}.",
        _hook_mystery,
    ),
}

ENDING_GUIDANCE: dict[str, Guidance] = {
    "cliffhanger": Guidance(
        "cliffhanger",
        "Leave the viewer wanting more: end on an open question or an unfinished moment.",
        "The last sentence of the last scene's narration ends with '?' or '...'.",
        _ending_cliffhanger,
    ),
    "resolve": Guidance(
        "resolve",
        "Give a complete, satisfying conclusion.",
        f"The last scene's narration contains a concluding phrase ({_listed(RESOLVE_MARKERS)}) "
        "and its last sentence ends with '.' or '!' (no '?', no '...').",
        _ending_resolve,
    ),
    "cta": Guidance(
        "cta",
        "End with a clear call to action for the viewer.",
        f"A sentence of the last scene's narration starts with an imperative verb, one of "
        f"{_listed(CTA_VERBS)} (optionally after {_listed(CTA_SOFTENERS)}).",
        _ending_cta,
    ),
    "loop": Guidance(
        "loop",
        "Loop back to the beginning so the video flows straight into its own opening on replay.",
        f"The last scene's narration ends with the same first {LOOP_WORDS} words as scene 1's "
        "narration (case and punctuation ignored).",
        _ending_loop,
    ),
}


# --- Pace and caption bands ----------------------------------------------------------------------


@dataclass(frozen=True)
class RateBand:
    """The rates a bucket accepts: the contract's bucket bounds, plus a floor and a cap.

    Bucket membership comes from domain.buckets (the single source of the contract's bounds); the
    floor and cap rule out plans that are in the bucket but absurd (a silent scene as "slow",
    a wall of 300 wpm as "fast"). target is what the template backend aims for.
    """

    bucket: str
    low: float
    high: float
    target: float
    text: str


WPM_BANDS: dict[str, RateBand] = {
    "slow": RateBand("slow", 90.0, 120.0, 105.0, "at least 90 and under 120 words per minute"),
    "medium": RateBand("medium", 120.0, 160.0, 140.0, "120 to 160 words per minute"),
    "fast": RateBand("fast", 160.0, 200.0, 180.0, "over 160 and at most 200 words per minute"),
}
DENSITY_BANDS: dict[str, RateBand] = {
    "sparse": RateBand("sparse", 0.0, 0.3, 0.2, "under 0.3 captions per second"),
    "medium": RateBand("medium", 0.3, 0.6, 0.45, "0.3 to 0.6 captions per second"),
    "dense": RateBand("dense", 0.6, 1.5, 1.0, "over 0.6 and at most 1.5 captions per second"),
}


def narration_wpm(word_total: int, duration_s: float) -> float:
    return word_total * 60.0 / duration_s


def captions_per_second(caption_total: int, duration_s: float) -> float:
    return caption_total / duration_s


def wpm_fits(bucket: str, word_total: int, duration_s: float) -> bool:
    band = WPM_BANDS[bucket]
    rate = narration_wpm(word_total, duration_s)
    return wpm_bucket(rate) == bucket and band.low <= rate <= band.high


def density_fits(bucket: str, caption_total: int, duration_s: float) -> bool:
    band = DENSITY_BANDS[bucket]
    rate = captions_per_second(caption_total, duration_s)
    return density_bucket(rate) == bucket and band.low <= rate <= band.high


def _counts(fits: Callable[[int], bool], approx_low: float, approx_high: float) -> range:
    # Rates grow with the count, so the fitting counts are one contiguous run near the bounds.
    found = [
        k for k in range(max(0, math.floor(approx_low) - 1), math.ceil(approx_high) + 2) if fits(k)
    ]
    return range(found[0], found[-1] + 1) if found else range(0)


def word_range(bucket: str, duration_s: float) -> range:
    """The narration word counts that fit the wpm bucket for a scene of duration_s."""
    band = WPM_BANDS[bucket]
    return _counts(
        lambda k: wpm_fits(bucket, k, duration_s),
        band.low * duration_s / 60,
        band.high * duration_s / 60,
    )


def caption_range(bucket: str, duration_s: float) -> range:
    """The caption counts that fit the density bucket for a scene of duration_s."""
    band = DENSITY_BANDS[bucket]
    return _counts(
        lambda k: density_fits(bucket, k, duration_s),
        band.low * duration_s,
        band.high * duration_s,
    )


# --- Scene timing --------------------------------------------------------------------------------

MIN_SCENE_S = 3.0
VISUAL_HOOK_SCENE_S = 3.0
DURATION_STEP_S = 0.5
TOTAL_DURATION_TOLERANCE = 0.10


def min_target_duration(scene_count: int) -> float:
    return max(MIN_TARGET_DURATION_S, scene_count * MIN_SCENE_S)


def check_target_duration(target_duration_s: float, scene_count: int) -> float:
    """The target as a float, or PlanRequestError when no plan of scene_count scenes fits it."""
    try:
        target = float(target_duration_s)
    except (TypeError, ValueError):
        raise PlanRequestError(
            f"target duration must be a number of seconds; got {target_duration_s!r}",
            "target_duration_s",
        ) from None
    low = min_target_duration(scene_count)
    if not math.isfinite(target) or not low <= target <= MAX_TARGET_DURATION_S:
        raise PlanRequestError(
            f"target duration must be from {low:g} to {MAX_TARGET_DURATION_S:g} s for "
            f"{scene_count} scenes of at least {MIN_SCENE_S:g} s; got {target_duration_s!r}",
            "target_duration_s",
        )
    return target


def scene_durations(recipe: Recipe, target_duration_s: float) -> list[float]:
    """Split the target into scene durations, in half-second steps that sum to the rounded target.

    A visual hook gets a short establishing shot of 3 s (its narration is at most 12 words);
    every other scene gets an even share. The half-seconds left over go one each to the body
    scenes first (they carry the story), then to the ending, then to the hook. Every scene is
    at least 3 s long, and from 3 s up each bucket has a whole number of words and captions that
    fits (the bands above were chosen for that), so the template can always meet the rules.
    """
    target = check_target_duration(target_duration_s, recipe.scene_count)
    n = recipe.scene_count
    units = round(target / DURATION_STEP_S)
    split = [0] * n
    first = 1 if recipe.hook_type == "visual" else 0
    if first:
        split[0] = round(VISUAL_HOOK_SCENE_S / DURATION_STEP_S)
    base, extra = divmod(units - sum(split), n - first)
    for i in range(first, n):
        split[i] = base
    order = [*range(1, n - 1), n - 1, 0][:extra]
    for i in order:
        split[i] += 1
    return [u * DURATION_STEP_S for u in split]


def total_duration_fits(total_s: float, target_duration_s: float) -> bool:
    return abs(total_s - target_duration_s) <= TOTAL_DURATION_TOLERANCE * target_duration_s


# --- Preset styles for visual directions ---------------------------------------------------------


@dataclass(frozen=True)
class PresetStyle:
    """How a preset looks; every visual direction names the style by its phrase."""

    phrase: str
    palette: str
    texture: str
    moves: tuple[str, ...]


PRESET_STYLES: dict[str, PresetStyle] = {
    "DARK_DYSTOPIAN_ANIME": PresetStyle(
        "dark dystopian anime",
        "ash grey, ember orange and cold neon cyan",
        "heavy film grain, rain and drifting smoke",
        ("slow push-in", "low-angle tracking", "static frame", "handheld shake", "slow pull-back"),
    ),
    "VIBRANT_MOTION_GRAPHICS": PresetStyle(
        "vibrant motion graphics",
        "saturated gradients of magenta, electric blue and lime",
        "bold flat shapes and kinetic typography",
        ("snappy zoom", "smooth parallax slide", "bouncy scale-in", "split-screen wipe", "spin"),
    ),
}


def style_phrase(preset: str) -> str:
    return " ".join(preset.lower().replace("_", " ").replace("-", " ").split())


def preset_style(preset: str) -> PresetStyle:
    """The catalogue's style, or a plain one named after a project's own preset."""
    known = PRESET_STYLES.get(preset)
    if known is not None:
        return known
    return PresetStyle(
        style_phrase(preset),
        "the preset's palette",
        "the preset's textures",
        ("push-in", "tracking shot", "static frame", "pull-back"),
    )


def visual_in_style(visual: str, preset: str) -> bool:
    return style_phrase(preset) in style_phrase(visual)


# --- The idea ------------------------------------------------------------------------------------


def clean_idea(idea: object) -> str:
    if not isinstance(idea, str) or not idea.strip():
        raise PlanRequestError("idea must be a non-empty text", "idea")
    text = " ".join(idea.split())
    if len(text) > MAX_IDEA_CHARS:
        raise PlanRequestError(
            f"idea must be at most {MAX_IDEA_CHARS} characters; got {len(text)}", "idea"
        )
    return text
