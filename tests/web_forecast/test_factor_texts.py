"""Factor sentences on the deal page: the engine's English words, or built from translated labels in Chinese."""

from __future__ import annotations

from django.utils import translation

from revcast.forecasting.engine.explain import describe
from revcast.web.forecast_labels import factor_texts

STAGE_RATE = {"feature": "stage", "value": "Engaging", "points": 1.2, "rate": 0.6962}


def test_english_uses_the_engines_words(maven):
    with translation.override("en"):
        [(text, points)] = factor_texts([{**STAGE_RATE, "text": describe(STAGE_RATE)}])
    assert text == "stage Engaging (70% won before): +1 pts" and points == 1.2


def test_chinese_names_the_stage_and_its_win_rate(maven):
    with translation.override("zh-hans"):
        [(text, points)] = factor_texts([{**STAGE_RATE, "text": describe(STAGE_RATE)}])
    assert "接洽中" in text and "此前赢单率 70 %" in text and "+1.2" in text and points == 1.2
