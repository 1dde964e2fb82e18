"""The deterministic receptionist (see `brain`): understanding comes from
`frontdesk.agent.understanding`; this package holds the dialogue and its flows."""

from frontdesk.agent.brains.fallback.brain import FallbackBrain

__all__ = ["FallbackBrain"]
