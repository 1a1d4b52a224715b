"""Execution: how runs move. ``steps`` and ``status`` are the rules (pure: the time passed in);
``worker`` and ``sweeper`` drive them; ``updates`` is the one read-modify-write of a run."""
