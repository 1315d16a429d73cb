"""The `.wf` grammar, shipped inside the wheel as ``wfdsl.grammar``."""
