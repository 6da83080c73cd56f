"""Reading an outbound limiter's grants in tests: when it let each send go, on its
own clock (its ``on_acquire`` callback), and how many fell in any one window."""

from __future__ import annotations


class Grants:
    """An ``on_acquire`` callback keeping every grant in order."""

    def __init__(self) -> None:
        self.sends: list[tuple[str, str, float]] = []

    def __call__(self, fingerprint: str, api_id: str, moment: float) -> None:
        self.sends.append((fingerprint, api_id, moment))

    def stamps(self, api_id: str | None = None) -> list[float]:
        """The grant times (of ``api_id``'s sends only, if given), in grant order."""
        return [moment for _, sent, moment in self.sends if api_id is None or sent == api_id]


def most_in_window(stamps: list[float], window: float) -> int:
    """The most stamps inside any half-open window ``[t, t + window)``."""
    ordered = sorted(stamps)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - window:
            start += 1
        best = max(best, end - start + 1)
    return best
