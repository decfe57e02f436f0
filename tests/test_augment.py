"""Augmentation: seeded determinism for every operation, the course's colour shifts, code and JSON export."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from PIL import Image

from explorer.augment import (
    OPERATIONS, AugmentError, augment, build_pipeline, fancy_pca_shift, from_json, new_step, rgb_histograms,
    sample_grid, step_by_step, to_code, to_json, validate_step,
)
from explorer.images import load_image, sample_images


@pytest.fixture(scope="module")
def cat() -> Image.Image:
    return load_image(sample_images()["cat"].read_bytes()).resize((160, 106))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int32)


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_every_operation_is_deterministic_under_a_seed(cat, op):
    steps = [new_step(op)]
    first, again = augment(cat, steps, seed=7), augment(cat, steps, seed=7)
    assert np.array_equal(pixels(first), pixels(again))
    grid = sample_grid(cat, steps, 4, seed=3)
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in zip(grid, sample_grid(cat, steps, 4, seed=3)))


def test_random_operations_differ_between_seeds(cat):
    steps = [new_step("random_resized_crop"), new_step("color_jitter")]
    samples = sample_grid(cat, steps, 4, seed=1)
    assert len({pixels(s).tobytes() for s in samples}) == 4


def test_mirroring_twice_is_the_identity(cat):
    twice = augment(cat, [new_step("hflip"), new_step("hflip")], seed=0)
    assert np.array_equal(pixels(twice), pixels(cat))
    assert np.array_equal(pixels(augment(cat, [new_step("hflip")], 0)), pixels(cat)[:, ::-1])


def test_colour_shift_moves_channel_means_by_the_offsets(cat):
    gray = Image.new("RGB", (10, 10), (100, 100, 100))
    shifted = pixels(augment(gray, [{"op": "color_shift", "params": {"red": 30, "green": -40, "blue": 0}}], 0))
    assert shifted.reshape(-1, 3).mean(0).tolist() == [130, 60, 100]
    clipped = pixels(augment(Image.new("RGB", (4, 4), (240, 10, 0)),
                             [{"op": "color_shift", "params": {"red": 40, "green": -40, "blue": 0}}], 0))
    assert clipped[0, 0].tolist() == [255, 0, 0]


def test_random_colour_shift_stays_within_its_ranges():
    gray = Image.new("RGB", (4, 4), (128, 128, 128))
    for seed in range(10):
        offsets = pixels(augment(gray, [{"op": "random_color_shift", "params": {"red": 10, "green": 0,
                                                                              "blue": 50}}], seed))[0, 0] - 128
        assert abs(offsets[0]) <= 10 and offsets[1] == 0 and abs(offsets[2]) <= 50


def test_pca_augmentation_keeps_the_shape_and_moves_colours_along_the_principal_components(cat):
    out = augment(cat, [{"op": "fancy_pca", "params": {"sigma": 0.5}}], seed=11)
    assert out.size == cat.size
    source = torch.from_numpy(pixels(cat)).permute(2, 0, 1).to(torch.float64)
    # independent oracle: numpy's eigen-decomposition of the RGB covariance
    flat = source.reshape(3, -1).numpy() / 255.0
    values, vectors = np.linalg.eigh(np.cov(flat))
    alphas = torch.tensor([0.3, -0.2, 0.1])
    delta = fancy_pca_shift(source, alphas).numpy() / 255.0
    # eigenvectors are defined up to sign: compare the size of the move along each component
    assert np.allclose(np.abs(vectors.T @ delta), np.abs(alphas.numpy() * np.clip(values, 0, None)), atol=1e-9)
    # the largest component dominates: shifting along it only moves colour in its direction
    delta = fancy_pca_shift(source, torch.tensor([0.0, 0.0, 1.0])).numpy()
    assert np.allclose(delta / np.linalg.norm(delta), vectors[:, 2] * np.sign(delta @ vectors[:, 2]), atol=1e-6)
    unclipped = pixels(out).astype(np.float64) - pixels(cat)
    middle = (pixels(cat) > 30).all(-1) & (pixels(cat) < 225).all(-1)
    assert np.ptp(unclipped[middle].reshape(-1, 3), axis=0).max() <= 1.0  # the same shift at every pixel


def test_step_by_step_ends_at_the_same_sample(cat):
    steps = [new_step("random_crop"), new_step("rotation"), new_step("random_color_shift")]
    stages = step_by_step(cat, steps, seed=5)
    assert [label for label, _ in stages][0] == "original" and len(stages) == 4
    assert np.array_equal(pixels(stages[-1][1]), pixels(augment(cat, steps, seed=5)))


def test_exported_code_builds_an_equal_pipeline(cat):
    steps = [new_step("hflip"), {"op": "color_jitter", "params": {"brightness": 0.3}, "p": 0.5},
             new_step("fancy_pca"), new_step("random_resized_crop"), new_step("random_erasing")]
    namespace: dict = {}
    exec(to_code(steps), namespace)  # noqa: S102 - our own generated code
    exported, ours = namespace["pipeline"], build_pipeline(steps)
    from torchvision import tv_tensors
    from torchvision.transforms.v2 import functional as F

    source = tv_tensors.Image(F.pil_to_tensor(cat))
    for seed in range(5):
        torch.manual_seed(seed)
        a = exported(source)
        torch.manual_seed(seed)
        assert torch.equal(a, ours(source))


def test_json_round_trip():
    steps = [new_step("autoaugment"), {"op": "randaugment", "params": {"num_ops": 3}, "p": 0.25}]
    assert from_json(to_json(steps)) == [validate_step(s) for s in steps]


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"pipeline": 3}', "must hold"),
    ('{"pipeline": [{"op": "teleport"}]}', "Unknown operation 'teleport'"),
    ('{"pipeline": [{"op": "rotation", "params": {"degrees": 999}}]}', r"must be float in \[0.0, 180.0\]"),
    ('{"pipeline": [{"op": "rotation", "params": {"spin": 1}}]}', "has no parameter 'spin'"),
    ('{"pipeline": [{"op": "hflip", "p": 2}]}', "must be float in"),
    ('{"pipeline": [{"op": "random_resized_crop", "params": {"scale_min": 0.9, "scale_max": 0.5}}]}', "must not exceed"),
    ('[{"params": {}}]', "must be an object with an \"op\" name"),
])
def test_bad_pipelines_are_one_sentence(text, message):
    with pytest.raises(AugmentError, match=message):
        from_json(text)


def test_histograms_count_every_pixel(cat):
    histograms = rgb_histograms(cat)
    assert set(histograms) == {"red", "green", "blue"} and all(h.sum() == 160 * 106 for h in histograms.values())
