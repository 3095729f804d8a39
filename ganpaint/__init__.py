"""GANPaint desktop: paint with the dissected units of a scene GAN.

Subpackages: ``models`` (networks and checkpoint I/O), ``engine`` (hooks, the edit rule,
edit documents, rendering), ``dissect`` (unit statistics and labels), ``scenes`` (the
procedural scene world), ``train`` (training loops), ``app`` (the Qt program; the only
package that imports Qt) and ``cli`` (the ``ganpaint`` command).
"""

from ganpaint.core.hugepages import prefer_huge_pages

prefer_huge_pages()  # before anything imports torch: see ganpaint/core/hugepages.py

__version__ = "0.1.0"
