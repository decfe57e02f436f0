"""What each family of architectures is for and why it works, in our own words.

Drawn from the course's two notes (000: the tour of classic networks; 002: their summary) and corrected where they are wrong (see ``errata``):
the papers and torchvision win where the notes disagree with them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """A family of architectures: its paper, purpose, key idea and explanation."""

    name: str
    year: int
    paper_title: str
    paper_url: str
    purpose: str
    key_idea: str
    explanation: str
    errata: str = ""


FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family(
        "LeNet", 1998, "Gradient-Based Learning Applied to Document Recognition",
        "http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf",
        "Recognise handwritten digits from 32x32 grayscale images.",
        "Convolutions share weights across the image, so a small network learns local strokes anywhere.",
        "Two 5x5 convolutions, each followed by 2x2 average pooling, shrink a 32x32 digit to 16 maps of "
        "5x5; three fully connected layers (400 -> 120 -> 84 -> 10) then classify it. As the image shrinks "
        "the number of channels grows, a pattern every later network repeats. The 1998 network uses tanh "
        "and average pooling; a modern re-telling uses ReLU and max pooling.",
        "One course note describes a modernised LeNet-5 (ReLU, max pooling, a third 5x5 convolution with "
        "120 filters) as if it were the 1998 network. The 1998 network averages and uses tanh; both are "
        "offered here (lenet5 and lenet5_modern), and their parameter counts are the same. Both notes also "
        "simplify the paper: its C3 reads only some of S2's maps, its subsampling layers have a trainable "
        "coefficient and bias, and its outputs are Euclidean RBF units (lenet5_1998 is the paper's network: "
        "60,000 trainable parameters, not 61,706).",
    ),
    Family(
        "AlexNet", 2012, "ImageNet Classification with Deep Convolutional Neural Networks",
        "https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html",
        "Classify general photographs into the 1000 ImageNet categories.",
        "A much bigger LeNet trained on GPUs with ReLU and dropout showed deep learning works at scale.",
        "An 11x11 stride-4 convolution takes a 227x227 photo to 96 maps of 55x55; max pooling and four more "
        "convolutions (256, 384, 384, 256 filters) reach 6x6x256 = 9216 numbers, and two fully connected "
        "layers of 4096 units feed the 1000-way softmax. About 60 million parameters, most of them in the "
        "fully connected layers. ReLU trained faster than tanh, and dropout kept the big FC layers from "
        "overfitting. The 2012 network was split over two GPUs (grouped convolutions).",
        "torchvision's alexnet is the later one-GPU variant (64 first-layer filters, 224 input, no LRN), "
        "not the 2012 network that the course walks through; alexnet_2012 is the 2012 network.",
    ),
    Family(
        "VGG", 2014, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
        "https://arxiv.org/abs/1409.1556",
        "Classify photographs with a deep, uniform stack of small convolutions.",
        "Use only 3x3 'same' convolutions and 2x2 max pooling, doubling the filters as the size halves.",
        "VGG-16 has 13 convolutional layers (64, 64, 128, 128, 256 x3, 512 x3, 512 x3 filters, all 3x3) in "
        "five blocks, each ended by a 2x2 max pool, then fully connected layers 4096 -> 4096 -> 1000: 16 "
        "weight layers, about 138 million parameters. Two stacked 3x3 convolutions see as far as one 5x5 "
        "with fewer weights and an extra non-linearity, so depth comes cheaply and the design is simple.",
        "One course note says VGG-16's eleven later convolutions all have 128 filters and that it has "
        "three 4096-unit FC layers. In fact the filters grow 64-128-256-512-512 and the FCs are "
        "4096-4096-1000.",
    ),
    Family(
        "ResNet", 2015, "Deep Residual Learning for Image Recognition", "https://arxiv.org/abs/1512.03385",
        "Train very deep networks (50, 101, 152 layers) without the accuracy getting worse.",
        "Skip connections let very deep nets learn the identity: a(l+2) = g(z(l+2) + a(l)).",
        "A residual block adds its input a(l) to the output of two or three layers before the last "
        "non-linearity. If the block's weights shrink to zero it passes its input through unchanged, so "
        "adding blocks cannot make the network worse, and gradients flow back through the shortcuts. "
        "Where the block changes the shape, a 1x1 convolution with stride projects the shortcut to match. "
        "ResNet-50 and deeper use 'bottleneck' blocks: 1x1 to shrink channels, 3x3, 1x1 to expand.",
    ),
    Family(
        "ResNeXt", 2016, "Aggregated Residual Transformations for Deep Neural Networks",
        "https://arxiv.org/abs/1611.05431",
        "Improve ResNet's accuracy at the same cost.",
        "Split the bottleneck's 3x3 convolution into many groups ('cardinality').",
        "A ResNet whose bottleneck 3x3 convolution is grouped (32 or 64 groups): many narrow paths in "
        "parallel, summed, cost the same as one wide path but learn better.",
    ),
    Family(
        "Wide ResNet", 2016, "Wide Residual Networks", "https://arxiv.org/abs/1605.07146",
        "Trade depth for width in residual networks.",
        "A shallower ResNet with wider blocks trains faster and can be as accurate.",
        "torchvision's wide ResNets are ResNet-50/101 with the bottleneck's inner channels doubled.",
    ),
    Family(
        "Network in Network", 2013, "Network In Network", "https://arxiv.org/abs/1312.4400",
        "Mix channels at every pixel with a tiny fully connected network.",
        "A 1x1 convolution is a fully connected layer across channels, applied at every pixel.",
        "A 1x1 filter covers one pixel but all of its channels: on a 6x6x32 input each filter multiplies "
        "the 32 values at a pixel by its 32 weights, sums them and applies ReLU. With 32 filters the output "
        "is 6x6x32; with fewer it shrinks the channels, which is how Inception and ResNet bottlenecks "
        "make their expensive layers cheap.",
    ),
    Family(
        "Inception", 2014, "Going Deeper with Convolutions", "https://arxiv.org/abs/1409.4842",
        "Classify photographs efficiently by looking at several scales at once.",
        "Run 1x1, 3x3, 5x5 and pooling side by side and concatenate; 1x1 bottlenecks keep it cheap.",
        "Instead of choosing a filter size, an Inception module applies several in parallel and stacks "
        "their outputs along the channels. A 5x5 'same' convolution from 28x28x192 to 32 channels costs "
        "120 million multiplications; shrinking to 16 channels with a 1x1 convolution first cuts that to "
        "12.4 million, about a tenth, without hurting accuracy. GoogLeNet stacks nine such modules and adds "
        "side classifiers during training to help gradients and regularise.",
    ),
    Family(
        "MobileNet", 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
        "https://arxiv.org/abs/1704.04861",
        "Run image classification on phones and other low-power devices.",
        "Depthwise separable convolutions: one filter per channel, then a 1x1 to mix, about 8-9x cheaper.",
        "A normal convolution filters and mixes channels in one step. MobileNet splits it: a depthwise "
        "convolution filters each channel on its own (6x6x3 with 3x3 filters: 432 multiplications), then a "
        "pointwise 1x1 convolution mixes channels (240), 672 in all against 2,160 for a normal 3x3 "
        "convolution to 5 channels. The cost ratio is 1/n_c' + 1/f^2. MobileNet v1 stacks 13 such layers; "
        "a width multiplier and the input resolution trade accuracy for speed.",
    ),
    Family(
        "MobileNet v2", 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
        "https://arxiv.org/abs/1801.04381",
        "Make MobileNet more accurate at the same cost.",
        "Inverted residual: expand with 1x1, filter depthwise, project back with a linear 1x1, add the skip.",
        "Each bottleneck block expands its input (e.g. 6x6x3 to 6x6x18 with a 1x1 convolution), filters "
        "it with a 3x3 depthwise convolution, and projects back to few channels (6x6x3) with a 1x1 "
        "convolution and no ReLU, adding a residual connection when the shapes match. The network is a "
        "stem, 17 such blocks, a final 1x1 convolution, pooling and a classifier.",
    ),
    Family(
        "MobileNet v3", 2019, "Searching for MobileNetV3", "https://arxiv.org/abs/1905.02244",
        "Tune MobileNet v2 for phone latency with architecture search.",
        "Inverted residuals plus squeeze-and-excitation and hard-swish, found by search.",
        "MobileNet v2's blocks with squeeze-and-excitation in some of them and the cheap hard-swish "
        "non-linearity, with layer sizes chosen by a search for the best accuracy at a target latency.",
    ),
    Family(
        "EfficientNet", 2019, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
        "https://arxiv.org/abs/1905.11946",
        "Scale a network up or down to fit the computing power available.",
        "Compound scaling: grow depth, width and resolution together by alpha^phi, beta^phi, gamma^phi.",
        "EfficientNet-B0 is a MobileNet v2-style network of MBConv blocks (inverted residuals with "
        "squeeze-and-excitation and swish) found by search. To make it bigger, depth grows by 1.2^phi, "
        "width by 1.1^phi and input resolution by 1.15^phi, chosen so that the FLOPs roughly double "
        "with each step of phi (1.2 x 1.1^2 x 1.15^2 is about 2). B1 to B7 are points along that curve.",
    ),
    Family(
        "EfficientNetV2", 2021, "EfficientNetV2: Smaller Models and Faster Training",
        "https://arxiv.org/abs/2104.00298",
        "Train EfficientNets faster.",
        "Fused-MBConv (a plain 3x3 instead of 1x1 + depthwise) in the early stages trains faster.",
        "Early stages use fused MBConv blocks, later ones MBConv with squeeze-and-excitation; trained "
        "with progressively larger images.",
    ),
    Family(
        "DenseNet", 2016, "Densely Connected Convolutional Networks", "https://arxiv.org/abs/1608.06993",
        "Reuse features by connecting every layer to every later layer in a block.",
        "Concatenate, not add: each layer sees the feature maps of all layers before it.",
        "Inside a dense block each layer adds a few new channels (the growth rate) to the stack it "
        "receives; transition layers with 1x1 convolutions and pooling shrink the stack between blocks.",
    ),
    Family(
        "SqueezeNet", 2016,
        "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
        "https://arxiv.org/abs/1602.07360",
        "Match AlexNet's accuracy with very few parameters.",
        "Fire modules: squeeze channels with 1x1, then expand with 1x1 and 3x3 side by side.",
        "Fire modules squeeze with a 1x1 convolution and expand with parallel 1x1 and 3x3 convolutions; "
        "the classifier is a convolution and global average pooling, so there is no big FC layer.",
    ),
    Family(
        "ShuffleNet", 2018, "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
        "https://arxiv.org/abs/1807.11164",
        "Efficient networks designed for measured speed, not just FLOPs.",
        "Split channels, process half, concatenate and shuffle so groups exchange information.",
        "Each unit splits its channels in two, runs one half through 1x1 / depthwise 3x3 / 1x1 and "
        "concatenates it with the other half, then shuffles channels so information crosses groups.",
    ),
    Family(
        "MnasNet", 2018, "MnasNet: Platform-Aware Neural Architecture Search for Mobile",
        "https://arxiv.org/abs/1807.11626",
        "A mobile network found by searching for accuracy at a measured phone latency.",
        "Architecture search with real latency in the objective.",
        "Inverted residual blocks with kernel sizes and expansion ratios chosen per stage by search.",
    ),
    Family(
        "RegNet", 2020, "Designing Network Design Spaces", "https://arxiv.org/abs/2003.13678",
        "A family of simple, regular networks from tiny to huge.",
        "Block widths follow a quantised linear rule found by studying whole design spaces.",
        "ResNeXt-like blocks whose widths grow by a simple quantised linear function; RegNetY adds "
        "squeeze-and-excitation.",
    ),
    Family(
        "ConvNeXt", 2022, "A ConvNet for the 2020s", "https://arxiv.org/abs/2201.03545",
        "A pure convolutional network modernised with transformer-era choices.",
        "Large 7x7 depthwise kernels, LayerNorm, GELU and an inverted bottleneck, in a ResNet layout.",
        "ResNet modernised step by step: patchify stem, 7x7 depthwise convolutions, inverted "
        "bottlenecks, fewer activations and normalisations, LayerNorm and GELU.",
    ),
    Family(
        "Vision Transformer", 2020,
        "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
        "https://arxiv.org/abs/2010.11929",
        "Classify images with a transformer instead of a stack of convolutions.",
        "Cut the image into 16x16 patches and let self-attention relate every patch to every other.",
        "A strided convolution turns each patch into a token; transformer encoder layers let every token "
        "attend to all others, so the receptive field is the whole image after the first layer.",
    ),
    Family(
        "Swin Transformer", 2021, "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
        "https://arxiv.org/abs/2103.14030",
        "A transformer with the pyramid shape of a convolutional network.",
        "Attention inside local windows that shift between layers; patches merge as the network deepens.",
        "Self-attention is computed inside 7x7 windows of patches, shifted every other layer so windows "
        "exchange information; patch merging halves the resolution stage by stage like pooling.",
    ),
    Family(
        "MaxViT", 2022, "MaxViT: Multi-Axis Vision Transformer", "https://arxiv.org/abs/2204.01697",
        "Combine convolutions with local and global attention.",
        "MBConv, then block attention (local) and grid attention (global) in every block.",
        "Each block is an MBConv followed by attention within small blocks and attention across a "
        "sparse grid, giving global interaction at linear cost.",
    ),
    Family(
        "Squeeze-and-Excitation", 2017, "Squeeze-and-Excitation Networks", "https://arxiv.org/abs/1709.01507",
        "Let a block reweight its channels by how useful they are for this image.",
        "Pool each channel to one number, pass through a tiny network, scale the channels by the result.",
        "A squeeze-and-excitation unit averages each channel over the image, runs the vector through two "
        "small layers ending in a sigmoid, and multiplies every channel by its gate. EfficientNet's MBConv "
        "block is an inverted residual with such a unit after the depthwise convolution.",
    ),
]}


def family(name: str) -> Family:
    """Return the family called ``name``.

    Raises:
        KeyError: no such family (a programming error in the registry).
    """
    return FAMILIES[name]
