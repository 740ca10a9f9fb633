"""A generated organisation for the matching benchmark: a people file as HR would export it.

Realistic on the points that make matching hard: offices in 17 zones on five continents
(weighted like a large multinational, most people in London, New York and Bengaluru), ten
departments, a management tree from a CEO down (people mostly report to someone in their own
department and office), juniors who mentor and seniors who are mentored, middle managers listed
only for the chain, Zipf-distributed topic tags, local languages beside English (a few people
speak only theirs), a quarter with their own hours or days, some with two places, a few
opt-outs and avoid lists. Seeded: the same size always gives the same organisation.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

OFFICES = {  # zone: (weight, local language)
    "Europe/London": (14, None),
    "America/New_York": (12, None),
    "Asia/Kolkata": (12, "Hindi"),
    "Europe/Berlin": (7, "German"),
    "America/Los_Angeles": (6, None),
    "Asia/Singapore": (6, "Mandarin"),
    "Europe/Paris": (5, "French"),
    "America/Chicago": (5, None),
    "America/Sao_Paulo": (5, "Portuguese"),
    "Asia/Tokyo": (5, "Japanese"),
    "Australia/Sydney": (5, None),
    "Europe/Madrid": (4, "Spanish"),
    "Europe/Warsaw": (4, "Polish"),
    "America/Toronto": (3, "French"),
    "America/Mexico_City": (3, "Spanish"),
    "Asia/Dubai": (2, "Arabic"),
    "Africa/Johannesburg": (2, None),
}
DEPARTMENTS = (
    "Finance", "Marketing", "Sales", "Engineering", "Operations",
    "HR", "Legal", "Product", "Customer Service", "Data",
)  # fmt: skip
TOPICS = (
    "AI tools", "social media", "short video", "remote work", "data visualisation",
    "low-code automation", "cyber security", "mobile apps", "gaming", "sustainability",
    "personal brand", "feedback culture", "career paths", "recruiting", "async teamwork",
    "wellbeing", "podcasts", "crypto", "creator economy", "accessibility",
)  # fmt: skip
WINDOWS = (  # (weight, days, hours): blank cells take the cohort's Mon-Fri 09:00-17:00
    (70, "", ""),
    (12, "", "08:00-16:00"),
    (10, "", "10:00-18:00"),
    (8, "Mon-Thu", ""),
)
COLUMNS = (
    "email", "name", "role", "timezone", "days", "hours", "topics", "department",
    "manager_email", "languages", "capacity", "opt_out", "avoid", "seniority",
)  # fmt: skip


@dataclass
class Employee:
    email: str
    level: int  # 1-2 junior (mentors), 3-4 middle (chain only), 5-8 senior (mentees)
    department: str
    zone: str
    manager: str | None = None
    cells: dict[str, str] = field(default_factory=dict)


def organisation(size: int, seed: int = 13) -> list[Employee]:
    """``size`` people: a CEO, and a tree below in which managers are one or two levels up."""
    rng = random.Random(seed * 100_003 + size)
    zones = list(OFFICES)
    weights = [OFFICES[z][0] for z in zones]
    ceo = Employee("ceo@org.example", 8, "Executive", "Europe/London")
    people = [ceo]
    levels = rng.choices([7, 6, 5, 4, 3, 2, 1], weights=[3, 8, 19, 12, 13, 22, 23], k=size - 1)
    by_level: dict[tuple[int, str], list[Employee]] = {}
    for number, level in enumerate(sorted(levels, reverse=True), start=1):
        department = rng.choice(DEPARTMENTS)
        zone = rng.choices(zones, weights=weights)[0]
        person = Employee(f"p{number:05d}@org.example", level, department, zone)
        bosses = [
            b
            for up in (1, 2)
            for b in by_level.get((level + up, department), ())
            if up == 1 or not by_level.get((level + 1, department))
        ]
        local = [b for b in bosses if b.zone == zone]
        pool = local if local and rng.random() < 0.7 else bosses
        person.manager = rng.choice(pool).email if pool else ceo.email
        by_level.setdefault((level, department), []).append(person)
        people.append(person)
    for person in people:
        person.cells = _cells(person, rng, people)
    return people


def _cells(person: Employee, rng: random.Random, people: list[Employee]) -> dict[str, str]:
    if person.level >= 5:  # seniors sign up to be mentored more often than juniors to mentor
        role = "mentee" if rng.random() < 0.85 else "none"
    elif person.level <= 2:
        role = "mentor" if rng.random() < 0.55 else "none"
    else:
        role = "none"
    cells = {"email": person.email, "role": role, "manager_email": person.manager or ""}
    if role == "none":
        return cells
    topic_weights = [1 / (rank + 1) for rank in range(len(TOPICS))]  # Zipf
    count = rng.randint(2, 4) if role == "mentor" else rng.randint(1, 3)
    topics = sorted(set(rng.choices(TOPICS, weights=topic_weights, k=count)))
    local = OFFICES[person.zone][1]
    languages = ["English"]
    if local and rng.random() < 0.8:
        languages = [local] if rng.random() < 0.1 else ["English", local]
    _, days, hours = rng.choices(WINDOWS, weights=[w[0] for w in WINDOWS])[0]
    places = 2 if rng.random() < (0.15 if role == "mentor" else 0.05) else 1
    avoid = rng.choice(people).email if rng.random() < 0.02 else ""
    cells.update(
        name=f"Person {person.email[1:6]}",
        timezone=person.zone,
        days=days,
        hours=hours,
        topics="; ".join(topics),
        department=person.department,
        languages="; ".join(languages),
        capacity=str(places) if places > 1 else "",
        opt_out="yes" if rng.random() < 0.03 else "",
        avoid=avoid if avoid != person.email else "",
        seniority=str(person.level),
    )
    return cells


def write_people(people: list[Employee], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for person in people:
            writer.writerow([person.cells.get(column, "") for column in COLUMNS])
