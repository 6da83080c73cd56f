"""A Kiwoom-compatible KRX exchange simulator.

It speaks Kiwoom's REST and WebSocket protocol (the same paths, headers, TR
ids, field names, error codes and realtime messages as the real service), so
any Kiwoom client works against it by changing only its base URL. See
``docs/simulator.md`` and ``docs/simulator-contracts.md``.
"""
