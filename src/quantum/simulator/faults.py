"""Fault injection for tests: latency, error answers, HTTP 5xx and lost order
responses for chosen api-ids (set in the config file or via ``/_sim/faults``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class FaultRule(BaseModel):
    """What to do to requests for ``api_id`` (``"*"`` = every TR).

    ``times`` limits how many requests the rule hits (None = until cleared).
    At most one of ``error_code``, ``business``, ``http_status`` and
    ``lose_response`` applies; ``latency_ms`` combines with any of them.
    """

    api_id: str = "*"
    latency_ms: int = Field(default=0, ge=0)
    error_code: int | None = Field(default=None, description="a documented 4-digit code")
    business: str | None = Field(default=None, description="'RC4058:text' back-office error")
    http_status: int | None = Field(default=None, ge=400, le=599)
    lose_response: bool = Field(default=False, description="execute, then never answer")
    times: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_outcome(self) -> FaultRule:
        outcomes = [
            self.error_code is not None,
            self.business is not None,
            self.http_status is not None,
            self.lose_response,
        ]
        if sum(outcomes) > 1:
            raise ValueError("choose one of error_code, business, http_status, lose_response")
        if self.business is not None and ":" not in self.business:
            raise ValueError("business must look like 'RC4058:text'")
        return self


class FaultInjector:
    """The active rules; the first rule matching a request wins."""

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self._rules: list[FaultRule] = list(rules or [])

    @property
    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def add(self, rule: FaultRule) -> None:
        self._rules.append(rule)

    def clear(self) -> None:
        self._rules.clear()

    def take(self, api_id: str) -> FaultRule | None:
        """The rule for this request, counting it against the rule's ``times``."""
        for index, rule in enumerate(self._rules):
            if rule.api_id not in ("*", api_id):
                continue
            if rule.times is not None:
                remaining = rule.times - 1
                if remaining == 0:
                    del self._rules[index]
                else:
                    self._rules[index] = rule.model_copy(update={"times": remaining})
            return rule
        return None
