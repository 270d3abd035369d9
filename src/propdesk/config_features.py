"""Config sections of the tenant-safety and building features (issue 18): the safety advice
texts and numbers, incidents, and the after-hours paging hook. Kept apart from ``config.py`` to
keep both small; ``propdesk.config`` re-exports them and builds on the same frozen base model.
"""

from __future__ import annotations

from string import Formatter

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FrozenModel(BaseModel):
    """Every config section: unknown keys are errors, values never change after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IncidentsConfig(FrozenModel):
    """Linking several units' tickets about one building system into one incident."""

    enabled: bool = True
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    min_units: int = Field(default=3, ge=2, le=1000)


class PagingConfig(FrozenModel):
    """The after-hours paging hook: a command (ticket JSON on stdin) or an HTTP webhook."""

    command: list[str] | None = None
    webhook_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _one_hook(self) -> PagingConfig:
        if self.command is not None and self.webhook_url is not None:
            raise ValueError("set command or webhook_url, not both")
        if self.command is not None and not self.command:
            raise ValueError("command must name a program")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.command) or self.webhook_url is not None


def _default_numbers() -> dict[str, str]:
    return {
        "emergency": "911",
        "gas_utility": "your gas company's emergency line",
        "maintenance": "our emergency maintenance line",
    }


def _default_advice() -> dict[str, str]:
    return {
        "gas": "Do not switch lights or appliances on or off, do not use a lighter or a phone "
        "inside. Leave the home now, leave the door open, and from outside call "
        "{gas_utility} and {emergency}. Then call {maintenance}.",
        "carbon_monoxide": "Get everyone, pets included, outside into fresh air now and leave "
        "the door open. If anyone has a headache, dizziness, nausea or feels sleepy, call "
        "{emergency} at once. Do not go back in until the fire service says it is safe.",
        "fire": "Get out now and close the doors behind you. Use the stairs, not the lift. "
        "Call {emergency} from outside. Do not go back in.",
        "electrical": "Keep away from the sparking or hot outlet or panel and do not touch it. "
        "If you can reach the main breaker safely with dry hands, switch it off. If there is "
        "smoke or a burning smell, leave and call {emergency}. Then call {maintenance}.",
        "flooding": "If you can do it safely, close the main water valve (often under the "
        "kitchen sink or by the water heater). Keep away from standing water near outlets or "
        "appliances. Move valuables up, and call {maintenance}.",
        "water_electrics": "Do not touch switches, outlets or appliances near the water and do "
        "not stand in it. If you can reach the main breaker from a dry spot, switch it off. "
        "Call {maintenance}; if anything sparks or smokes, leave and call {emergency}.",
    }


class SafetyConfig(FrozenModel):
    """The safety advice mail: its texts and the numbers in them, per property with a default."""

    enabled: bool = True
    numbers: dict[str, str] = Field(default_factory=_default_numbers)
    advice: dict[str, str] = Field(default_factory=_default_advice)
    property_numbers: dict[str, dict[str, str]] = Field(default_factory=dict)
    property_advice: dict[str, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _numbers_for_every_text(self) -> SafetyConfig:
        for prop in {"", *self.property_numbers, *self.property_advice}:
            numbers = {**self.numbers, **self.property_numbers.get(prop, {})}
            advice = {**self.advice, **self.property_advice.get(prop, {})}
            for key, text in advice.items():
                try:
                    fields = {f for _, f, _, _ in Formatter().parse(text) if f}
                except ValueError as exc:
                    raise ValueError(f"advice {key!r}: {exc}") from None
                missing = sorted(fields - set(numbers))
                if missing:
                    where = f" (property {prop})" if prop else ""
                    raise ValueError(f"advice {key!r}{where} uses unknown number(s) {missing}")
        return self
