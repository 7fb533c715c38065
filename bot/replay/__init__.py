"""Conversation replay tests: write a conversation down once, replay it through the dialogue on every change."""
