"""What the request handlers share: the receipt log, the signer, the site's data and the receipt writer."""

from __future__ import annotations

from dataclasses import dataclass

from .signing import ReceiptSigner
from .sitedata import SiteData
from .storage import ReceiptLog
from .writer import WriterClient


@dataclass
class Services:
    log: ReceiptLog  # reads; receipts are written by the writer process
    signer: ReceiptSigner
    site: SiteData
    writer: WriterClient
