"""The words of the public pages, in every shipped language. Templates call ``t("key")``.

The site's own words are here; the reports' (``report_*``) and the subscription pages'
(``subscribe_*``, ``unsubscribe_*``) live beside it and join them in :data:`MESSAGES`. A test
checks both languages have the same keys.
"""

from __future__ import annotations

from outage_notify.notices.report_words import REPORT_WORDS
from outage_notify.notices.subscription_words import SUBSCRIPTION_WORDS

Words = dict[str, dict[str, str]]

SITE_WORDS: Words = {
    "en": {
        "site_title": "Planned water and gas shutoffs",
        "language_name": "English",
        "hotline": "Hotline",
        "filter": "Show",
        "utility": "Utility",
        "area": "Area",
        "all": "All",
        "water": "Water",
        "gas": "Gas",
        "apply": "Apply",
        "current": "Under way now",
        "upcoming": "Upcoming",
        "recent": "Ended or cancelled in the last 7 days",
        "no_outages": "No shutoffs to show.",
        "feeds": "Follow these shutoffs",
        "feeds_intro": "Feeds update within a minute of every change.",
        "rss": "RSS",
        "atom": "Atom",
        "calendar": "Add to calendar",
        "cap": "CAP alerts",
        "cap_alert": "CAP alert (this revision)",
        "when": "When",
        "areas": "Areas",
        "state": "Status",
        "description": "Details",
        "history": "History",
        "revision": "Revision",
        "change": "Change",
        "made_at": "Announced",
        "times": "Times",
        "reason": "Reason",
        "map": "Map of the affected areas",
        "no_map": "No map is available for these areas.",
        "back": "All shutoffs",
        "times_local": "Times are local ({offset}).",
        "details": "Details",
        "in_progress": "Under way",
        "not_found": "Not found",
        "not_found_text": "There is no such shutoff. It may have been removed.",
        "bad_request": "Cannot show this page",
        "utility_water": "Water",
        "utility_gas": "Gas",
        "state_PLANNED": "Planned",
        "state_CHANGED": "Changed",
        "state_CANCELLED": "Cancelled",
        "state_RESTORED": "Restored",
        "change_created": "Announced",
        "change_rescheduled": "Rescheduled",
        "change_extended": "Extended",
        "change_cancelled": "Cancelled",
        "change_restored": "Service restored",
        "restored_at": "Service restored at {time}.",
        "banner_title": "Shutoffs in your area",
        "banner_none": "No shutoffs planned in the next 72 hours.",
    },
    "zh-CN": {
        "site_title": "计划停水停气",
        "language_name": "中文",
        "hotline": "咨询热线",
        "filter": "筛选",
        "utility": "类别",
        "area": "区域",
        "all": "全部",
        "water": "停水",
        "gas": "停气",
        "apply": "确定",
        "current": "正在进行",
        "upcoming": "即将进行",
        "recent": "最近7天内结束或取消",
        "no_outages": "暂无停水停气信息。",
        "feeds": "订阅停水停气信息",
        "feeds_intro": "每次变更后一分钟内更新。",
        "rss": "RSS",
        "atom": "Atom",
        "calendar": "添加到日历",
        "cap": "CAP 预警",
        "cap_alert": "CAP 预警（本版本）",
        "when": "时间",
        "areas": "范围",
        "state": "状态",
        "description": "说明",
        "history": "变更记录",
        "revision": "版本",
        "change": "变更",
        "made_at": "发布时间",
        "times": "停水停气时间",
        "reason": "原因",
        "map": "影响范围图",
        "no_map": "这些区域暂无地图。",
        "back": "全部停水停气",
        "times_local": "时间为当地时间（{offset}）。",
        "details": "详情",
        "in_progress": "进行中",
        "not_found": "未找到",
        "not_found_text": "没有这条停水停气信息，可能已被删除。",
        "bad_request": "无法显示此页面",
        "utility_water": "供水",
        "utility_gas": "燃气",
        "state_PLANNED": "计划",
        "state_CHANGED": "已变更",
        "state_CANCELLED": "已取消",
        "state_RESTORED": "已恢复",
        "change_created": "发布",
        "change_rescheduled": "改期",
        "change_extended": "延长",
        "change_cancelled": "取消",
        "change_restored": "恢复供应",
        "restored_at": "已于{time}恢复供应。",
        "banner_title": "您所在区域的停水停气",
        "banner_none": "未来72小时内没有计划停水停气。",
    },
}


def _merged(*parts: Words) -> Words:
    merged: Words = {}
    for part in parts:
        for language, words in part.items():
            target = merged.setdefault(language, {})
            clashing = target.keys() & words.keys()
            if clashing:
                raise ValueError(f"page words defined twice: {sorted(clashing)}")
            target.update(words)
    return merged


MESSAGES: Words = _merged(SITE_WORDS, REPORT_WORDS, SUBSCRIPTION_WORDS)


def translate(language: str, key: str, **values: object) -> str:
    text = MESSAGES.get(language, MESSAGES["en"]).get(key) or MESSAGES["en"].get(key, key)
    return text.format(**values) if values else text
