"""Colour helpers and the palettes of the scene world (skies, materials, foliage)."""

from __future__ import annotations

import numpy as np

F32 = np.float32

# time of day -> (zenith, middle, horizon) sky colours; each entry a list of variants
SKIES: dict[str, list[tuple[tuple[int, int, int], ...]]] = {
    "day": [
        ((52, 105, 190), (105, 160, 222), (190, 215, 236)),
        ((70, 125, 205), (125, 175, 228), (205, 225, 240)),
        ((40, 95, 175), (90, 150, 215), (170, 205, 232)),
        ((85, 140, 200), (140, 185, 220), (215, 228, 232)),
    ],
    "dusk": [
        ((60, 65, 125), (185, 110, 135), (250, 170, 95)),
        ((45, 60, 110), (150, 100, 150), (245, 150, 110)),
        ((80, 90, 150), (215, 140, 140), (255, 200, 130)),
    ],
    "dawn": [
        ((95, 120, 185), (215, 165, 175), (255, 210, 160)),
        ((110, 140, 195), (225, 185, 190), (250, 225, 185)),
    ],
    "overcast": [
        ((118, 124, 136), (158, 163, 172), (196, 198, 202)),
        ((135, 140, 150), (170, 174, 182), (210, 212, 214)),
        ((100, 108, 122), (140, 146, 158), (182, 186, 192)),
    ],
}

# (lit top, shaded underside) cloud colours per time of day
CLOUDS: dict[str, list[tuple[tuple[int, int, int], tuple[int, int, int]]]] = {
    "day": [((255, 255, 255), (172, 182, 202)), ((250, 250, 246), (160, 170, 190))],
    "dusk": [((255, 205, 165), (130, 95, 125)), ((255, 180, 150), (115, 90, 130))],
    "dawn": [((255, 232, 215), (175, 150, 175)), ((255, 240, 225), (185, 165, 185))],
    "overcast": [((222, 224, 228), (112, 116, 126)), ((205, 208, 214), (95, 100, 112))],
}

GRASS = [
    ((62, 122, 46), (128, 160, 96)),
    ((86, 140, 52), (150, 172, 104)),
    ((112, 146, 58), (168, 176, 112)),
    ((48, 104, 44), (116, 146, 102)),
    ((132, 150, 70), (178, 180, 124)),
    ((74, 128, 62), (140, 164, 120)),
]
AUTUMN_GRASS = [((136, 138, 62), (182, 176, 120)), ((120, 126, 58), (170, 168, 118))]

PATH = [(176, 152, 112), (160, 134, 98), (190, 172, 136), (148, 128, 104), (200, 182, 150)]

MOUNTAIN = [(98, 112, 140), (112, 110, 134), (92, 110, 118), (124, 124, 136), (86, 96, 128)]

FOLIAGE = [(52, 102, 36), (70, 118, 40), (40, 86, 40), (88, 128, 48), (60, 96, 30)]
AUTUMN_FOLIAGE = [(196, 120, 40), (170, 70, 36), (210, 170, 60), (150, 110, 40)]
CONIFER = [(30, 70, 46), (38, 80, 50), (26, 62, 44), (44, 86, 56)]
TRUNK = [(84, 62, 46), (98, 80, 64), (70, 58, 50)]

WALLS = [
    (164, 72, 52),
    (148, 60, 46),
    (178, 96, 64),
    (128, 74, 56),
    (196, 168, 128),
    (214, 196, 160),
    (176, 146, 110),
    (150, 134, 118),
    (188, 118, 84),
]
ROOFS = [(124, 46, 38), (150, 64, 44), (70, 74, 84), (56, 60, 70), (96, 84, 80), (88, 52, 46)]
DOMES = [
    ((98, 168, 146), "copper"),
    ((84, 150, 136), "copper"),
    ((150, 156, 166), "lead"),
    ((218, 172, 70), "gold"),
    ((70, 100, 150), "blue"),
]
DOORS = [(72, 44, 28), (92, 56, 34), (60, 40, 30), (54, 70, 54), (92, 36, 34), (44, 50, 70)]
FRAMES = [(236, 232, 220), (220, 214, 196), (70, 52, 40), (48, 50, 56)]
GLASS = [(58, 72, 96), (44, 52, 70), (90, 118, 150), (70, 90, 110)]


def mix(a, b, t):
    """Linear interpolation between colours (or arrays) a and b by t."""
    a = np.asarray(a, F32)
    b = np.asarray(b, F32)
    return a + (b - a) * t


def rgb3(color) -> np.ndarray:
    """A colour as a float32 (3, 1, 1) array, broadcastable over channel-first (3, h, w)
    colour fields."""
    return np.asarray(color, F32).reshape(3, 1, 1)


def jitter(rng: np.random.Generator, color, amount: float = 12.0) -> tuple[float, float, float]:
    """A colour with a small random brightness and hue variation."""
    r = rng.random(4).tolist()
    k = 1 + (r[0] - 0.5) * amount / 100
    return tuple(
        min(max(float(c) * k + (r[i + 1] - 0.5) * amount, 0.0), 255.0) for i, c in enumerate(color)
    )


def pick(rng: np.random.Generator, options):
    """A uniformly random element of a sequence."""
    return options[int(rng.random() * len(options))]


def choose(rng: np.random.Generator, options, p):
    """A random element of ``options`` drawn with probabilities ``p`` (a cheap
    ``rng.choice``)."""
    u = rng.random() * sum(p)
    for option, w in zip(options, p, strict=True):
        u -= w
        if u < 0:
            return option
    return options[-1]
