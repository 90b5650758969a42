"""Governed picklists that ship with revcast (value, English label, Chinese label).

Loaded by a data migration; admins extend or deactivate values afterwards. Values are stable codes.
"""

from __future__ import annotations

PICKLISTS: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "industry": (
        "Industry",
        "行业",
        [
            ("technology", "Technology", "科技"),
            ("software", "Software", "软件"),
            ("telecommunications", "Telecommunications", "电信"),
            ("medical", "Medical", "医疗"),
            ("finance", "Finance", "金融"),
            ("retail", "Retail", "零售"),
            ("marketing", "Marketing", "市场营销"),
            ("entertainment", "Entertainment", "娱乐"),
            ("services", "Services", "服务"),
            ("employment", "Employment", "人力资源"),
            ("manufacturing", "Manufacturing", "制造"),
            ("education", "Education", "教育"),
            ("energy", "Energy", "能源"),
            ("government", "Government", "政府"),
            ("logistics", "Logistics", "物流"),
            ("real_estate", "Real estate", "房地产"),
            ("other", "Other", "其他"),
        ],
    ),
    "account_size": (
        "Account size",
        "客户规模",
        [
            ("small", "Small (under 100 employees)", "小型（100 人以下）"),
            ("medium", "Medium (100-999 employees)", "中型（100-999 人）"),
            ("large", "Large (1,000-4,999 employees)", "大型（1000-4999 人）"),
            ("enterprise", "Enterprise (5,000+ employees)", "超大型（5000 人以上）"),
        ],
    ),
    "loss_reason": (
        "Loss reason",
        "输单原因",
        [
            ("price", "Price", "价格"),
            ("competitor", "Lost to competitor", "输给竞争对手"),
            ("no_budget", "No budget", "无预算"),
            ("no_decision", "No decision", "未决策"),
            ("product_fit", "Product fit", "产品不匹配"),
            ("timing", "Timing", "时机不对"),
            ("unknown", "Unknown", "未知"),
        ],
    ),
    "lead_source": (
        "Lead source",
        "线索来源",
        [
            ("website", "Website", "官网"),
            ("referral", "Referral", "转介绍"),
            ("event", "Event", "展会活动"),
            ("partner", "Partner", "合作伙伴"),
            ("outbound", "Outbound", "主动开发"),
            ("advertising", "Advertising", "广告"),
            ("other", "Other", "其他"),
        ],
    ),
}
