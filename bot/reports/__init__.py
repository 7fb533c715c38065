"""Figures for administrators, from the stored interactions and feedback."""
