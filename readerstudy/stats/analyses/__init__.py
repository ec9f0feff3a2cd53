"""The analyses :func:`readerstudy.stats.analysis.analyse` runs, one module per kind.

- :mod:`~readerstudy.stats.analyses.rows`: the result rows and the results frame;
- :mod:`~readerstudy.stats.analyses.panel`: one condition's first reads as case x reader
  matrices;
- :mod:`~readerstudy.stats.analyses.per_reader`: ``auc``, ``diagnostic``, ``three_tier``;
- :mod:`~readerstudy.stats.analyses.pairwise`: ``delong_paired``, ``mcnemar``, ``kappa``,
  ``bland_altman``;
- :mod:`~readerstudy.stats.analyses.all_readers`: ``fleiss_kappa``, ``icc``, ``mrmc``;
- :mod:`~readerstudy.stats.analyses.repeat`: ``intra_reader``;
- :mod:`~readerstudy.stats.analyses.measurements`: ``measurement`` (and the measurements'
  ``intra_reader`` rows);
- :mod:`~readerstudy.stats.analyses.features`: ``features``.

Import :func:`~readerstudy.stats.analysis.analyse`, not these modules: their functions
are parts of it.
"""
