"""Fixtures of the prediction tests."""

from tests.predictions.helpers import (  # noqa: F401
    ct_cases,
    ct_model,
    ct_study,
    fresh_caches,
    imported_ct,
    incoming,
    storage_root,
    tiny_ct_checkpoint,
)
