"""Clinic branding: a clinic file with name, address, phone numbers, logo and its own
"when to call" words. Assets are loaded only from the folder the clinic file is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from booklet.errors import BookletError
from booklet.profile import Invalid, clean_text

LOGO_TYPES = {".png", ".jpg", ".jpeg", ".svg"}


class Phones(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: str = ""
    after_hours: str = ""


class ClinicFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    address: str = ""
    phones: Phones = Phones()
    logo: str = ""
    logo_alt: str = ""
    when_to_call: str = ""

    @field_validator("name", "address", "logo_alt")
    @classmethod
    def _short(cls, value: str) -> str:
        try:
            return clean_text(value)
        except Invalid as exc:
            raise ValueError(str(exc)) from None

    @field_validator("when_to_call")
    @classmethod
    def _long(cls, value: str) -> str:
        try:
            return clean_text(value, limit=600)
        except Invalid as exc:
            raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class Clinic:
    name: str
    address: str
    day_phone: str
    after_hours_phone: str
    logo: Path | None
    logo_alt: str
    when_to_call: str
    folder: Path


def load(path: Path) -> Clinic:
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BookletError(f"option '--clinic': {path}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BookletError(f"option '--clinic': {path}: cannot read ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise BookletError(f"{path}: expected a mapping with name, address, phones, logo, logo_alt, when_to_call")
    try:
        model = ClinicFile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}: field '{'.'.join(map(str, e['loc']))}': {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors()]
        raise BookletError(problems) from None
    folder = path.resolve().parent
    logo = None
    if model.logo:
        logo = (folder / model.logo).resolve()
        if not logo.is_relative_to(folder):
            raise BookletError(f"{path}: field 'logo': '{model.logo}' is outside the clinic file's folder")
        if logo.suffix.lower() not in LOGO_TYPES or not logo.is_file():
            raise BookletError(f"{path}: field 'logo': '{model.logo}' is not a .png, .jpg or .svg file "
                               "in the clinic file's folder")
        if not model.logo_alt:
            raise BookletError(f"{path}: field 'logo_alt': a logo needs a text alternative")
    return Clinic(model.name, model.address, model.phones.day, model.phones.after_hours, logo,
                  model.logo_alt, model.when_to_call, folder)
