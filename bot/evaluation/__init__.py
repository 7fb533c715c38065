"""Measuring the matcher on labelled resident questions, beside simple baselines."""
