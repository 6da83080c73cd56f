"""The multi-user platform: users, accounts, credentials, tokens, usage log (:8080)."""
