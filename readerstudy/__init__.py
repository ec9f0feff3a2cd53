"""The reader-study platform: blinded reads, the model as a reader, and the statistics.

Importing the package loads nothing: Django loads the Celery app when it starts
(``readerstudy.core.apps``), and ``readerstudy.stats`` stays importable on its own.
"""
