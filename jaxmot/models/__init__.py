"""Parameter-holding modules (Flax NNX).

resnet   ResNet-18/34/50 backbones, torchvision layout, width and last-stride options
reid     person re-ID model: backbone + pooling + BN neck + identity classifier
convert  torchvision ImageNet checkpoints (.pth / .safetensors / .npz) -> NNX ResNet
"""

from jaxmot.models.convert import load_torchvision_resnet
from jaxmot.models.reid import ReIDModel, ReIDModelConfig, build_reid_model
from jaxmot.models.resnet import ResNet

__all__ = ["ReIDModel", "ReIDModelConfig", "ResNet", "build_reid_model", "load_torchvision_resnet"]
