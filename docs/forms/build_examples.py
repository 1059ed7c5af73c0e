"""Build the two example XLSForms shipped with Hiwar (run: `python docs/forms/build_examples.py`).

- `community_needs_assessment.xlsx`: 14 questions with skip logic (`relevant`), constraints
  with bilingual `constraint_message`, every type Hiwar supports.
- `post_session_feedback.xlsx`: a short feedback form for after a dialogue session.

Both are bilingual (`label::English (en)`, `label::Arabic (ar)`) and open in Excel,
LibreOffice, KoboToolbox and ODK Build as ordinary XLSForms.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
EN, AR = "English (en)", "Arabic (ar)"
SURVEY_COLUMNS = [
    "type",
    "name",
    f"label::{EN}",
    f"label::{AR}",
    f"hint::{EN}",
    f"hint::{AR}",
    "required",
    "relevant",
    "constraint",
    f"constraint_message::{EN}",
    f"constraint_message::{AR}",
]
CHOICE_COLUMNS = ["list_name", "name", f"label::{EN}", f"label::{AR}"]

YES_NO = [("yn", "yes", "Yes", "نعم"), ("yn", "no", "No", "لا")]

NEEDS_SURVEY = [
    [
        "note",
        "intro",
        "This short survey asks about the needs of your community. It takes about "
        "five minutes. Your answers are anonymous in every report.",
        "يسأل هذا الاستبيان القصير عن احتياجات مجتمعك، ويستغرق نحو خمس دقائق. "
        "إجاباتك مجهولة الهوية في جميع التقارير.",
    ],
    [
        "select_one yn",
        "displaced",
        "Has your household been displaced in the last five years?",
        "هل نزحت أسرتك خلال السنوات الخمس الماضية؟",
        "",
        "",
        "yes",
    ],
    [
        "select_one yn",
        "returned",
        "Have you returned to your area of origin?",
        "هل عدتم إلى مناطقكم الأصلية؟",
        "",
        "",
        "yes",
        "${displaced} = 'yes'",
    ],
    [
        "integer",
        "household_size",
        "How many people live in your household?",
        "كم عدد أفراد أسرتك الذين يعيشون معك؟",
        "Count yourself too.",
        "احسب نفسك أيضًا.",
        "yes",
        "",
        ". >= 1 and . <= 30",
        "Please enter a number from 1 to 30.",
        "يرجى إدخال رقم من ١ إلى ٣٠.",
    ],
    [
        "integer",
        "children",
        "How many of them are under 18?",
        "كم منهم دون سن الثامنة عشرة؟",
        "",
        "",
        "yes",
        "${household_size} > 1",
        ". >= 0 and . < ${household_size}",
        "This must be less than the size of the household.",
        "يجب أن يكون أقل من عدد أفراد الأسرة.",
    ],
    [
        "select_multiple needs",
        "priority_needs",
        "What are your community's most urgent needs?",
        "ما أكثر احتياجات مجتمعك إلحاحًا؟",
        "Choose up to three.",
        "اختر ثلاثة على الأكثر.",
        "yes",
        "",
        "count-selected(.) <= 3",
        "Please choose no more than three.",
        "يرجى اختيار ثلاثة احتياجات على الأكثر.",
    ],
    [
        "text",
        "needs_other",
        "Which other need?",
        "ما الاحتياج الآخر؟",
        "",
        "",
        "yes",
        "selected(${priority_needs}, 'other')",
        "string-length(.) <= 200",
        "Please keep it under 200 characters.",
        "يرجى ألا يتجاوز ٢٠٠ حرف.",
    ],
    [
        "select_one access",
        "water_access",
        "How often do you have running water?",
        "كم مرة تتوفر لديكم مياه الإسالة؟",
        "",
        "",
        "yes",
        "selected(${priority_needs}, 'water')",
    ],
    [
        "select_one rating",
        "services_rating",
        "How would you rate public services in your area?",
        "كيف تقيّم الخدمات العامة في منطقتك؟",
        "",
        "",
        "yes",
    ],
    [
        "select_one yn",
        "feel_safe",
        "Do you feel safe in your neighbourhood?",
        "هل تشعر بالأمان في حيّك؟",
        "",
        "",
        "yes",
    ],
    [
        "select_multiple concerns",
        "safety_concerns",
        "What makes you feel unsafe?",
        "ما الذي يجعلك تشعر بعدم الأمان؟",
        "Choose all that apply.",
        "اختر كل ما ينطبق.",
        "yes",
        "${feel_safe} = 'no'",
    ],
    [
        "select_one yn",
        "dialogue_interest",
        "Would you take part in a community dialogue session?",
        "هل ترغب في المشاركة في جلسة حوار مجتمعي؟",
        "",
        "",
        "yes",
    ],
    [
        "date",
        "last_meeting",
        "When did you last attend a community meeting?",
        "متى حضرت آخر اجتماع مجتمعي؟",
        "For example 2025-03-21 or 21/3/2025.",
        "مثلًا 2025-03-21 أو 21/3/2025.",
        "no",
        "${dialogue_interest} = 'yes'",
        ". <= today()",
        "The date cannot be in the future.",
        "لا يمكن أن يكون التاريخ في المستقبل.",
    ],
    [
        "decimal",
        "income",
        "Roughly, what is your household's monthly income (thousand IQD)?",
        "ما الدخل الشهري التقريبي لأسرتك (بآلاف الدنانير)؟",
        "Optional.",
        "اختياري.",
        "no",
        "",
        ". >= 0 and . < 100000",
        "Please enter a positive amount.",
        "يرجى إدخال مبلغ موجب.",
    ],
    [
        "text",
        "comments",
        "Anything else you would like the organisers to know?",
        "هل هناك أي شيء آخر تود أن يعرفه المنظمون؟",
        "",
        "",
        "no",
        "",
        "string-length(.) <= 500",
        "Please keep it under 500 characters.",
        "يرجى ألا يتجاوز ٥٠٠ حرف.",
    ],
    [
        "note",
        "thanks",
        "Thank you. Press Next to review and submit.",
        "شكرًا لك. اضغط «التالي» للمراجعة والإرسال.",
    ],
]

NEEDS_CHOICES = [
    *YES_NO,
    ("needs", "water", "Clean water", "المياه النظيفة"),
    ("needs", "electricity", "Electricity", "الكهرباء"),
    ("needs", "health", "Health care", "الرعاية الصحية"),
    ("needs", "education", "Education", "التعليم"),
    ("needs", "jobs", "Jobs and income", "فرص العمل والدخل"),
    ("needs", "housing", "Housing", "السكن"),
    ("needs", "documents", "Civil documents", "الوثائق المدنية"),
    ("needs", "other", "Something else", "شيء آخر"),
    ("access", "daily", "Every day", "كل يوم"),
    ("access", "few_days", "A few days a week", "بضعة أيام في الأسبوع"),
    ("access", "weekly", "About once a week", "مرة في الأسبوع تقريبًا"),
    ("access", "rarely", "Rarely or never", "نادرًا أو أبدًا"),
    ("rating", "very_poor", "Very poor", "سيئة جدًا"),
    ("rating", "poor", "Poor", "سيئة"),
    ("rating", "fair", "Fair", "مقبولة"),
    ("rating", "good", "Good", "جيدة"),
    ("rating", "very_good", "Very good", "جيدة جدًا"),
    ("concerns", "armed_groups", "Armed groups", "الجماعات المسلحة"),
    ("concerns", "crime", "Crime", "الجريمة"),
    ("concerns", "tension", "Tension between communities", "التوتر بين المكونات"),
    ("concerns", "explosives", "Explosive remnants", "مخلفات المتفجرات"),
    ("concerns", "harassment", "Harassment", "التحرش"),
    ("concerns", "other", "Something else", "شيء آخر"),
]

FEEDBACK_SURVEY = [
    [
        "select_one stars",
        "rating",
        "How would you rate the session overall?",
        "كيف تقيّم الجلسة بشكل عام؟",
        "1 is poor, 5 is excellent.",
        "١ ضعيفة، ٥ ممتازة.",
        "yes",
    ],
    [
        "select_one yn",
        "useful",
        "Was the session useful to you?",
        "هل كانت الجلسة مفيدة لك؟",
        "",
        "",
        "yes",
    ],
    [
        "text",
        "improve",
        "What should we improve?",
        "ما الذي يجب أن نحسّنه؟",
        "",
        "",
        "no",
        "${rating} <= 2",
        "string-length(.) <= 500",
        "Please keep it under 500 characters.",
        "يرجى ألا يتجاوز ٥٠٠ حرف.",
    ],
    [
        "select_one yn",
        "recommend",
        "Would you recommend these sessions to a friend?",
        "هل تنصح صديقًا بحضور هذه الجلسات؟",
        "",
        "",
        "yes",
    ],
    [
        "text",
        "learned",
        "What is one thing you will take away?",
        "ما الشيء الذي ستأخذه معك؟",
        "",
        "",
        "no",
        "",
        "string-length(.) <= 500",
        "Please keep it under 500 characters.",
        "يرجى ألا يتجاوز ٥٠٠ حرف.",
    ],
]

FEEDBACK_CHOICES = [
    *[("stars", str(n), f"{n} ⭐", f"{n} ⭐") for n in range(1, 6)],
    *YES_NO,
]


def write_form(
    path: Path,
    survey: list[list[str]],
    choices: list[tuple[str, str, str, str]],
    *,
    form_id: str,
    title_en: str,
    title_ar: str,
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(SURVEY_COLUMNS)
    for row in survey:
        sheet.append(row)
    choice_sheet = workbook.create_sheet("choices")
    choice_sheet.append(CHOICE_COLUMNS)
    for choice in choices:
        choice_sheet.append(list(choice))
    settings = workbook.create_sheet("settings")
    settings.append(["form_title", f"form_title::{AR}", "form_id", "version", "default_language"])
    settings.append([title_en, title_ar, form_id, "2025030101", EN])
    workbook.save(path)


def main() -> None:
    write_form(
        HERE / "community_needs_assessment.xlsx",
        NEEDS_SURVEY,
        NEEDS_CHOICES,
        form_id="community_needs",
        title_en="Community needs assessment",
        title_ar="تقييم احتياجات المجتمع",
    )
    write_form(
        HERE / "post_session_feedback.xlsx",
        FEEDBACK_SURVEY,
        FEEDBACK_CHOICES,
        form_id="session_feedback",
        title_en="Post-session feedback",
        title_ar="استبيان ما بعد الجلسة",
    )


if __name__ == "__main__":
    main()
