"""Tests of what changed between two versions of a workflow, and what breaks."""
