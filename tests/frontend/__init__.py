"""Tests of the front end: source text to a validated Spec, and its errors."""
