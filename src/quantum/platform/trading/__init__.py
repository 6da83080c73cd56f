"""Orders and portfolio: event-sourced orders, pre-trade checks, broker reports."""
