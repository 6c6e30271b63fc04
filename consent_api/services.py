"""What the request handlers share: the receipt log, the signer and the site's data."""

from __future__ import annotations

from dataclasses import dataclass

from .signing import ReceiptSigner
from .sitedata import SiteData
from .storage import ReceiptLog


@dataclass
class Services:
    log: ReceiptLog
    signer: ReceiptSigner
    site: SiteData
