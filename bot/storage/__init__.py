"""Durable records: interactions, feedback and conversation context, in SQLite or PostgreSQL."""
