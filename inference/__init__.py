"""The model: DICOM to patches, networks, checkpoints, prediction and training.

Plain functions in separate modules, none of which imports Django (an import-linter
contract in ``pyproject.toml`` holds it):

* :mod:`inference.dicom_geometry` - where a DICOM frame lies in the patient (shared with
  the import's validation);
* :mod:`inference.preprocess` - DICOM series to volumes, CT patches and MRI slice stacks;
* :mod:`inference.networks` - the CT 3D U-Net-encoder classifier and the MRI ResNet-50;
* :mod:`inference.checkpoint` - weights plus model card, verified on load;
* :mod:`inference.predict` - probabilities of a stack of patches and of a case;
* :mod:`inference.postprocess` - the case probability (MRI: highest of three patches) and
  the three-tier call;
* :mod:`inference.saliency` - Grad-CAM maps and the overlay images trainees see;
* :mod:`inference.train` - patient-grouped cross-validated training;
* :mod:`inference.report` - ROC and loss-curve figures of a training run.

The package imports nothing itself, and only ``networks``, ``checkpoint``, ``predict``,
``saliency`` and ``train`` load torch: ``import inference.preprocess`` does not. The Celery
tasks that run a model over a study are the Django app's
(``readerstudy/predictions/tasks.py``).
"""
