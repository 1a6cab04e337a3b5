"""The template backend: a deterministic, offline plan built from the idea and the recipe alone.

Each scene's narration is assembled from whole sentences to an exact word count chosen from the
recipe's pace band, so the plan meets every rule of the validator by construction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from learning_loop.domain.recipe import Recipe
from learning_loop.planner.guidance import (
    DENSITY_BANDS,
    ENDING_GUIDANCE,
    HOOK_GUIDANCE,
    LOOP_WORDS,
    WPM_BANDS,
    PresetStyle,
    caption_range,
    clean_idea,
    preset_style,
    scene_durations,
    word_count,
    word_range,
    words,
)
from learning_loop.planner.models import PlanRecipe, Scene, SceneRole, VideoPlan

BACKEND_NAME = "template"

# Ideas often start with an article or a question word; lowercasing those (and only those) lets
# the idea sit inside a sentence without turning a name like "Tokyo" into "tokyo".
_LOWERABLE = frozenset(
    {"a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "his", "her"}
    | {"their", "its", "one", "some", "every", "how", "why", "what", "when", "where", "who"}
)
_INNER_STOPS = re.compile(r"[.!?…]+(?=\s)")
_PAUSES = (".", "!", "?", "…", ",", ";", ":", "—")
_CLOSERS = "\"'”’)]"

_HOOK_LEADS: dict[str, tuple[str, ...]] = {
    "question": ("{Idea} — but why?", "Why would anyone do this?", "What happens next?", "Why?"),
    "statement": (
        "{Idea}. Nobody is ready for what comes next.",
        "{Idea}.",
        "This changes everything.",
        "Listen.",
    ),
    "visual": ("Look closely: {idea}.", "Look at this scene.", "Look at this.", "Look."),
    "story": (
        "It began like this: {idea}.",
        "It began like any other day.",
        "It began quietly.",
        "Once.",
    ),
    "contrast": (
        "Before, all was quiet. Now {idea}.",
        "Before, all was quiet. Now everything changes.",
        "Before, quiet. Now, chaos.",
        "Before. Now.",
    ),
    "mystery": (
        "There is a secret behind this: {idea}.",
        "Nobody knows the real reason.",
        "Nobody knows why.",
        "A secret.",
    ),
}
_ENDING_TAILS: dict[str, tuple[str, ...]] = {
    "cliffhanger": (
        "And this is only the beginning of what waits...",
        "But what happens next?",
        "What next?",
        "Next?",
    ),
    "resolve": (
        "In the end, everything finally falls into place.",
        "In the end, it all made sense.",
        "Finally, peace.",
        "Finally.",
    ),
    "cta": (
        "Follow for part two and tell me what you would do.",
        "Follow for part two.",
        "Follow for more.",
        "Follow.",
    ),
    "loop": ("And so it starts again. {Opening}...", "Again. {Opening}...", "{Opening}..."),
}
_BODY_LINES: tuple[str, ...] = (
    "{Idea}.",
    "At first, nothing seems out of place.",
    "Every detail here matters.",
    "Then the silence breaks.",
    "Each step raises the stakes.",
    "The air itself feels different now.",
    "One small sign gives it all away.",
    "Nobody saw the turn coming.",
    "This is where it gets interesting.",
    "The pressure keeps building.",
    "Every choice pulls the story forward.",
    "There is no easy way back.",
    "Something shifts beneath the surface.",
    "The quiet before was only a warning.",
    "Every second now feels heavier.",
    "What looked simple was never simple.",
    "A single moment changes the whole picture.",
    "Now everything moves at once.",
    "The closer you look, the stranger it gets.",
    "The truth is closer than it seems.",
    "Hold on to that thought.",
)
# Short sentences that top a narration up to its exact word count, indexed by length.
_PADS: dict[int, tuple[str, ...]] = {
    1: ("Listen.", "Watch.", "Wait."),
    2: ("Stay close.", "Look closer.", "Keep watching."),
    3: ("Nothing is random.", "Stay with me.", "It gets worse."),
    4: ("Every second counts here.", "Keep your eyes open.", "Keep this in mind."),
}
_BODY_SHOTS = (
    "Wide establishing shot",
    "Medium tracking shot",
    "Low-angle hero shot",
    "Detail insert",
    "Over-the-shoulder shot",
    "Slow aerial view",
    "Silhouette against the light",
    "Close-up on hands and eyes",
)


class _Idea:
    """The idea as a clause that can sit inside a sentence, capitalised or not."""

    def __init__(self, idea: str) -> None:
        self.text = idea
        self.is_question = idea.rstrip().endswith("?")
        # Sentence breaks inside the idea would split a hook sentence in two.
        clause = _INNER_STOPS.sub(",", idea).rstrip(" .!?…,;:—-")
        first, _, rest = clause.partition(" ")
        self.lower = (first.lower() if first.lower() in _LOWERABLE else first) + (
            " " + rest if rest else ""
        )
        self.upper = clause[:1].upper() + clause[1:]

    def fill(self, pattern: str, **extra: str) -> str:
        return pattern.format(idea=self.lower, Idea=self.upper, **extra)


class _Writer:
    """Writes narrations to exact word counts, drawing body lines without repeating them."""

    def __init__(self, idea: _Idea) -> None:
        # Line 0 restates the idea; it is skipped once a hook has already said it.
        texts = [idea.fill(line) for line in _BODY_LINES]
        if idea.is_question:
            texts[0] = idea.upper + "?"
        self.lines = [(line, word_count(line)) for line in texts]
        self.cursor = 0
        self.idea_said = False

    def fill(self, budget: int, seed: int, idea_said: bool = False) -> tuple[list[str], int]:
        """Sentences totalling exactly budget words, and the cursor after them (not committed)."""
        skip_idea = idea_said or self.idea_said
        out: list[str] = []
        cursor = self.cursor
        while budget > max(_PADS):
            for step in range(len(self.lines)):
                at = (cursor + step) % len(self.lines)
                line, count = self.lines[at]
                if count <= budget and not (at == 0 and skip_idea):
                    out.append(line)
                    budget -= count
                    cursor = (at + 1) % len(self.lines)
                    break
            else:  # every line is longer than the budget; pads finish the job
                break
        while budget > 0:
            size = min(budget, max(_PADS))
            pads = _PADS[size]
            out.append(pads[(seed + len(out)) % len(pads)])
            budget -= size
        return out, cursor

    def commit(self, cursor: int, idea_said: bool = False) -> None:
        self.cursor = cursor
        self.idea_said = self.idea_said or idea_said


def _target_count(allowed: range, ideal: float) -> int:
    return min(max(round(ideal), allowed.start), allowed.stop - 1)


def _captions(narration: str, count: int) -> list[str]:
    """The narration cut into count on-screen lines of near-equal length, in reading order.

    Each cut moves to a nearby sentence or clause end when there is one, so lines read well.
    """
    if count <= 0:
        return []
    tokens: list[str] = []
    for token in narration.split():
        # A token without letters ("—") rides with its neighbour instead of being its own line.
        if tokens and not words(token):
            tokens[-1] += " " + token
        else:
            tokens.append(token)
    # Short lines leave no room to move a cut without making a one-word line next to it.
    reach = min(2, len(tokens) // count // 3)
    cuts = [0]
    for i in range(1, count):
        ideal = round(i * len(tokens) / count)
        low, high = cuts[-1] + 1, len(tokens) - (count - i)
        near = [c for c in range(ideal - reach, ideal + reach + 1) if low <= c <= high]
        pauses = [c for c in near if tokens[c - 1].rstrip(_CLOSERS).endswith(_PAUSES)]
        best = min(pauses or near or [min(max(ideal, low), high)], key=lambda c: abs(c - ideal))
        cuts.append(best)
    cuts.append(len(tokens))
    return [" ".join(tokens[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]


def _visual(style: PresetStyle, idea: _Idea, role: str, index: int, ending: str) -> str:
    if role == "hook":
        shot = "Opening close-up"
    elif role == "ending":
        mirror = ending == "loop"
        shot = "Closing shot mirroring the opening frame" if mirror else "Closing wide shot"
    else:
        shot = _BODY_SHOTS[(index - 1) % len(_BODY_SHOTS)]
    move = style.moves[index % len(style.moves)]
    return (
        f"{style.phrase[:1].upper()}{style.phrase[1:]}. {shot}: {idea.lower}. "
        f"Palette: {style.palette}; {style.texture}. Camera: {move}."
    )


def _opening_words(narration: str) -> str:
    return " ".join(re.sub(r"^[\W_]+|[\W_]+$", "", w) for w in words(narration)[:LOOP_WORDS])


def _write_hook(writer: _Writer, idea: _Idea, recipe: Recipe, budget: int) -> str:
    leads: Sequence[str] = _HOOK_LEADS[recipe.hook_type]
    if idea.is_question:
        # A question pasted into a statement or a story reads wrong; use the plain leads.
        if recipe.hook_type == "question":
            leads = ("{Idea}?", *leads)
        elif recipe.hook_type != "mystery":
            leads = tuple(lead for lead in leads if "{" not in lead)
    check = HOOK_GUIDANCE[recipe.hook_type].check
    for pattern in leads:
        lead = idea.fill(pattern)
        size = word_count(lead)
        if size > budget:
            continue
        said = "{" in pattern
        rest, cursor = writer.fill(budget - size, seed=0, idea_said=said)
        narration = " ".join([lead, *rest])
        if check(narration, "") is None:
            writer.commit(cursor, idea_said=said)
            return narration
    raise AssertionError(f"no {recipe.hook_type} hook fits {budget} words")  # pragma: no cover


def _capitalised(text: str) -> str:
    # Only where upper-casing keeps one character that lower-cases back ('ß' -> 'SS' does
    # not), or the loop's words would no longer match the opening's.
    head = text[:1]
    upper = head.upper()
    if len(upper) == 1 and upper.lower() == head.lower():
        return upper + text[1:]
    return text


def _write_ending(
    writer: _Writer, idea: _Idea, recipe: Recipe, budget: int, first: str, seed: int
) -> str:
    opening = _opening_words(first)
    check = ENDING_GUIDANCE[recipe.ending_type].check
    for pattern in _ENDING_TAILS[recipe.ending_type]:
        tail = idea.fill(pattern, Opening=_capitalised(opening))
        size = word_count(tail)
        if size > budget:
            continue
        rest, cursor = writer.fill(budget - size, seed)
        narration = " ".join([*rest, tail])
        if check(first, narration) is None:
            writer.commit(cursor)
            return narration
    raise AssertionError(f"no {recipe.ending_type} ending fits {budget} words")  # pragma: no cover


def build_template_plan(idea: str, recipe: Recipe, target_duration_s: float = 45.0) -> VideoPlan:
    """A plan from the idea and the recipe alone: same inputs, same plan; valid by construction."""
    text = clean_idea(idea)
    durations = scene_durations(recipe, target_duration_s)
    clause = _Idea(text)
    style = preset_style(recipe.preset)
    wpm = WPM_BANDS[recipe.narration_wpm_bucket]
    density = DENSITY_BANDS[recipe.caption_density_bucket]
    n = recipe.scene_count
    budgets = [_target_count(word_range(wpm.bucket, d), wpm.target * d / 60) for d in durations]
    writer = _Writer(clause)
    narrations = [_write_hook(writer, clause, recipe, budgets[0])]
    for i in range(1, n - 1):
        rest, cursor = writer.fill(budgets[i], seed=i)
        writer.commit(cursor)
        narrations.append(" ".join(rest))
    narrations.append(_write_ending(writer, clause, recipe, budgets[-1], narrations[0], seed=n - 1))
    scenes = []
    for i, (duration, narration) in enumerate(zip(durations, narrations, strict=True)):
        role: SceneRole = "hook" if i == 0 else "ending" if i == n - 1 else "body"
        captions = _target_count(caption_range(density.bucket, duration), density.target * duration)
        scenes.append(
            Scene(
                role=role,
                duration_s=duration,
                narration=narration,
                captions=_captions(narration, captions),
                visual=_visual(style, clause, role, i, recipe.ending_type),
            )
        )
    return VideoPlan(
        idea=text,
        recipe=PlanRecipe.of(recipe),
        recipe_hash=recipe.recipe_hash,
        target_duration_s=float(target_duration_s),
        scenes=scenes,
        backend=BACKEND_NAME,
    )
