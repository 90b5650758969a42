"""The collaborative forecast: submissions, adjustments, roll-ups along the hierarchy, snapshots and accuracy.

- ``tree``: the reporting hierarchy as the roll-up walks it (who is above whom, who a viewer may see).
- ``figures``: what each person's own deals say for a period (closed, commit, best case, pipeline, weighted).
- ``rollup``: the roll-up of a subtree as one viewer sees it (their own adjustments and those below them).
- ``services``: submitting and adjusting (all writes, with the rules of who may do what).
- ``snapshots``: the weekly snapshot and closing a period with its accuracy.

ADR 0022 explains the rules.
"""
