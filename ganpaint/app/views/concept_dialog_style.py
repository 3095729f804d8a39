"""How the New Concept dialog looks: the icons a concept can take and the dialog's style sheet."""

from __future__ import annotations

ICONS: tuple[tuple[str, str], ...] = (
    ("mdi.brush", "Brush"), ("mdi.star", "Star"), ("mdi.flower", "Flower"),
    ("mdi.leaf", "Leaf"), ("mdi.pine-tree", "Pine"), ("mdi.cactus", "Cactus"),
    ("mdi.water", "Water"), ("mdi.waves", "Waves"), ("mdi.fire", "Fire"),
    ("mdi.snowflake", "Snow"), ("mdi.cloud", "Cloud"), ("mdi.weather-night", "Night"),
    ("mdi.weather-lightning", "Lightning"), ("mdi.home", "House"), ("mdi.castle", "Castle"),
    ("mdi.church", "Church"), ("mdi.pillar", "Pillar"), ("mdi.bridge", "Bridge"),
    ("mdi.stairs", "Stairs"), ("mdi.window-open-variant", "Window"), ("mdi.lamp", "Lamp"),
    ("mdi.lightbulb", "Light"), ("mdi.fountain", "Fountain"),
    ("mdi.lighthouse", "Lighthouse"), ("mdi.flag", "Flag"), ("mdi.sign-direction", "Sign"),
    ("mdi.car", "Car"), ("mdi.sail-boat", "Boat"), ("mdi.bird", "Bird"),
    ("mdi.dog", "Animal"), ("mdi.texture", "Texture"), ("mdi.diamond-stone", "Gem"),
    ("mdi.heart", "Heart"), ("mdi.palette", "Palette"), ("mdi.shape", "Shape"),
)  # fmt: skip
STYLE = """
#conceptDialog { background: #1f2125; }
#dialogTitle { font-size: 14pt; font-weight: 600; color: #e6e8ec; }
#sectionTitle { color: #8b9099; font-weight: 600; letter-spacing: 1px; }
#samplesArea, #samplesArea > QWidget > QWidget { background: transparent; border: none; }
#sampleCard { background: #17181b; border: 1px solid #2b2e34; border-radius: 8px; }
#sampleCard:hover { border-color: #3b5f91; }
#sampleTitle { color: #d7dae0; font-weight: 600; }
#sampleState { color: #8b9099; font-size: 9pt; }
#sampleState[marked="true"] { color: #7fc97f; }
#sidePanel { background: #26292e; border: 1px solid #2b2e34; border-radius: 8px; }
#rankStatus { color: #8b9099; }
#rankStatus[error="true"] { color: #ff8a75; }
#nameNote { color: #e0b060; }
#previewName { font-size: 12pt; font-weight: 600; color: #e6e8ec; }
#previewName[empty="true"] { color: #5c616b; }
#unitTable { background: #17181b; }
"""
