"""From a matcher decision to the Reply a resident reads; the same for every channel."""
