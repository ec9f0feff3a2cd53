"""Statistics for reader studies: pure Python, never imports Django.

Modules are imported by name, for example ``from readerstudy.stats import roc`` or
``from readerstudy.stats.agreement import cohen_kappa``;
:func:`readerstudy.stats.analysis.analyse` runs every analysis of a study's reads.

Input: a tidy DataFrame and column names
-----------------------------------------
Every statistic of observations takes ``data``, a pandas DataFrame with one row per
observation, and the names of the columns it uses as keyword arguments, as pingouin does
(``pingouin.intraclass_corr(data=, targets=, raters=, ratings=)``). The names are the same
throughout, and their defaults are the columns of the reads table
(``docs/stats-interface.md``), so a reader's rows can be passed as they are:

- ``truth="truth"``: the reference standard, 0 benign / 1 malignant;
- ``score="score"``: a continuous rating (a confidence, a probability); ``call="call"``: a
  benign/malignant call (``"benign"``/``"malignant"`` or 0/1; three-tier calls default to
  ``call="three_tier"``);
- ``x=``, ``y=``: two paired ratings of each case, one row per case (two readers' scores
  or calls, a reader and the model, a first and a repeat read); every difference is
  x minus y. No default: the caller says which two;
- ``subject="case"``, ``rater="reader"``, ``rating=``: long ratings of many raters, one row
  per rating (Fleiss' kappa, ICC, MRMC; ``treatment="condition"`` for MRMC);
- ``missing="raise"`` (default: a missing value in a used column raises, naming it) or
  ``"drop"`` (the case is left out, for every rater of a paired or multi-rater analysis).

For example ``roc.auc_delong(reads)``, ``roc.delong_paired(wide, x="reader_1",
y="model")``, ``icc.icc(reads, rating="measurement_anterior_height")``.

The functions they rest on take what they are computed from, not observations, and are
named for it: counts (``proportion``, ``wilson_interval``, ``mcnemar_from_counts``,
``diagnostic_metrics_from_counts``), a contingency table (``cohen_kappa_from_table``,
``fleiss_kappa_from_counts``), a subjects x raters matrix (``icc_wide``) or arrays of the
same cases (``delong_covariance``, ``delong_components``, ``midranks``,
``bootstrap_indices``, ``holm``); ``as_binary_calls`` and ``as_three_tier`` code a column
of calls.

Output: frozen dataclasses or tidy DataFrames. Nothing is rounded inside a computation.
Estimates the data do not allow are "not estimable", with the reason
(:mod:`readerstudy.stats.estimable`).
"""
