"""Start-up leaves its objects out of the garbage collector's full collections (a 140-220 ms pause each, every
few seconds under load, before; bench/run.py's write p99), and makes the full collections of what a running
sandbox keeps ten times rarer (13-20 ms each, every 2 s under load)."""

from __future__ import annotations

import gc

from enkash_sandbox.app import FULL_COLLECTION_EVERY, _freeze_start_up_objects, create_app
from enkash_sandbox.config import Settings


def test_the_last_start_up_step_freezes_what_start_up_built(tmp_path):
    app = create_app(Settings(db=str(tmp_path / "s.db"), seed_demo=False))
    try:
        assert app.router.on_startup[-1] is _freeze_start_up_objects
        before = gc.get_threshold()
        gc.unfreeze()
        gc.disable()  # as `serve` starts
        _freeze_start_up_objects()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 10_000
        young, middle, full = gc.get_threshold()
        assert (young, middle) == before[:2] and full == FULL_COLLECTION_EVERY == 100
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*before)
        app.state.container.close()
