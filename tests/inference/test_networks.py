"""The CT and MRI networks: shapes, determinism, construction by name."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inference.networks import ARCHITECTURES, SliceResNet, UNetEncoderClassifier, build_network


def test_ct_network_maps_a_batch_of_64_cubed_patches_to_two_logits():
    network = build_network("ct_unet_encoder").eval()

    with torch.inference_mode():
        logits = network(torch.rand(3, 1, 64, 64, 64))

    assert isinstance(network, UNetEncoderClassifier)
    assert logits.shape == (3, 2)


def test_ct_network_halves_the_resolution_at_each_encoder_level():
    network = build_network("ct_unet_encoder", channels=(8, 16, 32, 64)).eval()

    with torch.inference_mode():
        features = network.encoder(torch.rand(1, 1, 64, 64, 64))

    assert features.shape == (1, 64, 4, 4, 4)


def test_ct_network_is_small_enough_to_train_on_a_cpu():
    parameters = sum(p.numel() for p in build_network("ct_unet_encoder").parameters())

    assert parameters < 2_000_000


def test_mri_network_reduces_six_channels_to_three_before_a_resnet50():
    network = build_network("mri_resnet50").eval()

    with torch.inference_mode():
        logits = network(torch.rand(2, 6, 64, 64))

    assert isinstance(network, SliceResNet)
    assert logits.shape == (2, 2)
    assert isinstance(network.reduce, nn.Conv2d)
    assert network.reduce.kernel_size == (1, 1)
    assert (network.reduce.in_channels, network.reduce.out_channels) == (6, 3)
    # ResNet-50: bottleneck blocks 3, 4, 6, 3.
    assert [len(getattr(network.resnet, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]


@pytest.mark.parametrize(
    ("arch", "kwargs", "shape"),
    [
        ("ct_unet_encoder", {"channels": (4, 8, 16, 32)}, (2, 1, 64, 64, 64)),
        ("mri_resnet50", {"depth": 18}, (2, 6, 64, 64)),
    ],
)
def test_networks_give_identical_outputs_for_the_same_input_in_eval_mode(arch, kwargs, shape):
    torch.manual_seed(0)
    network = build_network(arch, **kwargs).eval()
    x = torch.rand(*shape)

    with torch.inference_mode():
        first, second = network(x), network(x)

    assert torch.equal(first, second)


def test_every_architecture_names_a_grad_cam_layer_that_exists():
    for name, spec in ARCHITECTURES.items():
        modules = dict(build_network(name).named_modules())
        assert spec.cam_layer in modules, name


def test_an_unknown_architecture_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match=r"unknown architecture 'vgg'.*ct_unet_encoder"):
        build_network("vgg")


def test_arguments_an_architecture_does_not_take_are_refused():
    with pytest.raises(ValueError, match="does not accept"):
        build_network("ct_unet_encoder", colour="blue")
    with pytest.raises(ValueError, match="depth must be one of"):
        build_network("mri_resnet50", depth=7)
