"""The `openai` backend: any OpenAI-compatible chat-completions endpoint writes the plan.

Settings come from LEARNING_LOOP_LLM_* environment variables, read when the backend is built.
The answer goes through the shared validator; broken rules are sent back for a bounded number
of corrections. The API key is only ever put in the Authorization header.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import ValidationError

from learning_loop.domain.recipe import Recipe
from learning_loop.planner.errors import (
    PlannerBackendError,
    PlannerConfigError,
    PlannerTimeoutError,
    PlanValidationError,
)
from learning_loop.planner.guidance import (
    DENSITY_BANDS,
    ENDING_GUIDANCE,
    HOOK_GUIDANCE,
    MIN_SCENE_S,
    TOTAL_DURATION_TOLERANCE,
    WPM_BANDS,
    caption_range,
    preset_style,
    scene_durations,
    word_range,
)
from learning_loop.planner.models import PlanRecipe, VideoPlan, Violation
from learning_loop.planner.validate import expected_role, validate_plan

BACKEND_NAME = "openai"
SCHEMA_RULE = "schema"

ENV_BASE_URL = "LEARNING_LOOP_LLM_BASE_URL"
ENV_API_KEY = "LEARNING_LOOP_LLM_API_KEY"
ENV_MODEL = "LEARNING_LOOP_LLM_MODEL"
ENV_TIMEOUT = "LEARNING_LOOP_LLM_TIMEOUT_S"
ENV_MAX_RETRIES = "LEARNING_LOOP_LLM_MAX_RETRIES"
ENV_HTTP_RETRIES = "LEARNING_LOOP_LLM_HTTP_RETRIES"
ENV_BACKOFF = "LEARNING_LOOP_LLM_BACKOFF_S"

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_HTTP_RETRIES = 3
DEFAULT_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
# Rate limits and transient server trouble are worth another try; other statuses are not.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenAISettings:
    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    http_retries: int = DEFAULT_HTTP_RETRIES
    backoff_s: float = DEFAULT_BACKOFF_S

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> OpenAISettings:
        """Settings from the environment; keyword overrides (e.g. from code or tests) win."""
        source = os.environ if env is None else env
        allowed = {
            "base_url",
            "model",
            "api_key",
            "timeout_s",
            "max_retries",
            "http_retries",
            "backoff_s",
        }
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise PlannerConfigError(
                f"unknown option(s) for the openai backend: {', '.join(unknown)}; "
                f"known: {', '.join(sorted(allowed))}"
            )

        def pick(name: str, var: str) -> Any:
            value = overrides.get(name)
            if value is None:
                value = source.get(var)
                if isinstance(value, str) and not value.strip():
                    value = None
            return value

        base_url = pick("base_url", ENV_BASE_URL)
        model = pick("model", ENV_MODEL)
        if not base_url:
            raise PlannerConfigError(
                f"the openai backend needs {ENV_BASE_URL} (e.g. https://api.openai.com/v1)"
            )
        parts = urlsplit(str(base_url).strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PlannerConfigError(f"{ENV_BASE_URL} must be an http(s) URL")
        if not model:
            raise PlannerConfigError(f"the openai backend needs {ENV_MODEL} (the model name)")
        key = pick("api_key", ENV_API_KEY)

        def number(name: str, var: str, default: float, low: float, high: float) -> float:
            return _number(pick(name, var), var, default, low, high, whole=False)

        def whole(name: str, var: str, default: int, high: int) -> int:
            return int(_number(pick(name, var), var, default, 0, high, whole=True))

        return cls(
            base_url=str(base_url).strip().rstrip("/"),
            model=str(model).strip(),
            api_key=str(key).strip() if key else None,
            timeout_s=number("timeout_s", ENV_TIMEOUT, DEFAULT_TIMEOUT_S, 0.001, 600.0),
            max_retries=whole("max_retries", ENV_MAX_RETRIES, DEFAULT_MAX_RETRIES, 10),
            http_retries=whole("http_retries", ENV_HTTP_RETRIES, DEFAULT_HTTP_RETRIES, 10),
            backoff_s=number("backoff_s", ENV_BACKOFF, DEFAULT_BACKOFF_S, 0.0, MAX_BACKOFF_S),
        )


def _number(
    value: Any, var: str, default: float, low: float, high: float, whole: bool = False
) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high or (whole and number % 1):
        kind = "a whole number" if whole else "a number"
        raise PlannerConfigError(f"{var} must be {kind} from {low:g} to {high:g}; got {value!r}")
    return number


def _safe_url(url: str) -> str:
    # Credentials can hide in a URL's user part or query (some proxies take ?api-key=...).
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# --- The prompt ----------------------------------------------------------------------------------

SYSTEM_PROMPT = (
    "You write production plans for short vertical videos. Answer with one JSON object and "
    'nothing else, shaped as {"scenes": [{"role": "hook" | "body" | "ending", '
    '"duration_s": number, "narration": string, "captions": [string, ...], '
    '"visual": string}, ...]}. "narration" is the voice-over of the scene, "captions" are the '
    'lines shown on screen during the scene, "visual" directs the image in the preset\'s style. '
    "A program checks every rule you are given; a plan that breaks one is sent back to you."
)


def build_messages(idea: str, recipe: Recipe, target_duration_s: float) -> list[dict[str, str]]:
    """The conversation that asks for a plan: the rules come from the shared guidance data."""
    n = recipe.scene_count
    hook = HOOK_GUIDANCE[recipe.hook_type]
    ending = ENDING_GUIDANCE[recipe.ending_type]
    wpm = WPM_BANDS[recipe.narration_wpm_bucket]
    density = DENSITY_BANDS[recipe.caption_density_bucket]
    style = preset_style(recipe.preset)
    durations = scene_durations(recipe, target_duration_s)
    budget = []
    for i, d in enumerate(durations):
        w, c = word_range(wpm.bucket, d), caption_range(density.bucket, d)
        budget.append(
            f"- scene {i + 1} ({expected_role(i, n)}, {d:g} s): {_span(w, 'words')}, "
            f"{_span(c, 'captions')}"
        )
    rules = [
        f'1. Exactly {n} scenes. Scene 1 has role "hook", scene {n} has role "ending", '
        'the others have role "body".',
        f"2. The durations add up to {target_duration_s:g} s (within "
        f"{TOTAL_DURATION_TOLERANCE:.0%}); every scene lasts at least {MIN_SCENE_S:g} s.",
        f"3. Hook ({hook.name}): {hook.description} Rule: {hook.rule}",
        f"4. Ending ({ending.name}): {ending.description} Rule: {ending.rule}",
        f"5. Narration pace ({wpm.bucket}): {wpm.text} in every scene, i.e. the narration "
        "has duration_s * wpm / 60 words. A word is a space-separated token with a letter or "
        "digit in it.",
        f"6. Caption density ({density.bucket}): {density.text} in every scene, i.e. the "
        "number of captions is duration_s times that rate.",
        f'7. Every visual direction names the style "{style.phrase}" and describes the shot '
        f"in it (palette: {style.palette}; texture: {style.texture}).",
    ]
    user = "\n".join(
        [
            f"Idea: {idea}",
            f"Recipe: preset {recipe.preset}, hook {recipe.hook_type}, {n} scenes, "
            f"{recipe.narration_wpm_bucket} narration pace, {recipe.caption_density_bucket} "
            f"caption density, {recipe.ending_type} ending.",
            "",
            "Rules:",
            *rules,
            "",
            "Durations and budgets that satisfy rules 2, 5 and 6 (you may change the durations "
            "if the budgets still hold):",
            *budget,
        ]
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _span(counts: range, unit: str) -> str:
    low, high = counts.start, counts.stop - 1
    if high <= 0:
        return f"no {unit}"
    return f"exactly {low} {unit}" if low == high else f"{low}-{high} {unit}"


def correction_message(violations: Sequence[Violation]) -> str:
    listed = "\n".join(f"- {v}" for v in violations)
    return (
        f"Your plan breaks {len(violations)} rule(s):\n{listed}\n"
        "Answer with the complete corrected JSON object; keep what already follows the rules."
    )


def _strip_fences(text: str) -> str:
    # json_object mode should give bare JSON, but some compatible servers still fence it.
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        if body.rstrip().endswith("```"):
            body = body.rstrip()[:-3]
    return body.strip()


def parse_plan(
    content: str, idea: str, recipe: Recipe, target_duration_s: float
) -> tuple[VideoPlan | None, list[Violation]]:
    """The model's answer as a plan and its violations; a malformed answer is a violation too."""
    try:
        data = json.loads(_strip_fences(content))
    except ValueError as exc:
        return None, [Violation(SCHEMA_RULE, None, f"the answer is not valid JSON ({exc})")]
    scenes = data.get("scenes") if isinstance(data, dict) else data
    if not isinstance(scenes, list):
        return None, [Violation(SCHEMA_RULE, None, 'the answer has no "scenes" list')]
    try:
        plan = VideoPlan(
            idea=idea,
            recipe=PlanRecipe.of(recipe),
            recipe_hash=recipe.recipe_hash,
            target_duration_s=target_duration_s,
            scenes=scenes,
            backend=BACKEND_NAME,
        )
    except ValidationError as exc:
        found = []
        for error in exc.errors()[:20]:
            loc = error.get("loc", ())
            index = loc[1] if len(loc) > 1 and loc[0] == "scenes" else None
            scene = index + 1 if isinstance(index, int) else None
            where = ".".join(str(p) for p in loc[2:] if not isinstance(p, int)) or "scene"
            found.append(Violation(SCHEMA_RULE, scene, f"{where}: {error.get('msg')}"))
        return None, found
    return plan, validate_plan(plan, recipe)


# --- The backend ---------------------------------------------------------------------------------


class OpenAIBackend:
    """Plans with an OpenAI-compatible endpoint; settings are read when it is constructed."""

    name = BACKEND_NAME

    def __init__(self, env: Mapping[str, str] | None = None, **options: Any) -> None:
        self.settings = OpenAISettings.load(env, **options)

    def _redact(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "***") if key else text

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        return headers

    async def plan(self, idea: str, recipe: Recipe, target_duration_s: float) -> VideoPlan:
        messages = build_messages(idea, recipe, target_duration_s)
        attempts = self.settings.max_retries + 1
        timeout = httpx.Timeout(self.settings.timeout_s)
        async with httpx.AsyncClient(timeout=timeout, headers=self._headers()) as client:
            violations: list[Violation] = []
            for attempt in range(1, attempts + 1):
                content = await self._complete(client, messages)
                plan, violations = parse_plan(content, idea, recipe, target_duration_s)
                if plan is not None and not violations:
                    return plan
                logger.info(
                    "openai plan attempt %d of %d broke %d rule(s): %s",
                    attempt,
                    attempts,
                    len(violations),
                    ", ".join(sorted({v.rule for v in violations})),
                )
                messages = [
                    *messages,
                    {"role": "assistant", "content": content},
                    {"role": "user", "content": correction_message(violations)},
                ]
        raise PlanValidationError(violations, attempts=attempts, backend=BACKEND_NAME)

    async def _complete(self, client: httpx.AsyncClient, messages: list[dict[str, str]]) -> str:
        """One chat completion, retrying timeouts, network errors and transient statuses."""
        settings = self.settings
        url = f"{settings.base_url}/chat/completions"
        shown = _safe_url(url)
        body = {
            "model": settings.model,
            "messages": messages,
            "response_format": {"type": "json_object"},
        }
        tries = settings.http_retries + 1
        for attempt in range(tries):
            retry_after: float | None = None
            try:
                response = await client.post(url, json=body)
            except httpx.TimeoutException:
                problem = f"timed out after {settings.timeout_s:g} s"
                timed_out = True
            except httpx.TransportError as exc:
                problem = f"could not be reached ({type(exc).__name__})"
                timed_out = False
            else:
                if response.status_code == 200:
                    return self._content(response, shown)
                timed_out = False
                problem = f"answered HTTP {response.status_code}{self._detail(response)}"
                if response.status_code not in RETRY_STATUSES:
                    hint = f"; check {ENV_API_KEY}" if response.status_code in (401, 403) else ""
                    raise PlannerBackendError(
                        self._redact(f"the LLM endpoint {shown} {problem}{hint}"), "backend"
                    )
                retry_after = _retry_after(response)
            if attempt + 1 < tries:
                delay = min(settings.backoff_s * 2**attempt, MAX_BACKOFF_S)
                if retry_after is not None:
                    delay = min(max(delay, retry_after), MAX_BACKOFF_S)
                # INFO, not WARNING: unconfigured logging would print it next to the CLI's one
                # error line; the final error says how many tries were made.
                logger.info(
                    "the LLM endpoint %s %s; retrying in %.2f s (try %d of %d)",
                    shown,
                    self._redact(problem),
                    delay,
                    attempt + 1,
                    tries,
                )
                await asyncio.sleep(delay)
        error = PlannerTimeoutError if timed_out else PlannerBackendError
        raise error(
            self._redact(f"the LLM endpoint {shown} {problem} (gave up after {tries} tries)"),
            "backend",
        )

    def _detail(self, response: httpx.Response) -> str:
        text = " ".join(response.text.split())[:200]
        return f": {self._redact(text)}" if text else ""

    def _content(self, response: httpx.Response, shown: str) -> str:
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            raise PlannerBackendError(
                f"the LLM endpoint {shown} answered without choices[0].message.content; is it "
                "an OpenAI-compatible chat-completions endpoint?",
                "backend",
            )
        return content


def _retry_after(response: httpx.Response) -> float | None:
    try:
        value = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
