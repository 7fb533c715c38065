"""Channels: thin adapters that turn their input into Dialogue calls and a Reply into their output."""
