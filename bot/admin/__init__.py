"""Administrator tools that combine the knowledge base with matching, replays and storage."""
