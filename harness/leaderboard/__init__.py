"""Leaderboards: collect run summaries, attach intervals, render Markdown/CSV/JSON/HTML, publish to W&B.

`collect` reads run directories (the only I/O on the way in), `board` is pure
(runs -> rows with n and 95% intervals), the renderers turn a board into text,
and `build.build_board_files` is the one-call shell used by the CLI and by the
training callback.
"""
