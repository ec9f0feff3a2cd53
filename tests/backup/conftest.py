"""Fixtures of the backup tests: the imported CT study and a registered model."""

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
