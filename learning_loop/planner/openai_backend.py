"""The `openai` backend: any OpenAI-compatible chat-completions endpoint writes the plan.

Settings come from LEARNING_LOOP_LLM_* environment variables, read when the backend is built.
The answer goes through the shared validator; broken rules are sent back for a bounded number
of corrections. The API key is only ever put in the Authorization header.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

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
from learning_loop.planner.stats import BackendStats
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


# The settings' fields and the environment variables that set them.
ENV_VARS = {
    "base_url": ENV_BASE_URL,
    "model": ENV_MODEL,
    "api_key": ENV_API_KEY,
    "timeout_s": ENV_TIMEOUT,
    "max_retries": ENV_MAX_RETRIES,
    "http_retries": ENV_HTTP_RETRIES,
    "backoff_s": ENV_BACKOFF,
}
_HINTS = {
    "base_url": " (e.g. https://api.openai.com/v1)",
    "model": " (the model name)",
}


class OpenAISettings(BaseSettings):
    """The backend's settings: LEARNING_LOOP_LLM_* variables, read when the backend is built."""

    model_config = SettingsConfigDict(
        env_prefix="LEARNING_LOOP_LLM_", extra="forbid", frozen=True, env_ignore_empty=True
    )

    base_url: str
    model: str
    api_key: str | None = Field(default=None, repr=False)
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, ge=0.001, le=600.0, allow_inf_nan=False)
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0, le=10)
    http_retries: int = Field(default=DEFAULT_HTTP_RETRIES, ge=0, le=10)
    backoff_s: float = Field(
        default=DEFAULT_BACKOFF_S, ge=0.0, le=MAX_BACKOFF_S, allow_inf_nan=False
    )

    @field_validator("base_url", "model", "api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        if parts.username is not None or parts.password is not None:
            # It would travel in every request and land in error messages (issue #30).
            raise ValueError(
                "must not hold credentials (user:password@); set LEARNING_LOOP_LLM_API_KEY"
            )
        return value.rstrip("/")

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: object) -> OpenAISettings:
        """Settings from the environment (or `env`); keyword overrides (code, tests) win."""
        unknown = sorted(set(overrides) - set(ENV_VARS))
        if unknown:
            raise PlannerConfigError(
                f"unknown option(s) for the openai backend: {', '.join(unknown)}; "
                f"known: {', '.join(sorted(ENV_VARS))}"
            )
        given = {k: v for k, v in overrides.items() if v is not None}
        try:
            if env is None:
                return cls(**given)  # type: ignore[arg-type]
            # An explicit mapping stands in for the environment (validation reads no source).
            values = {name: env[var] for name, var in ENV_VARS.items() if env.get(var, "").strip()}
            return cls.model_validate({**values, **given})
        except ValidationError as exc:
            raise PlannerConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """The first problem, in the words of the variable a user sets."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    var = ENV_VARS.get(name, name)
    if error["type"] == "missing" or (error["type"] == "string_type" and error["input"] is None):
        return f"the openai backend needs {var}{_HINTS.get(name, '')}"
    if name == "base_url":
        return f"{var} {str(error['msg']).removeprefix('Value error, ')}"
    field = OpenAISettings.model_fields[name]
    low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    kind = "a whole number" if field.annotation is int else "a number"
    return f"{var} must be {kind} from {low:g} to {high:g}; got {error['input']!r}"


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

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        stats: BackendStats | None = None,
        **options: object,
    ) -> None:
        self.settings = OpenAISettings.load(env, **options)
        self.stats = stats
        self._client: httpx.AsyncClient | None = None

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.timeout_s),
            headers=self._headers(),
            # The caller bounds the requests in flight; the pool must not queue them again.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )

    async def __aenter__(self) -> OpenAIBackend:
        """One connection pool for every plan made until the block ends (many plans)."""
        if self._client is None:
            self._client = self._new_client()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _redact(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "***") if key else text

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        return headers

    async def plan(self, idea: str, recipe: Recipe, target_duration_s: float) -> VideoPlan:
        if self._client is not None:
            return await self._plan(self._client, idea, recipe, target_duration_s)
        async with self._new_client() as client:
            return await self._plan(client, idea, recipe, target_duration_s)

    async def _plan(
        self, client: httpx.AsyncClient, idea: str, recipe: Recipe, target_duration_s: float
    ) -> VideoPlan:
        messages = build_messages(idea, recipe, target_duration_s)
        attempts = self.settings.max_retries + 1
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
            if attempt < attempts and self.stats is not None:
                self.stats.re_asks += 1
            messages = [
                *messages,
                {"role": "assistant", "content": content},
                {"role": "user", "content": correction_message(violations)},
            ]
        raise PlanValidationError(violations, attempts=attempts, backend=BACKEND_NAME)

    async def _complete(self, client: httpx.AsyncClient, messages: list[dict[str, str]]) -> str:
        """One chat completion, retrying timeouts, network errors and transient statuses
        (tenacity: exponential backoff capped at MAX_BACKOFF_S, at least the server's
        Retry-After)."""
        settings = self.settings
        url = f"{settings.base_url}/chat/completions"
        shown = _safe_url(url)
        body = {
            "model": settings.model,
            "messages": messages,
            "response_format": {"type": "json_object"},
        }
        tries = settings.http_retries + 1

        def wait(state: RetryCallState) -> float:
            delay = min(settings.backoff_s * 2 ** (state.attempt_number - 1), MAX_BACKOFF_S)
            failed = state.outcome.exception() if state.outcome is not None else None
            if isinstance(failed, _Transient) and failed.retry_after is not None:
                delay = min(max(delay, failed.retry_after), MAX_BACKOFF_S)
            return float(delay)

        def log(state: RetryCallState) -> None:
            failed = state.outcome.exception() if state.outcome is not None else None
            # INFO, not WARNING: unconfigured logging would print it next to the CLI's one
            # error line; the final error says how many tries were made.
            logger.info(
                "the LLM endpoint %s %s; retrying in %.2f s (try %d of %d)",
                shown,
                self._redact(failed.problem if isinstance(failed, _Transient) else ""),
                state.upcoming_sleep,
                state.attempt_number,
                tries,
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(tries),
            wait=wait,
            before_sleep=log,
            reraise=True,
        )
        content: str | None = None
        try:
            async for attempt in retrying:
                with attempt:
                    content = await self._once(client, url, body, shown)
        except _Transient as last:
            error = PlannerTimeoutError if last.timed_out else PlannerBackendError
            raise error(
                self._redact(
                    f"the LLM endpoint {shown} {last.problem} (gave up after {tries} tries)"
                ),
                "backend",
                retry_later=True,
            ) from None
        assert content is not None
        return content

    async def _once(
        self, client: httpx.AsyncClient, url: str, body: dict[str, Any], shown: str
    ) -> str:
        """One call: the completion's content, `_Transient` for what a retry may mend, or the
        error for what it cannot."""
        started = time.perf_counter()
        try:
            try:
                response = await client.post(url, json=body)
            finally:
                if self.stats is not None:
                    self.stats.latencies_s.append(time.perf_counter() - started)
        except httpx.TimeoutException:
            raise _Transient(f"timed out after {self.settings.timeout_s:g} s", True) from None
        except httpx.TransportError as exc:
            raise _Transient(f"could not be reached ({type(exc).__name__})", False) from None
        if response.status_code == 200:
            return self._content(response, shown)
        problem = f"answered HTTP {response.status_code}{self._detail(response)}"
        if response.status_code in RETRY_STATUSES:
            raise _Transient(problem, False, _retry_after(response))
        refused = response.status_code in (401, 403)
        hint = f"; check {ENV_API_KEY}" if refused else ""
        raise PlannerBackendError(
            self._redact(f"the LLM endpoint {shown} {problem}{hint}"),
            "backend",
            retry_later=refused,
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


class _Transient(Exception):
    """A failed call that a retry may mend: a timeout, a network error, a transient status."""

    def __init__(self, problem: str, timed_out: bool, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.timed_out = timed_out
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    try:
        value = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
