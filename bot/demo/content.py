"""What the demo data says: invented reports, sessions and moderator notes in both languages.

Every text is made up for training; no real person, place detail or event is described.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoReport:
    category: str
    governorate: str
    urgency: str
    language: str
    description: str
    area: str | None = None


REPORTS: tuple[DemoReport, ...] = (
    DemoReport(
        "public_services",
        "anbar",
        "low",
        "ar",
        "انقطاع الماء عن الحي منذ أسبوعين والخزانات فارغة.",
        "الرمادي، حي الضباط",
    ),
    DemoReport(
        "public_services",
        "anbar",
        "medium",
        "en",
        "The clinic in our district has had no doctor for a month.",
    ),
    DemoReport(
        "public_services",
        "nineveh",
        "low",
        "ar",
        "الكهرباء الوطنية لا تصل أكثر من أربع ساعات في اليوم.",
        "الموصل، الجانب الأيمن",
    ),
    DemoReport(
        "public_services",
        "nineveh",
        "medium",
        "en",
        "The road to the school is flooded and children cannot reach it.",
        "Mosul, old city",
    ),
    DemoReport(
        "public_services",
        "basra",
        "low",
        "ar",
        "مياه الشرب مالحة ولا تصلح للاستعمال.",
        "أبو الخصيب",
    ),
    DemoReport(
        "public_services",
        "basra",
        "low",
        "en",
        "Rubbish has not been collected in our street for three weeks.",
    ),
    DemoReport(
        "public_services",
        "baghdad",
        "medium",
        "ar",
        "المدرسة الابتدائية بلا مقاعد كافية والصفوف مكتظة.",
        "الكرخ",
    ),
    DemoReport(
        "public_services",
        "baghdad",
        "low",
        "en",
        "Street lights have been broken for months; people are afraid at night.",
    ),
    DemoReport(
        "public_services",
        "saladin",
        "low",
        "ar",
        "المستوصف يغلق أبوابه قبل الظهر ولا يوجد صيدلي.",
        "تكريت",
    ),
    DemoReport(
        "public_services",
        "diyala",
        "medium",
        "en",
        "The water pump of the village stopped and nobody came to repair it.",
    ),
    DemoReport(
        "documentation",
        "nineveh",
        "low",
        "ar",
        "لا أستطيع استخراج البطاقة الوطنية لأن سجلاتنا فُقدت.",
        "سنجار",
    ),
    DemoReport(
        "documentation",
        "anbar",
        "medium",
        "en",
        "My children have no birth certificates since we returned to the area.",
    ),
    DemoReport(
        "documentation", "kirkuk", "low", "ar", "دائرة الأحوال تطلب مستندات لا نملكها بعد النزوح."
    ),
    DemoReport(
        "documentation",
        "baghdad",
        "low",
        "en",
        "The passport office keeps sending us away without a reason.",
    ),
    DemoReport(
        "documentation",
        "nineveh",
        "low",
        "en",
        "Returnees in our village cannot register for food rations without new papers.",
    ),
    DemoReport(
        "land_property",
        "nineveh",
        "medium",
        "ar",
        "بيتنا تسكنه عائلة أخرى منذ عودتنا ولا نعرف إلى من نلجأ.",
        "تلعفر",
    ),
    DemoReport(
        "land_property",
        "diyala",
        "low",
        "en",
        "Our farm land was taken and the boundary stones were moved.",
    ),
    DemoReport(
        "land_property",
        "saladin",
        "low",
        "ar",
        "لم نحصل على تعويض عن البيت المهدم رغم تقديم الطلب منذ سنتين.",
    ),
    DemoReport(
        "land_property", "anbar", "low", "en", "The compensation committee lost our file twice."
    ),
    DemoReport(
        "livelihoods",
        "basra",
        "low",
        "ar",
        "فقد شباب المنطقة أعمالهم بعد إغلاق المعمل ولا توجد فرص أخرى.",
    ),
    DemoReport(
        "livelihoods",
        "anbar",
        "low",
        "en",
        "Farmers cannot sell their crops because the market road is closed.",
    ),
    DemoReport(
        "livelihoods",
        "nineveh",
        "medium",
        "ar",
        "القروض الصغيرة توزع على المعارف فقط.",
        "الحمدانية",
    ),
    DemoReport(
        "livelihoods",
        "baghdad",
        "low",
        "en",
        "Daily workers were not paid for two months by the contractor.",
    ),
    DemoReport(
        "livelihoods", "dhi_qar", "low", "ar", "الجفاف قضى على المواشي ولا دعم للمربين.", "الجبايش"
    ),
    DemoReport(
        "livelihoods",
        "maysan",
        "low",
        "en",
        "Fishermen lost their income since the marshes dried up.",
    ),
    DemoReport(
        "discrimination",
        "kirkuk",
        "medium",
        "ar",
        "يُرفض توظيف أبناء حينا بسبب انتمائهم.",
        "حي الحرية",
    ),
    DemoReport(
        "discrimination",
        "nineveh",
        "medium",
        "en",
        "Families from our village are turned away at the aid distribution.",
    ),
    DemoReport(
        "discrimination", "baghdad", "low", "ar", "يعامل الموظفون النازحين بقلة احترام في الدائرة."
    ),
    DemoReport(
        "discrimination",
        "basra",
        "low",
        "en",
        "Students with disabilities are refused by the local school.",
    ),
    DemoReport(
        "security",
        "diyala",
        "urgent",
        "ar",
        "إطلاق نار ليلي متكرر قرب البساتين والأهالي خائفون.",
        "بعقوبة",
    ),
    DemoReport(
        "security",
        "nineveh",
        "medium",
        "en",
        "Unexploded objects were found near the playground.",
        "Bashiqa",
    ),
    DemoReport(
        "security", "anbar", "low", "ar", "نقطة التفتيش تؤخر المرضى ساعات عند الذهاب إلى المستشفى."
    ),
    DemoReport(
        "security",
        "kirkuk",
        "medium",
        "en",
        "A tribal dispute in the neighbourhood is getting worse every week.",
    ),
    DemoReport(
        "hate_speech", "baghdad", "medium", "ar", "صفحة محلية تنشر منشورات تحرض ضد أهالي منطقتنا."
    ),
    DemoReport(
        "hate_speech",
        "nineveh",
        "low",
        "en",
        "Posts in a local group insult returnees and call them traitors.",
    ),
    DemoReport("hate_speech", "basra", "low", "ar", "خطاب كراهية في مجموعة الحي بعد المباراة."),
    DemoReport(
        "violence_recruitment",
        "anbar",
        "urgent",
        "en",
        "Young men in the village are being approached to join an armed group.",
    ),
    DemoReport(
        "violence_recruitment",
        "nineveh",
        "medium",
        "ar",
        "شخص غريب يعرض المال على المراهقين مقابل الانضمام إلى مجموعة.",
    ),
    DemoReport("gbv", "baghdad", "urgent", "ar", "جارتنا تتعرض للضرب وتخاف أن تطلب المساعدة."),
    DemoReport("gbv", "nineveh", "medium", "en", "A girl in our camp is being forced to marry."),
    DemoReport("gbv", "basra", "medium", "ar", "تتعرض النساء للتحرش في طريق العمل كل صباح."),
    DemoReport(
        "other",
        "babil",
        "low",
        "en",
        "We would like a dialogue session about water sharing between villages.",
    ),
    DemoReport("other", "karbala", "low", "ar", "نقترح لقاءً بين الشباب والمجلس المحلي."),
    DemoReport(
        "other",
        "najaf",
        "low",
        "en",
        "The youth centre is closed; can it be reopened for activities?",
    ),
    DemoReport(
        "public_services",
        "wasit",
        "low",
        "ar",
        "الطريق بين القرية والمدينة غير معبد ويتحول إلى طين في الشتاء.",
    ),
    DemoReport(
        "public_services",
        "muthanna",
        "medium",
        "en",
        "The hospital has no ambulance and the nearest is two hours away.",
    ),
    DemoReport(
        "public_services",
        "qadisiyyah",
        "low",
        "ar",
        "شبكة الصرف الصحي تفيض في الشارع الرئيسي.",
        "الديوانية",
    ),
    DemoReport(
        "documentation",
        "erbil",
        "low",
        "en",
        "Displaced families cannot renew their residency cards.",
    ),
    DemoReport(
        "livelihoods",
        "sulaymaniyah",
        "low",
        "ar",
        "أصحاب المحلات الصغيرة لا يستطيعون دفع الإيجار بعد ارتفاعه.",
    ),
    DemoReport(
        "land_property",
        "kirkuk",
        "medium",
        "en",
        "Two families claim the same plot and threats have started.",
    ),
    DemoReport(
        "public_services",
        "anbar",
        "low",
        "ar",
        "لا يوجد معلمون لمادة الرياضيات في الثانوية.",
        "الفلوجة",
    ),
    DemoReport(
        "security",
        "saladin",
        "low",
        "en",
        "Roads are closed at night and the sick cannot reach the clinic.",
    ),
)

# Moderator notes and replies for the cases the demo moves along (staff texts).
NOTES = {
    "ar": "تواصلنا مع الدائرة المعنية وننتظر ردها.",
    "en": "Called the local office; waiting for their answer.",
}
REPLIES = {
    "ar": "شكرًا لبلاغك. نعمل عليه مع الجهة المعنية وسنعود إليك.",
    "en": "Thank you for your report. We are following it up with the office concerned.",
}
CLOSING_REASONS = {
    "ar": "تمت معالجة المشكلة بعد متابعتنا مع الجهة المسؤولة.",
    "en": "The office fixed the problem after our follow-up.",
}


@dataclass(frozen=True)
class DemoSession:
    title_ar: str
    title_en: str
    description_ar: str
    description_en: str
    governorate: str
    venue: str
    venue_en: str
    days_from_now: int  # negative: held in the past
    capacity: int
    publish: bool


SESSIONS: tuple[DemoSession, ...] = (
    DemoSession(
        "حوار حول المياه في الرمادي",
        "Dialogue on water in Ramadi",
        "لقاء بين الأهالي ودائرة الماء حول انقطاع المياه.",
        "Residents and the water office talk about the cuts.",
        "anbar",
        "قاعة المجلس البلدي، الرمادي",
        "Municipal council hall, Ramadi",
        -5,
        30,
        True,
    ),
    DemoSession(
        "عودة النازحين إلى سنجار",
        "Returning home to Sinjar",
        "ما يحتاجه العائدون من وثائق وخدمات.",
        "What returnees need: papers and services.",
        "nineveh",
        "مركز الشباب، الموصل",
        "Youth centre, Mosul",
        6,
        25,
        True,
    ),
    DemoSession(
        "الشباب والمجلس المحلي",
        "Young people and the local council",
        "جلسة للاستماع إلى مقترحات الشباب.",
        "A session to hear young people's proposals.",
        "baghdad",
        "المكتبة المركزية، الكرخ",
        "Central library, Karkh",
        14,
        40,
        False,
    ),
)
