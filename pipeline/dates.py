"""Dates written in the text («۱۲ مرداد ۱۴۰۰», «26 بهمن 1399», «4 آبان 1401») → ISO (Gregorian) dates."""

from __future__ import annotations

import re
from datetime import date

JALALI_MONTHS = {
    "فروردین": 1, "اردیبهشت": 2, "خرداد": 3, "تیر": 4, "مرداد": 5, "امرداد": 5, "شهریور": 6,
    "مهر": 7, "آبان": 8, "آذر": 9, "دی": 10, "بهمن": 11, "اسفند": 12,
}
GREGORIAN_MONTHS = {
    "ژانویه": 1, "فوریه": 2, "مارس": 3, "آوریل": 4, "مه": 5, "می": 5, "ژوئن": 6, "ژوئیه": 7, "جولای": 7,
    "اوت": 8, "آگوست": 8, "سپتامبر": 9, "اکتبر": 10, "نوامبر": 11, "دسامبر": 12,
}
_MONTH = "|".join(sorted(JALALI_MONTHS, key=len, reverse=True))
# «۱۲ مرداد ۱۴۰۰», «26 بهمن 1399», «۲۱ اسفندماه ۱۴۰۲», «12 آذر - 1403» (digits are ASCII after normalize)
JALALI_TEXT = re.compile(rf"(?<!\d)(\d{{1,2}})\s*(?:ام)?\s*[-–]?\s*({_MONTH})(?:\s*ماه)?\s*[-–,،]?\s*(1[34]\d\d)(?!\d)")
JALALI_NUMERIC = re.compile(r"(?<!\d)(1[34]\d\d)[/\-.](\d{1,2})[/\-.](\d{1,2})(?!\d)")


def jalali_to_gregorian(jy: int, jm: int, jd: int) -> date:
    """Convert a Jalali (Solar Hijri) date; the arithmetic algorithm of the Iranian calendar (33-year rule)."""
    if not (1 <= jm <= 12 and 1 <= jd <= 31 and (jm <= 6 or jd <= 30)):
        raise ValueError(f"invalid Jalali date {jy}-{jm}-{jd}")
    jy += 1595
    days = -355668 + (365 * jy) + ((jy // 33) * 8) + (((jy % 33) + 3) // 4) + jd
    days += (jm - 1) * 31 if jm < 7 else ((jm - 7) * 30) + 186
    gy = 400 * (days // 146097)
    days %= 146097
    if days > 36524:
        days -= 1
        gy += 100 * (days // 36524)
        days %= 36524
        if days >= 365:
            days += 1
    gy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        gy += (days - 1) // 365
        days = (days - 1) % 365
    gd = days + 1
    leap = (gy % 4 == 0 and gy % 100 != 0) or gy % 400 == 0
    month_days = [0, 31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    gm = 1
    while gm <= 12 and gd > month_days[gm]:
        gd -= month_days[gm]
        gm += 1
    return date(gy, gm, gd)


def find_date(text: str) -> str:
    """ISO date of the first complete Jalali date in ``text`` (normalized), else ""."""
    candidates = []
    for m in JALALI_TEXT.finditer(text):
        candidates.append((m.start(), int(m.group(3)), JALALI_MONTHS[m.group(2)], int(m.group(1))))
    for m in JALALI_NUMERIC.finditer(text):
        candidates.append((m.start(), int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for _, y, mo, d in sorted(candidates):
        try:
            return jalali_to_gregorian(y, mo, d).isoformat()
        except ValueError:
            continue
    return ""
