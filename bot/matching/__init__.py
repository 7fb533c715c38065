"""From a resident's message to a decision: normalise, recall, rerank, decide."""
