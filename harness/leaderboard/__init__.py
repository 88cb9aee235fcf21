"""Leaderboards: collect run summaries, lay out rows and columns, render Markdown/CSV/JSON/HTML, publish to W&B.

`collect` reads run directories (the only I/O on the way in), `board` is pure
layout (runs -> rows; the cells and their 95% intervals come from
`harness.aggregation`, where each benchmark registers its metrics), the
renderers turn a board into text, and `build.build_board_files` is the
one-call shell used by the CLI and by the training callback.
"""
