"""The retention purge: which receipts may be deleted, chosen from what the log signed.

A purge deletes receipts past their retention period and signs a statement naming their
leaves. Since the statement is signed with the log key, what it names is checked first,
never taken from the database's word: a receipt is purged only if its row passes its own
token (integrity.py), its body is the leaf the latest signed checkpoint holds at its index
(the stored leaves are held against that checkpoint's root), and the timestamp *inside
that body* is before the cutoff. A ``created_at`` column edited to an old date purges
nothing; a row that fails its checks is kept, and counted, for ``verify`` to name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consent_log import merkle

from .integrity import body_of, row_problems
from .signing import ReceiptSigner
from .storage import ReceiptLog


class PurgeRefused(Exception):
    """The log cannot be checked, so nothing is purged (the message says why)."""


@dataclass
class PurgePlan:
    leaves: list[int] = field(default_factory=list)  # the sealed leaves whose receipts go
    kept: list[str] = field(default_factory=list)  # receipts before the cutoff by a column, kept: why


def plan_purge(log: ReceiptLog, signer: ReceiptSigner, cutoff: int) -> PurgePlan:
    """The leaves whose receipts are provably older than ``cutoff`` (seconds since 1970)."""
    latest = log.checkpoint()
    if latest is None:
        raise PurgeRefused("the log has no signed checkpoint: nothing is sealed, nothing can be purged")
    size = latest.checkpoint.size
    leaves = log.leaf_hashes()[:size]
    if len(leaves) < size or merkle.Levels(leaves).root(size) != latest.checkpoint.root:
        raise PurgeRefused(f"the stored leaves do not reproduce the latest signed checkpoint (size {size}): "
                           "run 'flask --app consent_api verify' and repair the log before purging")
    plan = PurgePlan()
    for row in log.rows(by_leaf=True):
        body, _ = body_of(row)
        old_by_column = isinstance(row.created_at, int) and row.created_at < cutoff
        when = body.get("consentTimestamp") if body else None
        if not isinstance(when, int) or when >= cutoff:
            if old_by_column:
                plan.kept.append(f"receipt {row.receipt_id}: its created_at column says before the cutoff, its "
                                 "signed content does not")
            continue
        index = int(row.leaf_index)
        problems = row_problems(signer, row)
        if index >= size:
            problems.append(f"its leaf {index} is beyond the latest signed checkpoint (size {size})")
        elif merkle.leaf_hash(row.body.encode()) != leaves[index]:
            problems.append(f"it is not leaf {index} of the signed tree")
        if problems:
            plan.kept.append(f"receipt {row.receipt_id}: {'; '.join(problems)}")
            continue
        plan.leaves.append(index)
    return plan
