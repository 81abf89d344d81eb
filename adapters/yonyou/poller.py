"""What the bridge polls in YonBIP: production orders, materials (products) and batch numbers,
each by ``pubts`` (the last-change stamp every document carries).

Production orders: ``/yonbip/mfg/productionorder/list`` with ``pubts`` ``egt`` the watermark
(rows are order lines: one change per order), then ``/detail`` by id, ingested as YonBIP sent
it (the codec and mapping make one Order per line). Materials
(``/yonbip/digitalModel/product/listproductbycondition``, ``beganTime``) and batch numbers
(``/yonbip/scm/batchno/report/list``, ``simpleVOs`` on pubts) have no detail API the bridge
needs: each list row is the whole record, archived as a one-record reply
``{"code": "200", "message": ..., "data": row}`` (what the codec reads as the detail).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from adapters.yonyou.source_settings import YonyouSourceSettings
from bridge.adapter.polling import Change, Poller, parse_local_time
from bridge.errors import PermanentError, TransientError

__all__ = ["YonyouFeed", "yonyou_poller"]

_LISTS = {
    "productionorder": "/yonbip/mfg/productionorder/list",
    "product": "/yonbip/digitalModel/product/listproductbycondition",
    "batchno": "/yonbip/scm/batchno/report/list",
}


def _stamp(value: Any, feed: str) -> datetime:
    text = str(value or "")
    try:
        if text.isdigit():  # epoch milliseconds, as some replies echo it
            return datetime.fromtimestamp(int(text) / 1000)
        return parse_local_time(text, f"{feed} pubts")
    except Exception:
        raise TransientError(f"Yonyou {feed} list: pubts {text!r} is not a time") from None


class YonyouFeed:
    """The documents of one list API, by pubts."""

    def __init__(self, client: Any, name: str, page_size: int = 100) -> None:
        self.client, self.name, self.page_size = client, name, page_size
        self._rows: dict[str, Mapping[str, Any]] = {}

    def _query(self, since: datetime | None, page: int) -> dict[str, Any]:
        body: dict[str, Any] = {"pageIndex": page, "pageSize": self.page_size}
        if since is not None:
            moment = f"{since:%Y-%m-%d %H:%M:%S}"
            if self.name == "product":
                body["beganTime"] = moment
            else:
                body["simpleVOs"] = [{"field": "pubts", "op": "egt", "value1": moment}]
        return body

    def changes(self, since: datetime | None) -> Iterator[Change]:
        page, seen = 1, set()
        while True:
            reply = self.client.post(_LISTS[self.name], self._query(since, page))
            data = reply.get("data") if isinstance(reply, Mapping) else None
            rows = (data or {}).get("recordList") or [] if isinstance(data, Mapping) else []
            for row in rows:
                record_id = str(row.get("id") or "")
                if not record_id or record_id in seen:
                    continue  # an order's further lines
                seen.add(record_id)
                label = f"{self.name} {row.get('code') or row.get('batchno') or record_id}"
                if self.name != "productionorder":
                    self._rows[record_id] = row
                yield Change(_stamp(row.get("pubts") or (data or {}).get("pubts"), self.name), record_id, label)
            pages = int((data or {}).get("pageCount") or 0) if isinstance(data, Mapping) else 0
            if not rows or page >= pages:
                return
            page += 1

    def fetch(self, change: Change) -> tuple[bytes, str] | None:
        if self.name == "productionorder":
            try:
                _, content = self.client.get_raw("/yonbip/mfg/productionorder/detail", {"id": change.id})
            except PermanentError as exc:
                if "code 1002" in str(exc):  # 数据不存在: deleted since it was listed
                    return None
                raise TransientError(f"Yonyou detail of {change.label}: {exc}") from None
            return content, f"productionorder/detail {change.label} (id {change.id})"
        row = self._rows.pop(change.id, None)
        if row is None:
            return None
        body = json.dumps({"code": "200", "message": "操作成功", "data": row}, ensure_ascii=False).encode("utf-8")
        return body, f"{_LISTS[self.name]} {change.label} (id {change.id})"


def yonyou_poller(context: Any, settings: YonyouSourceSettings, client: Any) -> Poller:
    """The poller of ``sources.yonyou.poll``."""
    poll = settings.poll
    assert poll is not None
    feeds = [YonyouFeed(client, name, poll.page_size) for name in poll.feeds]
    since = parse_local_time(poll.since, "sources.yonyou.poll.since") if poll.since else None
    return Poller(context.system, context, feeds, poll_s=poll.poll_s, overlap_s=poll.overlap_s, since=since)
