"""The model: DICOM to patches, networks, checkpoints, prediction and training.

Plain functions in separate modules, none of which imports Django:

* :mod:`inference.preprocess` - DICOM series to volumes, CT patches and MRI slice stacks;
* :mod:`inference.networks` - the CT 3D U-Net-encoder classifier and the MRI ResNet-50;
* :mod:`inference.checkpoint` - weights plus model card, verified on load;
* :mod:`inference.predict` - probabilities, the three-tier call, Grad-CAM saliency;
* :mod:`inference.train` - patient-grouped cross-validated training;
* :mod:`inference.report` - ROC and loss-curve figures of a training run.

The package imports nothing itself, so ``import inference.preprocess`` does not load
torch.
"""
