"""The state port and its adapters (SQLite, Redis)."""
