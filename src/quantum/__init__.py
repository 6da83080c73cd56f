"""Quantum Trading Platform: Kiwoom client, simulator, adapter and multi-user platform."""

__version__ = "0.1.0"
