"""Kiwoom REST + WebSocket protocol.

This package is the only code that knows Kiwoom's wire format. For now it holds
the protocol's constants, tables and value formats, shared by the simulator and
(later) the client; it has no HTTP code.
"""
