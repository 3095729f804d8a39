"""An adversarial attack kept running through the drag bench's drag (``drag-bench
--attack``): how well the brush keeps up while the Classifier's attack works.

:class:`AttackLoad` starts an attack on the picture on screen through the window's own
Attack action (``ClassifierView.attack``, towards the class the classifier ranks second), and
whenever one finishes during the drag starts the next, so an attack runs for the whole drag;
it counts the attacks started and finished and keeps each finished one's time (``ms`` of its
result). It only uses ``attack``, ``attack_running`` and the attack window's ``done_result``,
so the same bench measures any version of the app that has them.
"""

from __future__ import annotations

from typing import Any


class AttackLoad:
    """Keep an attack running in ``window`` between :meth:`start` and :meth:`stop`."""

    def __init__(self, window: Any, poll_ms: int = 5):
        from ganpaint.app.views.scripting import repeating_timer

        view = window.classifier_view
        if not view.available:
            raise RuntimeError("--attack: the model has no scene classifier")
        self.window, self.view = window, view
        self.target = runner_up(window)
        self.started = 0
        self.attack_ms: list[float] = []
        self.timer = repeating_timer(poll_ms, self._keep_running)

    def _keep_running(self, record: bool = True) -> None:
        if not self.view.attack_running():
            if record:
                self._record()
            self.view.attack(self.target)
            self.started += 1

    def _record(self) -> None:
        done = getattr(self.view.dialog, "done_result", None)
        if done is not None and not done.cancelled:
            self.attack_ms.append(done.ms)

    def start(self) -> None:
        self.started = 0
        self.attack_ms = []
        self._keep_running(record=False)  # the last drag's attack is not this one's
        self.timer.start()

    def stop(self, timeout_s: float) -> dict[str, Any]:
        """Stop starting attacks; wait for the one running; the figures of the period."""
        from ganpaint.app.views.launch import wait_until

        self.timer.stop()
        running_at_end = self.view.attack_running()
        if not wait_until(lambda: not self.view.attack_running(), timeout_s):
            raise RuntimeError("--attack: the last attack did not finish")
        self._record()
        if self.view.dialog is not None:
            self.view.dialog.close()
        return {
            "attacks_started": self.started,
            "attacks_finished_during_drag": self.started - int(running_at_end),
            "attack_running_at_end": running_at_end,
            "attack_ms": self.attack_ms,
            "target": self.target,
        }


def runner_up(window: Any) -> int:
    """The class the classifier ranks second for the picture on screen (read here, once)."""
    import torch

    from ganpaint.classify.explain import read_frame

    classifier = window.models.bundle.load_classifier()
    with torch.no_grad():
        reading = read_frame(classifier, window.frames.image)
    return int(reading.probs.argsort()[-2])
