"""What the request handlers share: the receipt log, the signers, the site's data, the sealer."""

from __future__ import annotations

from dataclasses import dataclass

from consent_log.checkpoint import LogKey, Verifier

from .sealer import Sealer
from .settings import Settings
from .signing import ReceiptSigner
from .sitedata import SiteData
from .storage import ReceiptLog


@dataclass
class Services:
    settings: Settings
    log: ReceiptLog
    signer: ReceiptSigner
    site: SiteData
    log_keys: list[LogKey]  # oldest first; the newest signs checkpoints
    sealer: Sealer
    origins: frozenset[str]  # the site's own origins (CORS; where a receipt's page may be)

    @property
    def verifiers(self) -> list[Verifier]:
        return [k.verifier for k in self.log_keys]
