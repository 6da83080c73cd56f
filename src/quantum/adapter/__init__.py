"""The broker adapter: owns every Kiwoom connection, one per app key, and serves
many consumers from it (in-process, or as the guide's adapter API on :8100)."""
