"""The classifier half of network dissection: a scene classifier trained on the scene world,
its units labelled against the world's exact labels, ablated per class, and read through
adversarial attacks (Bau et al., PNAS 2020). See docs/ARCHITECTURE.md for where it sits."""
