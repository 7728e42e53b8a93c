"""Declarative `applies` rules: does an item fit a profile, and on what condition?

A rule maps profile fields to allowed values; all keys must match. Three fields are
"expandable": when the profile does not know them (menopause, metastatic sites,
oligometastatic), the item is included *conditionally* and the booklet labels it
("If you have been through menopause"). Every other unknown matches only a rule
that lists `unknown` itself, so nothing that depends on a missing test result is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from booklet.profile import Profile

EXPANDABLE = ("menopause", "metastases", "oligometastatic")
# keys about the point of care: a drug had before matches them at any point ("timeless")
TIMELESS_KEYS = ("setting", "phase", "line", "current_group", "not_current_group")

Condition = tuple[str, tuple[str, ...]]  # (field, allowed values)

# Rule keys about the medicines: the rule holds when any of the profile's values is allowed
# (or, for a `not_` key, when none is)
MEMBERSHIP: dict[str, tuple[Callable[[Profile], Sequence[str]], bool]] = {
    "prior": (lambda p: p.prior_therapies, True),
    "current": (lambda p: p.current_therapies, True),
    "not_current": (lambda p: p.current_therapies, False),
    # had before, and not given again now: e.g. no second CDK4/6 inhibitor
    "not_prior": (lambda p: [d for d in p.prior_therapies if d not in p.current_therapies], False),
    # `none`: no current therapy is known
    "current_group": (lambda p: p.current_groups if p.current_therapies else ("none",), True),
    "not_current_group": (lambda p: p.current_groups, False),
    "prior_group": (lambda p: p.prior_groups, True),
    "not_prior_group": (lambda p: p.prior_groups, False),
}


@dataclass(frozen=True)
class Match:
    ok: bool
    conditions: tuple[Condition, ...] = ()

    @property
    def certain(self) -> bool:
        return self.ok and not self.conditions


NO = Match(False)


def match(rule: Mapping[str, Sequence[str]], profile: Profile,
          expand: Sequence[str] = ()) -> Match:
    """`expand` names more fields that an unknown answer makes conditional instead of
    failing (biomarkers, for the medicines a test result could open)."""
    conditions: list[Condition] = []
    timeless = getattr(profile, "timeless", False)  # any point of care (a drug had before)
    for key, allowed in rule.items():
        if timeless and key in TIMELESS_KEYS:
            continue
        if key == "menopause":
            if profile.sex == "male":
                return NO  # menopause never applies to men
            value = profile.menopause
            if value in allowed:
                continue
            if value == "unknown":
                conditions.append((key, tuple(allowed)))
                continue
            return NO
        if key == "metastases":
            sites = profile.metastases
            if any(site in allowed for site in sites):
                continue
            if sites == ("unknown",):
                conditions.append((key, tuple(allowed)))
                continue
            return NO
        if key == "oligometastatic":
            if profile.oligometastatic in allowed:
                continue
            if profile.oligometastatic == "unknown":
                conditions.append((key, tuple(allowed)))
                continue
            return NO
        if key in MEMBERSHIP:
            values, wanted = MEMBERSHIP[key]
            if any(v in allowed for v in values(profile)) == wanted:
                continue
            return NO
        if key in ("prior_setting", "not_prior_setting"):
            # the settings of the medicines had: "If you had surgery first" is not for
            # someone whose record shows medicines before surgery
            plain = "metastatic" if profile.stage == "IV" else None  # a plain name's setting
            had = {profile.prior_settings.get(d, plain) for d in profile.prior_therapies}
            if any(s in had for s in allowed) == (key == "prior_setting"):
                continue
            return NO
        if key == "setting":
            if any(s in allowed for s in profile.settings):
                continue
            return NO
        if key == "phase":
            if profile.effective_phase in allowed:
                continue
            return NO
        if key == "her2" and profile.her2 == "ultralow" and "ultralow" not in allowed:
            # HER2-ultralow counts as HER2-negative unless a rule names ultralow itself
            if "negative" in allowed:
                continue
            return NO
        value = profile.value(key)
        if value in allowed:
            continue
        if key == "her2" and key in expand and value == "negative":
            # "HER2-negative" may be a score of 0, or a low or ultralow score not recorded:
            # a medicine for HER2-low cancer waits for that detail, as for a test result
            finer = tuple(v for v in allowed if v in ("low", "ultralow"))
            if finer:
                conditions.append((key, finer))
                continue
            return NO
        if key in expand and key != "her2" and value == "unknown":
            conditions.append((key, tuple(allowed)))
            continue
        return NO
    return Match(True, tuple(conditions))


def describe(rule: Mapping[str, Sequence[str]], profile: Profile, result: Match) -> str:
    """Why an item is in the plan, in words a reviewer can check."""
    if not rule:
        return "always included"
    conditional = {c[0] for c in result.conditions}
    parts = []
    timeless = getattr(profile, "timeless", False)
    for key, allowed in rule.items():
        if timeless and key in TIMELESS_KEYS:
            continue
        if key in conditional:
            parts.append(f"{key} unknown: shown for {' or '.join(allowed)}")
        elif key == "metastases":
            parts.append(f"metastases include {' or '.join(s for s in allowed if s in profile.metastases)}")
        elif key == "prior":
            had = [d for d in profile.prior_therapies if d in allowed]
            parts.append(f"has had {', '.join(had)}")
        elif key == "not_current":
            parts.append(f"does not get {' or '.join(allowed)} now")
        elif key == "not_prior":
            parts.append(f"has not had {' or '.join(allowed)}")
        elif key == "current":
            now = [d for d in profile.current_therapies if d in allowed]
            parts.append(f"gets {', '.join(now)} now")
        elif key == "prior_setting":
            parts.append(f"has had medicines {' or '.join(allowed)}")
        elif key == "not_prior_setting":
            parts.append(f"has had no medicines {' or '.join(allowed)}")
        elif key == "current_group":
            parts.append("no current therapy known" if not profile.current_therapies else
                         f"gets {' or '.join(g for g in profile.current_groups if g in allowed)} now")
        elif key == "not_current_group":
            parts.append(f"gets no {' or '.join(allowed)} now")
        elif key == "prior_group":
            parts.append(f"has had {' or '.join(g for g in profile.prior_groups if g in allowed)}")
        elif key == "not_prior_group":
            parts.append(f"has had no {' or '.join(allowed)}")
        elif key == "setting":
            parts.append(f"setting {' or '.join(s for s in profile.settings if s in allowed)}")
        elif key == "her2" and profile.her2 == "ultralow" and "ultralow" not in allowed:
            parts.append("her2 is ultralow (counts as negative)")
        else:
            parts.append(f"{key} is {profile.value(key)}")
    return "; ".join(parts)


def label(conditions: Sequence[Condition], phrases: Mapping[str, Mapping[str, str]]) -> str:
    """'If you have been through menopause and the cancer has spread to your bones'."""
    if not conditions:
        return ""
    glue = {"if": "If", "and": "and", "or": "or", **phrases.get("words", {})}
    parts = []
    for key, values in conditions:
        table = phrases.get(key, {})
        joint = table.get(",".join(values))  # a phrase for the set, e.g. "pre,peri"
        words = [joint] if joint else [table.get(v, f"{key} is {v}") for v in values]
        parts.append(f" {glue['or']} ".join(dict.fromkeys(words)))
    return f"{glue['if']} " + f" {glue['and']} ".join(parts)
