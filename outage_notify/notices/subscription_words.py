"""The words of the sign-up (``subscribe_*``) and unsubscribe (``unsubscribe_*``) pages.

They join the site's other page words in ``messages.MESSAGES``; templates call ``t("key")``.
"""

from __future__ import annotations

SUBSCRIPTION_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "channel_email": "email",
        "channel_sms": "SMS",
        "subscribe_link": "Get these notices by SMS or email",
        "subscribe_link_area": "Get notices for these areas by SMS or email",
        "subscribe_title": "Get shutoff notices",
        "subscribe_intro": "Anyone can sign up, with or without an account with the utility: "
        "we tell you before planned water or gas work in the areas you pick, and again when "
        "the plan changes.",
        "subscribe_areas": "Your areas",
        "subscribe_areas_hint": "Pick one or more.",
        "subscribe_how": "How should we tell you?",
        "subscribe_by_email": "By email",
        "subscribe_by_sms": "By SMS (text message)",
        "subscribe_email": "Email address",
        "subscribe_phone": "Mobile number",
        "subscribe_phone_hint": "A number of your own, such as 138 0013 8000.",
        "subscribe_language": "Language of the notices",
        "subscribe_consent": "We use your address for these notices only. Email: you confirm "
        "with a link we send. SMS: you confirm with a code we text you. Every notice says how "
        "to stop them.",
        "subscribe_submit": "Sign up",
        "subscribe_problems": "Please check the form:",
        "subscribe_no_areas": "Pick at least one area.",
        "subscribe_unknown_area": "There is no area {code}.",
        "subscribe_no_channel": "Choose email or SMS.",
        "subscribe_bad_language": "Choose a language from the list.",
        "subscribe_bad_email": "Enter an email address we can write to, such as name@example.com.",
        "subscribe_bad_phone": "Enter a mobile number we can text, such as 138 0013 8000 or "
        "+86 138 0013 8000.",
        "subscribe_check_inbox_title": "Check your inbox",
        "subscribe_check_inbox": "We sent a link to {address}. Open it within {days} days to "
        "confirm; nothing is sent to you before that.",
        "subscribe_email_was_off": "This address unsubscribed earlier. Confirming turns email "
        "notices back on.",
        "subscribe_code_title": "Enter the code",
        "subscribe_code_sent": "We texted a 6-digit code to {address}. Enter it here within "
        "{minutes} minutes, or reply YES to that text.",
        "subscribe_code": "Code",
        "subscribe_confirm_button": "Confirm",
        "subscribe_code_format": "Enter the 6 digits of the code.",
        "subscribe_code_wrong": "That code is not right. {left} tries left.",
        "subscribe_code_expired": "That code has expired. Sign up again for a new one.",
        "subscribe_code_spent": "Too many wrong codes. Sign up again for a new one.",
        "subscribe_code_none": "There is nothing to confirm for this number. Sign up again.",
        "subscribe_sms_off_title": "Text YES to turn texts back on",
        "subscribe_sms_off": "{address} opted out of our texts, so we cannot text it a code. "
        "Text YES (or START) from it to {number} within {minutes} minutes: that turns our "
        "texts back on and confirms your areas.",
        "subscribe_our_number": "the number our notices come from",
        "subscribe_already": "{address} already gets notices for these areas.",
        "subscribe_done_title": "You are signed up",
        "subscribe_done": "{address} now gets notices about planned shutoffs in: {areas}.",
        "subscribe_stop_email": "Every email has a link to stop them.",
        "subscribe_stop_sms": "Reply STOP (or TD) to any of our texts to stop them.",
        "subscribe_confirm_title": "Confirm your sign-up",
        "subscribe_confirm_text": "Start email notices for {address} about planned shutoffs in: "
        "{areas}?",
        "subscribe_link_bad_title": "This link is not valid",
        "subscribe_link_bad": "The link is incomplete, has expired or was replaced by a newer "
        "one. Sign up again to get a new link.",
        "subscribe_again": "Sign up again",
        "subscribe_csrf_title": "This form has expired",
        "subscribe_csrf": "Reload the page and send the form again. This page needs cookies: "
        "it keeps a cookie that shows the form came from this site.",
        "subscribe_slow_down_title": "Too many attempts",
        "subscribe_slow_down": "Too many forms from your network. Try again in {seconds} seconds.",
        "subscribe_wait": "We sent a message to {address} less than a minute ago. Check it, or "
        "try again in {seconds} seconds.",
        "subscribe_send_failed_title": "Not sent",
        "subscribe_send_failed": "We could not send the message just now. Try again in a few "
        "minutes, or call the hotline {hotline}.",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_confirm_title": "Unsubscribe from {channel} notices?",
        "unsubscribe_confirm_text": "This address will get no more {channel} notices about "
        "planned water and gas shutoffs in your area.",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribe_keep": "If you do nothing, you keep receiving notices.",
        "unsubscribe_done_title": "You are unsubscribed",
        "unsubscribe_done_text": "This address will get no more {channel} notices about planned "
        "water and gas work.",
        "unsubscribe_done_note": "Planned work is still announced on this website. Changed "
        "your mind? Sign up again, or call the hotline {hotline}.",
        "unsubscribe_invalid_title": "This link is not valid",
        "unsubscribe_invalid_text": "The unsubscribe link is incomplete or has been altered. "
        "Open it again from the email, or call the hotline {hotline}.",
        "current_outages": "Current outages",
    },
    "zh-CN": {
        "channel_email": "邮件",
        "channel_sms": "短信",
        "subscribe_link": "通过短信或邮件接收停水停气通知",
        "subscribe_link_area": "通过短信或邮件接收这些区域的通知",
        "subscribe_title": "订阅停水停气通知",
        "subscribe_intro": "任何人都可以订阅，无论是否为供水、供气用户：您所选区域有计划停水、"
        "停气时，我们会提前通知您，计划变更时也会再次通知。",
        "subscribe_areas": "订阅区域",
        "subscribe_areas_hint": "可选择一个或多个区域。",
        "subscribe_how": "通知方式",
        "subscribe_by_email": "电子邮件",
        "subscribe_by_sms": "短信",
        "subscribe_email": "电子邮件地址",
        "subscribe_phone": "手机号码",
        "subscribe_phone_hint": "请填写本人手机号码，例如 138 0013 8000。",
        "subscribe_language": "通知语言",
        "subscribe_consent": "您的联系方式仅用于发送这些通知。邮件订阅需点击我们发送的确认链接；"
        "短信订阅需输入我们发送的验证码。每条通知都会说明如何退订。",
        "subscribe_submit": "订阅",
        "subscribe_problems": "请检查以下内容：",
        "subscribe_no_areas": "请至少选择一个区域。",
        "subscribe_unknown_area": "没有区域 {code}。",
        "subscribe_no_channel": "请选择邮件或短信。",
        "subscribe_bad_language": "请从列表中选择语言。",
        "subscribe_bad_email": "请输入有效的电子邮件地址，例如 name@example.com。",
        "subscribe_bad_phone": "请输入可接收短信的手机号码，例如 138 0013 8000 或 "
        "+86 138 0013 8000。",
        "subscribe_check_inbox_title": "请查收邮件",
        "subscribe_check_inbox": "我们已向 {address} 发送确认链接，请在{days}天内打开链接完成确认；"
        "确认前不会向您发送通知。",
        "subscribe_email_was_off": "该地址之前已退订。确认后将恢复接收邮件通知。",
        "subscribe_code_title": "输入验证码",
        "subscribe_code_sent": "我们已向 {address} 发送6位验证码，请在{minutes}分钟内在此输入，"
        "或直接回复短信 YES。",
        "subscribe_code": "验证码",
        "subscribe_confirm_button": "确认",
        "subscribe_code_format": "请输入6位数字验证码。",
        "subscribe_code_wrong": "验证码不正确，还可以尝试{left}次。",
        "subscribe_code_expired": "验证码已过期，请重新订阅以获取新验证码。",
        "subscribe_code_spent": "错误次数过多，请重新订阅以获取新验证码。",
        "subscribe_code_none": "该号码没有待确认的订阅，请重新订阅。",
        "subscribe_sms_off_title": "回复 YES 恢复接收短信",
        "subscribe_sms_off": "{address} 之前已退订我们的短信，因此无法向其发送验证码。请在{minutes}"
        "分钟内用该号码发送 YES（或 START）到 {number}：即可恢复接收短信并确认订阅。",
        "subscribe_our_number": "发送通知的号码",
        "subscribe_already": "{address} 已订阅这些区域的通知。",
        "subscribe_done_title": "订阅成功",
        "subscribe_done": "{address} 将收到以下区域的计划停水停气通知：{areas}。",
        "subscribe_stop_email": "每封邮件中都有退订链接。",
        "subscribe_stop_sms": "回复 TD（或 STOP）即可退订。",
        "subscribe_confirm_title": "确认订阅",
        "subscribe_confirm_text": "为 {address} 开通以下区域的停水停气邮件通知：{areas}？",
        "subscribe_link_bad_title": "链接无效",
        "subscribe_link_bad": "此链接不完整、已过期或已被新的链接取代。请重新订阅以获取新链接。",
        "subscribe_again": "重新订阅",
        "subscribe_csrf_title": "表单已过期",
        "subscribe_csrf": "请刷新页面后重新提交。此页面需要使用 Cookie，用于确认表单来自本网站。",
        "subscribe_slow_down_title": "尝试次数过多",
        "subscribe_slow_down": "您所在网络提交次数过多，请在{seconds}秒后重试。",
        "subscribe_wait": "我们刚刚（一分钟内）已向 {address} 发送过消息。请查收，或在{seconds}秒后"
        "重试。",
        "subscribe_send_failed_title": "发送失败",
        "subscribe_send_failed": "暂时无法发送消息。请几分钟后重试，或拨打服务热线 {hotline}。",
        "unsubscribe_title": "退订",
        "unsubscribe_confirm_title": "确认退订{channel}通知？",
        "unsubscribe_confirm_text": "退订后，该地址将不再收到您所在区域计划停水、停气的{channel}"
        "通知。",
        "unsubscribe_button": "确认退订",
        "unsubscribe_keep": "如不退订，无需任何操作，您将继续收到通知。",
        "unsubscribe_done_title": "您已退订",
        "unsubscribe_done_text": "该地址将不再收到计划停水、停气的{channel}通知。",
        "unsubscribe_done_note": "计划施工信息仍会在本网站公布。如需恢复接收，可重新订阅，或拨打"
        "服务热线 {hotline}。",
        "unsubscribe_invalid_title": "链接无效",
        "unsubscribe_invalid_text": "此退订链接不完整或已被修改。请从邮件中重新打开，"
        "或拨打服务热线 {hotline}。",
        "current_outages": "当前停水停气信息",
    },
}
