"""The words of the sign-in pages in Turkish and English (staff read them)."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "tr": {
        "title": "Giriş",
        "username": "Kullanıcı adı",
        "password": "Şifre",
        "code": "Doğrulama kodu (açıksa)",
        "submit": "Giriş yap",
        "failed": "Kullanıcı adı, şifre veya kod hatalı ya da hesap geçici olarak kilitli.",
        "signed_in_as": "Giriş yapan",
        "role": "Rol",
        "logout": "Çıkış yap",
        "owner": "Sahip",
        "manager": "Yönetici",
        "receptionist": "Resepsiyon",
        "staff": "Personel",
    },
    "en": {
        "title": "Sign in",
        "username": "Username",
        "password": "Password",
        "code": "Verification code (if turned on)",
        "submit": "Sign in",
        "failed": "Wrong username, password or code, or the account is temporarily locked.",
        "signed_in_as": "Signed in as",
        "role": "Role",
        "logout": "Sign out",
        "owner": "Owner",
        "manager": "Manager",
        "receptionist": "Receptionist",
        "staff": "Staff",
    },
}


def texts(lang: str) -> dict[str, Any]:
    return TEXTS[lang]
