"""Network definitions, built by name from a model card.

* ``ct_unet_encoder``: the encoder (down) path of MONAI's residual 3D U-Net followed by
  global average pooling and a linear head, for ``(1, 64, 64, 64)`` CT patches.
* ``mri_resnet50``: a 1x1 convolution from the 6 MRI channels (T1W and T2W, lesion slice
  and neighbours) to 3, then MONAI's 2D ResNet-50, for ``(6, 64, 64)`` patches.

Both return two logits, ``(benign, malignant)``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from monai.networks.blocks import ResidualUnit
from monai.networks.layers import Act, Norm
from monai.networks.nets import resnet10, resnet18, resnet34, resnet50
from torch import nn

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "SliceResNet",
    "UNetEncoderClassifier",
    "build_network",
]


class UNetEncoderClassifier(nn.Module):
    """3D U-Net encoder classifier: residual down blocks, global pooling, linear head.

    The encoder is the down path of ``monai.networks.nets.UNet`` (each level one
    :class:`monai.networks.blocks.ResidualUnit` that halves the resolution with a strided
    convolution, PReLU, instance normalisation). With the defaults a ``64^3`` patch becomes
    ``16 x 32^3 -> 32 x 16^3 -> 64 x 8^3 -> 128 x 4^3``, is averaged over space and mapped
    to two logits. About 1.2 M parameters; ``channels=(8, 16, 32, 64)`` (0.3 M) trains
    about three times faster on a CPU.

    Parameters
    ----------
    in_channels : int
        Input channels (1 for CT).
    num_classes : int
        Output logits.
    channels : sequence of int
        Feature channels per encoder level.
    strides : sequence of int, optional
        Stride per level; 2 everywhere by default.
    num_res_units : int
        Convolutions per residual unit (MONAI ``subunits``).
    dropout : float
        Dropout before the linear head.

    References
    ----------
    Çiçek Ö. et al., "3D U-Net: learning dense volumetric segmentation from sparse
    annotation", MICCAI 2016, doi:10.1007/978-3-319-46723-8_49. Kerfoot E. et al.,
    "Left-ventricle quantification using residual U-Net", STACOM 2018,
    doi:10.1007/978-3-030-12029-0_40 (the residual U-Net of MONAI).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        channels: Sequence[int] = (16, 32, 64, 128),
        strides: Sequence[int] | None = None,
        num_res_units: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        channels = [int(c) for c in channels]
        strides = [2] * len(channels) if strides is None else [int(s) for s in strides]
        if not channels or len(strides) != len(channels):
            raise ValueError(
                f"channels and strides must be non-empty and of equal length, got "
                f"{channels} and {strides}"
            )
        levels: OrderedDict[str, nn.Module] = OrderedDict()
        previous = in_channels
        for level, (width, stride) in enumerate(zip(channels, strides, strict=True)):
            levels[f"down_{level}"] = ResidualUnit(
                spatial_dims=3,
                in_channels=previous,
                out_channels=width,
                strides=stride,
                kernel_size=3,
                subunits=num_res_units,
                act=Act.PRELU,
                norm=(Norm.INSTANCE, {"affine": True}),
            )
            previous = width
        self.encoder = nn.Sequential(levels)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(previous, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.encoder(x)))


_RESNETS: dict[int, Callable[..., nn.Module]] = {
    10: resnet10,
    18: resnet18,
    34: resnet34,
    50: resnet50,
}


class SliceResNet(nn.Module):
    """MRI slice classifier: 1x1 convolution from 6 channels to 3, then a 2D ResNet.

    The 6 input channels are the lesion slice and its two neighbours of the sagittal T1W
    and T2W series; the 1x1 convolution learns how to mix them into the 3 channels a
    ResNet expects. MONAI's ResNet (``spatial_dims=2``) is trained from scratch.

    Parameters
    ----------
    in_channels : int
        Input channels (6: T1W and T2W, three slices each).
    num_classes : int
        Output logits.
    depth : int
        ResNet depth: 50 (the published model), or 10, 18, 34 for quick experiments.

    References
    ----------
    He K. et al., "Deep residual learning for image recognition", CVPR 2016,
    doi:10.1109/CVPR.2016.90.
    """

    def __init__(self, in_channels: int = 6, num_classes: int = 2, depth: int = 50) -> None:
        super().__init__()
        if depth not in _RESNETS:
            raise ValueError(f"depth must be one of {sorted(_RESNETS)}, got {depth}")
        self.reduce = nn.Conv2d(in_channels, 3, kernel_size=1)
        self.resnet = _RESNETS[depth](
            spatial_dims=2, n_input_channels=3, num_classes=num_classes, pretrained=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resnet(self.reduce(x))


@dataclass(frozen=True)
class Architecture:
    """A buildable network: its class, the modality it reads and its Grad-CAM layer."""

    factory: Callable[..., nn.Module]
    modality: str
    cam_layer: str


#: Architectures by the name used in model cards.
ARCHITECTURES: dict[str, Architecture] = {
    "ct_unet_encoder": Architecture(UNetEncoderClassifier, "CT", cam_layer="encoder"),
    "mri_resnet50": Architecture(SliceResNet, "MR", cam_layer="resnet.layer4"),
}


def build_network(arch: str, **kwargs: Any) -> nn.Module:
    """Build an untrained network by its model-card name.

    Parameters
    ----------
    arch : str
        A key of :data:`ARCHITECTURES`.
    **kwargs
        Constructor arguments (the card's ``architecture_kwargs``).

    Raises
    ------
    ValueError
        Unknown name, or arguments the architecture does not accept.
    """
    try:
        spec = ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(
            f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        ) from None
    try:
        return spec.factory(**kwargs)
    except TypeError as exc:
        raise ValueError(f"architecture {arch!r} does not accept {kwargs}: {exc}") from exc
