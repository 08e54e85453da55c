"""``outages preview``: who an outage would reach now, when, with what text, at what cost.

Recipients are matched as of now (the daemon matches again when each notice falls due).
The cost counts every SMS of the pending notices; a notice to those already notified is
counted as if it went to everyone, so the figure is an upper bound.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from channels.sms_segments import count_segments
from outage_notify import registry
from outage_notify.models import Customer, Notice, NoticeState, Outage
from outage_notify.notices.sms import MAX_SEGMENTS, sms_text
from outage_notify.notices.texts import build_context
from outage_notify.planning import network_match, targeting, timeline
from outage_notify.planning.outage_views import describe_notice, describe_outage, notices
from outage_notify.settings import SHIPPED_LANGUAGES, Settings
from outage_notify.times import format_local, iso_local

# Sending that runs into quiet hours by less than this is not worth a warning.
QUIET_GRACE = timedelta(minutes=1)
ACCOUNTS_SHOWN = 20  # accounts the network adds or spares, named in the preview


def _channel_counts(result: targeting.Targeting) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for channel in registry.names():
        languages = Counter(r.language for r in result.recipients if r.channel == channel)
        counts[channel] = {
            "total": sum(languages.values()),
            "by_language": dict(sorted(languages.items())),
        }
    return counts


def _skipped(result: targeting.Targeting) -> dict[str, dict[str, int]]:
    skipped: dict[str, dict[str, int]] = {}
    for item in result.skipped:
        reasons = skipped.setdefault(item.channel, {})
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    return skipped


def _plan(session: Session, outage: Outage) -> list[Notice]:
    """The notices that matter now: the current revision's, and anything still pending."""
    assert outage.id is not None
    return [
        n
        for n in notices(session, outage.id)
        if n.revision == outage.revision or n.state == NoticeState.PENDING
    ]


def _texts(
    session: Session, outage: Outage, kinds: list[str], settings: Settings
) -> dict[str, dict[str, dict[str, Any]]]:
    texts: dict[str, dict[str, dict[str, Any]]] = {}
    for language in SHIPPED_LANGUAGES:
        for kind in kinds:
            context = build_context(
                session, outage, kind=kind, language=language, settings=settings
            )
            text = sms_text(context)
            count = count_segments(text)
            texts.setdefault(language, {})[kind] = {
                "sms": text,
                "segments": count.segments,
                "encoding": count.encoding,
                "characters": count.characters,
            }
    return texts


def preview(
    session: Session, outage: Outage, *, settings: Settings, now: datetime
) -> dict[str, Any]:
    """Everything ``outages preview`` shows, as JSON-ready data."""
    zone = settings.zone
    everyone = targeting.target(session, outage, audience=timeline.ALL)
    plan = _plan(session, outage)
    pending = [n for n in plan if n.state == NoticeState.PENDING]
    kinds = list(dict.fromkeys(n.kind for n in (pending or plan)))
    audiences = {timeline.ALL: _channel_counts(everyone)}
    audiences[timeline.NOTIFIED] = audiences[timeline.ALL]  # the upper bound, see above
    if any(n.audience == timeline.CRITICAL for n in pending):
        audiences[timeline.CRITICAL] = _channel_counts(
            targeting.target(session, outage, audience=timeline.CRITICAL)
        )
    texts = _texts(session, outage, kinds, settings)
    price = settings.sms.price_per_segment
    messages = segments_total = 0
    for notice in pending:
        by_language = audiences[notice.audience][registry.SMS.name]["by_language"]
        for language, count in by_language.items():
            segments = texts.get(language, {}).get(notice.kind, {}).get("segments", 1)
            messages += count
            segments_total += count * segments
    sms_recipients = audiences[timeline.ALL][registry.SMS.name]
    first_kind = kinds[0] if kinds else None
    per_notice = sum(
        count * texts.get(language, {}).get(first_kind or "", {}).get("segments", 1)
        for language, count in sms_recipients["by_language"].items()
    )
    eta = sms_recipients["total"] / settings.sms.max_per_second
    return {
        "outage": describe_outage(outage, zone),
        "now": iso_local(now, zone),
        "recipients": audiences[timeline.ALL],
        "critical_recipients": audiences.get(timeline.CRITICAL),
        "by_match": dict(sorted(everyone.by_match.items())),
        "affected_customers": everyone.affected_customers,
        "affected_subscribers": everyone.affected_subscribers,
        "skipped": _skipped(everyone),
        "notices": [describe_notice(n, zone) for n in plan],
        "sms_segments": {
            language: max((t["segments"] for t in by_kind.values()), default=0)
            for language, by_kind in texts.items()
        },
        "sms_messages": messages,
        "sms_cost": round(segments_total * price, 4),
        "sms_cost_per_notice": round(per_notice * price, 4),
        "sms_eta_seconds": round(eta, 1),
        "texts": texts,
        "warnings": _warnings(outage, pending, texts, everyone, eta, settings),
        "network": network_comparison(session, outage),
    }


def network_comparison(session: Session, outage: Outage) -> dict[str, Any] | None:
    """For a network outage: who the isolation reaches beside who the areas' codes and
    polygons alone would have (None for an outage planned by area only)."""
    pipes = network_match.outage_pipes(session, outage.id)
    if not pipes:
        return None
    by_network = set(targeting.match_outage_customers(session, outage))
    by_areas = set(targeting.match_customers(session, outage)) if outage.area_codes else set()
    _ids, isolation = network_match.cut_off_customer_ids(session, pipes)
    added, spared = sorted(by_network - by_areas), sorted(by_areas - by_network)
    return {
        "pipes": pipes,
        "valves": [v.name for v in isolation.valves],
        "affected_nodes": len(isolation.affected_nodes),
        "customers": len(by_network),
        "areas_alone": len(by_areas),
        "added_by_network": len(added),
        "spared_by_network": len(spared),
        # The first accounts of each, for a planner to check against the map.
        "added_accounts": _accounts(session, added[:ACCOUNTS_SHOWN]),
        "spared_accounts": _accounts(session, spared[:ACCOUNTS_SHOWN]),
    }


def _accounts(session: Session, ids: list[int]) -> list[str]:
    if not ids:
        return []
    query = select(col(Customer.account_id)).where(col(Customer.id).in_(ids))
    return sorted(account for (account,) in session.execute(query))


def _warnings(
    outage: Outage,
    pending: list[Notice],
    texts: dict[str, dict[str, dict[str, Any]]],
    everyone: targeting.Targeting,
    eta: float,
    settings: Settings,
) -> list[str]:
    zone = settings.zone
    warnings = []
    for language, by_kind in texts.items():
        for kind, text in by_kind.items():
            if text["segments"] > MAX_SEGMENTS:
                warnings.append(
                    f"the {language} {kind} SMS needs {text['segments']} segments (more than "
                    f"{MAX_SEGMENTS}): each costs {text['segments']}x; a shorter public_url helps"
                )
    if not everyone.recipients:
        areas = ", ".join(outage.area_codes)
        matched = everyone.affected_customers + everyone.affected_subscribers
        warnings.append(
            f"nobody would be notified: {matched} customers and subscribers match {areas}, "
            "and every one is left out (see skipped)"
            if matched
            else f"nobody would be notified: no customer or subscriber matches {areas}"
        )
    for notice in pending:
        when = format_local(notice.sms_due_at, zone)
        if notice.urgent:
            warnings.append(
                f"the {notice.kind} SMS goes during quiet hours ({when}, urgent): there is no "
                "allowed time left before the work starts"
            )
        quiet_start = timeline.next_quiet_start(
            notice.sms_due_at, settings.schedule.quiet_hours, zone
        )
        finish = notice.sms_due_at + timedelta(seconds=eta)
        if not notice.urgent and quiet_start is not None and finish > quiet_start + QUIET_GRACE:
            warnings.append(
                f"sending the {notice.kind} SMS from {when} takes {_span(eta)} at "
                f"sms.max_per_second = {settings.sms.max_per_second:g}: it would run into quiet "
                f"hours at {format_local(quiet_start, zone)}"
            )
    return warnings


def _span(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
