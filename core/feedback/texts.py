"""The words of the feedback page in Turkish and English (customers read them)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "tr": {
        "title": "Ziyaretiniz nasıldı?",
        "intro": "{service} randevunuz hakkındaki görüşünüz bizim için değerli.",
        "rating": "Puanınız (1 = hiç memnun kalmadım, 5 = çok memnun kaldım)",
        "comment": "Eklemek istedikleriniz (isteğe bağlı)",
        "submit": "Gönder",
        "thanks": "Teşekkür ederiz! Görüşünüz bize ulaştı.",
        "invalid": "Lütfen 1 ile 5 arasında bir puan seçin.",
    },
    "en": {
        "title": "How was your visit?",
        "intro": "We would value your opinion of your {service} appointment.",
        "rating": "Your rating (1 = not satisfied at all, 5 = very satisfied)",
        "comment": "Anything you would like to add (optional)",
        "submit": "Send",
        "thanks": "Thank you! We have received your feedback.",
        "invalid": "Please choose a rating from 1 to 5.",
    },
}
