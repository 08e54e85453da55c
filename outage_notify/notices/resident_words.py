"""The words of "am I affected?" (``lookup_*``) and "still no water" (``nowater_*``).

They join the site's other page words in ``messages.MESSAGES``; templates call ``t("key")``.
"""

from __future__ import annotations

RESIDENT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "lookup_title": "Am I affected?",
        "lookup_intro": "Find your areas without knowing their names: use your location, or "
        "enter the account number on your water or gas bill.",
        "lookup_locate": "Use my location",
        "lookup_locate_note": "Your browser asks first. The position is sent once to match "
        "areas; it is not stored.",
        "lookup_locating": "Finding your location…",
        "lookup_denied": "Your location is not available. Enter your account number instead.",
        "lookup_account": "Account number",
        "lookup_account_submit": "Look up",
        "lookup_result_title": "Your areas",
        "lookup_by_location": "Your location is in these service areas:",
        "lookup_outside": "Your location is outside every service area we know. Call the "
        "hotline {hotline} if you think this is wrong.",
        "lookup_by_account": "The premise of this account is in these service areas:",
        "lookup_account_none": "No current or upcoming shutoffs found for this account "
        "number. Check the number on your bill, or call the hotline {hotline}.",
        "lookup_outages": "Current and upcoming shutoffs there",
        "lookup_no_outages": "No current or upcoming shutoffs there.",
        "lookup_subscribe": "Get notices for exactly these areas",
        "lookup_again": "Look up again",
        "lookup_bad_location": "The location could not be read: {problem}.",
        "lookup_bad_account": "Enter the account number printed on your bill.",
        "lookup_too_many": "Too many look-ups from your network. Try again in {seconds} seconds.",
        "nowater_title": "Still no water?",
        "nowater_intro": "Service was restored, but is your tap still dry? Tell us: the "
        "dispatcher sees reports from your area at once.",
        "nowater_link": "Still no water? Report it",
        "nowater_account": "Account number (on your bill)",
        "nowater_submit": "Report no water",
        "nowater_thanks": "Thank you: your report is in. We will text you the hotline "
        "number; for anything urgent call {hotline}.",
        "nowater_not_matched": "We could not tie this account number to this shutoff. Call "
        "the hotline {hotline}: they can help at once.",
        "nowater_not_restored": "This shutoff is not marked as restored. Call the hotline "
        "{hotline} if your water is off.",
    },
    "zh-CN": {
        "lookup_title": "我受影响吗？",
        "lookup_intro": "无需知道区域名称：使用您的位置，或输入水费、燃气费账单上的户号。",
        "lookup_locate": "使用我的位置",
        "lookup_locate_note": "浏览器会先征求您的同意。位置只发送一次，用于匹配区域，不会保存。",
        "lookup_locating": "正在获取您的位置…",
        "lookup_denied": "无法获取您的位置，请改为输入户号。",
        "lookup_account": "户号",
        "lookup_account_submit": "查询",
        "lookup_result_title": "您所在的区域",
        "lookup_by_location": "您的位置属于以下服务区域：",
        "lookup_outside": "您的位置不在我们的任何服务区域内。如有疑问，请拨打服务热线{hotline}。",
        "lookup_by_account": "该户号的用水用气地址属于以下服务区域：",
        "lookup_account_none": "未查到该户号当前或即将进行的停水停气。请核对账单上的户号，"
        "或拨打服务热线{hotline}。",
        "lookup_outages": "这些区域当前及即将进行的停水停气",
        "lookup_no_outages": "这些区域目前没有停水停气计划。",
        "lookup_subscribe": "订阅这些区域的通知",
        "lookup_again": "重新查询",
        "lookup_bad_location": "无法读取位置：{problem}。",
        "lookup_bad_account": "请输入账单上的户号。",
        "lookup_too_many": "您所在网络的查询次数过多，请{seconds}秒后再试。",
        "nowater_title": "仍然没水？",
        "nowater_intro": "已通知恢复供水，但您家仍然没水？请告诉我们："
        "调度人员会立即看到您所在区域的报告。",
        "nowater_link": "仍然没水？点此报告",
        "nowater_account": "户号（见账单）",
        "nowater_submit": "报告没水",
        "nowater_thanks": "谢谢，已收到您的报告。我们会短信告知热线号码；如有急事请拨打{hotline}。",
        "nowater_not_matched": "无法将该户号与此次停水对应。"
        "请拨打服务热线{hotline}，我们会立即协助。",
        "nowater_not_restored": "此次停水尚未标记为恢复供水。如您家没水，请拨打服务热线{hotline}。",
    },
}
