"""forget(recipes): make recipes untrained again on this process's board, so that a page under AppTest offers its
train button whatever earlier tests in the same process trained (issue 28: a test that clicks the button asserts
it is there, instead of skipping the click when an earlier test had trained the recipes already).

Only finished entries are dropped, and never the pinned default pair: one untrained recipe is enough for the
page to ask, and the runs retrain bit-identically."""

from __future__ import annotations

from collections.abc import Iterable

from excolor.train import Recipe


def forget(recipes: Iterable[Recipe]) -> None:
    from excolor.app import training

    b = training.queue()
    with b.lock:
        for recipe in recipes:
            entry = b.entries.get(recipe)
            if recipe not in b.pinned and entry is not None and entry.done.is_set():
                del b.entries[recipe]
                b.trained.pop(recipe, None)  # the board prunes its count of trainings with the entry
