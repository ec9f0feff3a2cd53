"""Statistics for reader studies: pure Python, never imports Django.

Long (tidy) DataFrames in; frozen dataclasses or tidy DataFrames out. Nothing is
rounded inside a computation. Modules are imported by name, for example
``from readerstudy.stats import roc`` or ``from readerstudy.stats.agreement import cohen_kappa``.
"""
