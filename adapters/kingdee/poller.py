"""What the bridge polls in K/3 Cloud: one feed per form (PRD_MO, BD_MATERIAL, BD_BatchMainFile).

``ExecuteBillQuery`` lists the bills modified since the watermark, oldest first
(``FModifyDate ASC, FID ASC``, a stable order for paging with StartRow/Limit), header fields only
so that a bill with several entry rows is one row; ``View`` by ``FID`` reads each bill whole, and
the reply is ingested as K/3 Cloud sent it (the codec and mappings make one Order per entry row).
A bill deleted in the ERP is not seen by polling (reconciliation finds it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from adapters.kingdee.client import FORMS, failed, messages, response_status
from adapters.kingdee.settings import POLLED_FORMS, KingdeeSourceSettings
from bridge.adapter.polling import Change, Poller, parse_local_time
from bridge.errors import PermanentError, TransientError

__all__ = ["KingdeeFeed", "kingdee_poller"]

_NOT_FOUND = ("10",)  # MsgCode 10: no such data (a bill deleted since it was listed)


def _local(value: Any, form_id: str) -> datetime:
    if not isinstance(value, str):
        raise TransientError(f"Kingdee ExecuteBillQuery of {form_id}: FModifyDate is {value!r}, not a time")
    try:
        return parse_local_time(value, f"{form_id} FModifyDate")
    except Exception:
        raise TransientError(f"Kingdee ExecuteBillQuery of {form_id}: FModifyDate {value!r} is not a time") from None


class KingdeeFeed:
    """The bills of one form, by modification time."""

    def __init__(self, client: Any, form_id: str, *, condition: str = "", page_size: int = 500) -> None:
        self.client, self.name = client, form_id
        self.condition, self.page_size = condition, page_size
        self.number_field = POLLED_FORMS[form_id]

    def _filter(self, since: datetime | None) -> str:
        parts = [f"FModifyDate >= '{since:%Y-%m-%d %H:%M:%S}'"] if since is not None else []
        if self.condition:
            parts.append(f"({self.condition})")
        return " AND ".join(parts)

    def changes(self, since: datetime | None) -> Iterator[Change]:
        start = 0
        while True:
            rows = self.client.execute_bill_query(
                self.name, f"FID,FModifyDate,{self.number_field}", filter_string=self._filter(since),
                order_string="FModifyDate ASC,FID ASC", start_row=start, limit=self.page_size)
            for row in rows:
                if len(row) < 3:
                    raise TransientError(f"Kingdee ExecuteBillQuery of {self.name}: a row of {len(row)} values, not 3")
                yield Change(_local(row[1], self.name), str(row[0]), f"{self.name} {row[2]}")
            if len(rows) < self.page_size:
                return
            start += len(rows)

    def fetch(self, change: Change) -> tuple[bytes, str] | None:
        reply, content = self.client.view_raw(self.name, fid=change.id)
        status = response_status(reply)
        if failed(status):
            assert status is not None
            if str(status.get("MsgCode")) in _NOT_FOUND:
                return None
            error = self.client.refusal(status, f"View of {change.label}")
            if isinstance(error, PermanentError):  # the bill cannot be read: say which, poll on
                raise TransientError(f"Kingdee View of {change.label}: {messages(status)}")
            raise error
        return content, f"{FORMS}View {change.label} (FID {change.id})"


def kingdee_poller(context: Any, settings: KingdeeSourceSettings, client: Any) -> Poller:
    """The poller of ``sources.kingdee.poll``."""
    poll = settings.poll
    assert poll is not None
    feeds = [KingdeeFeed(client, form, condition=f.filter, page_size=poll.page_size)
             for form, f in poll.forms.items() if f.enabled]
    since = parse_local_time(poll.since, "sources.kingdee.poll.since") if poll.since else None
    return Poller(context.system, context, feeds, poll_s=poll.poll_s, overlap_s=poll.overlap_s, since=since)
