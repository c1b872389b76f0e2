"""A deterministic corpus of realistic support mail for the benchmarks.

``generate(count, seed=...)`` returns the same bytes for the same arguments on every machine:
all randomness comes from one ``random.Random(seed)``, dates count up from a fixed instant and
nothing reads the clock. About 70 % of the mails open a new thread and 30 % answer an earlier
mail of the same thread (``In-Reply-To`` the parent, ``References`` the chain up to it, subject
``Re: …``, same customer). The mix is what a helpdesk sees: plain text from Thunderbird, mutt
and phones, multipart/alternative with HTML from Outlook, Gmail and Apple Mail, about one in
ten with a small attachment, names and subjects in German, French, Japanese, Spanish, Polish,
Swedish, Russian and Chinese as RFC 2047 encoded words, bodies in UTF-8, ISO-8859-x,
ISO-2022-JP and KOI8-R as 8bit, quoted-printable or base64, and about one in twenty with a
body line longer than 1,000 characters (a long tracking URL, sent unfolded as real MTAs do).

Lines end in CRLF, as on the wire. Stdlib only.

    python -m bench.corpus OUTDIR [--count 1000] [--seed 1] [--mbox FILE]
"""

from __future__ import annotations

import argparse
import base64
import html
import quopri
import random
import textwrap
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr, parsedate_to_datetime
from pathlib import Path
from typing import TypeVar

__all__ = [
    "CorpusMail",
    "generate",
    "replies_before_parent",
    "shuffled",
    "summarize",
    "write_eml_dir",
    "write_mbox",
]

REPLY_RATIO = 0.30
ATTACHMENT_RATIO = 0.10
LONG_LINE_RATIO = 0.05
LONG_LINE_MIN = 1_000  # a "long line" is longer than this many bytes (RFC 5321 limit incl. CRLF)

START = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # Monday morning; no clock is ever read
CRLF = "\r\n"


@dataclass(frozen=True, slots=True)
class CorpusMail:
    """One mail of the corpus; ``raw`` is the message exactly as it is sent (CRLF lines)."""

    index: int
    thread: int
    parent_index: int | None
    message_id: str  # with angle brackets, as in the header: "<…@…>"
    mail_from: str  # envelope sender (the customer's address)
    raw: bytes

    @property
    def is_reply(self) -> bool:
        return self.parent_index is not None


# --------------------------------------------------------------------------------------------
# Languages: what customers write, in which charsets and from which time zones.


@dataclass(frozen=True)
class _Lang:
    code: str  # Content-Language
    weight: int
    charsets: tuple[tuple[str, int], ...]  # preferred charset and its weight; UTF-8 is fallback
    tz_hours: tuple[float, ...]
    domains: tuple[str, ...]
    names: tuple[tuple[str, str], ...]  # display name, ASCII local part
    subjects: tuple[str, ...]
    greetings: tuple[str, ...]
    sentences: tuple[str, ...]
    replies: tuple[str, ...]
    closings: tuple[str, ...]
    attribution: str  # {date} {name} {addr}
    link_intro: str
    files: tuple[tuple[str, str], ...]  # file name ({n} = a number), content type
    wrap: bool = True  # False: one sentence per line (no spaces to wrap at)


_EN = _Lang(
    code="en-US",
    weight=40,
    charsets=(("us-ascii", 1),),
    tz_hours=(-8, -5, 0, 1, 10),
    domains=(
        "mailhost.example",
        "northwind-traders.example",
        "brightmail.example",
        "contoso-ltd.example",
        "fabrikam.example",
    ),
    names=(
        ("Sarah Miller", "sarah.miller"),
        ("James O'Brien", "jobrien"),
        ("Priya Patel", "priya.patel"),
        ("Michael Chen", "mchen"),
        ("Emily Johnson", "emily.j"),
        ("David Thompson", "dthompson"),
        ("Olivia Brown", "olivia.brown"),
        ("Daniel Wilson", "dan.wilson"),
        ("Grace Kim", "grace.kim"),
        ("Thomas Wright", "t.wright"),
        ("Wright, Thomas", "thomas.wright"),
    ),
    subjects=(
        "Cannot log in to my account",
        "Invoice {n} shows the wrong amount",
        "Order #{n} has not arrived yet",
        "Password reset link has expired",
        "Question about upgrading our plan",
        "App crashes when exporting to PDF",
        "Refund request for order {n}",
        "VPN keeps disconnecting every few minutes",
        "How do I add a new user to our team?",
        "Two-factor codes not arriving by SMS",
        "Charged twice this month",
        "Shipping address needs to be changed before dispatch of order {n}",
        "URGENT: checkout page returns error 500",
    ),
    greetings=("Hello,", "Hi there,", "Dear Support Team,", "Hi,", "Good morning,"),
    sentences=(
        "Since this morning I have not been able to log in; the page just reloads after I "
        "enter my password.",
        "I was charged twice for order {n}, once on Monday and once again yesterday.",
        "The tracking page still says the parcel is in transit, but it has been more than ten "
        "days now.",
        "We upgraded to the business plan last week and the new seats do not show up in the "
        "admin panel.",
        "When I try to export the monthly report the application closes without any error message.",
        "I have already cleared the browser cache and tried another browser, with the same result.",
        "Could you please tell me what the next steps are and how long this will take?",
        "Our accounting department needs a corrected invoice with our VAT number on it.",
        "The reset link in your e-mail says that it has expired, even when I click it right away.",
        "This is blocking our whole team, so a quick answer would be very much appreciated.",
        "My customer number is {n}.",
        "I can send screenshots if that helps.",
    ),
    replies=(
        "Thanks for the quick reply.",
        "Unfortunately the problem is still there after trying your suggestion.",
        "I tried again this morning and it works now, thank you!",
        "Any update on this? I have not heard back since my last mail.",
        "Here is the additional information you asked for: the order was placed from our "
        "company account, not my private one.",
        "Could you please escalate this? We are running out of time.",
    ),
    closings=("Best regards,", "Thanks,", "Kind regards,", "Cheers,", "Many thanks in advance,"),
    attribution="On {date}, {name} <{addr}> wrote:",
    link_intro="This is the link from your notification e-mail that gives me the error:",
    files=(
        ("screenshot.png", "image/png"),
        ("invoice-{n}.pdf", "application/pdf"),
        ("error-log.zip", "application/zip"),
    ),
)

_DE = _Lang(
    code="de-DE",
    weight=15,
    charsets=(("utf-8", 3), ("iso-8859-1", 2)),
    tz_hours=(1,),
    domains=(
        "posteo-mail.example",
        "mueller-haustechnik.example",
        "stadtwerke-nord.example",
        "web-post.example",
    ),
    names=(
        ("Jürgen Müller", "juergen.mueller"),
        ("Anja Weiß", "anja.weiss"),
        ("Sören Bäcker", "soeren.baecker"),
        ("Katrin Schröder", "k.schroeder"),
        ("Günther Groß", "guenther.gross"),
        ("Lena Hoffmann", "lena.hoffmann"),
        ("Maximilian Schäfer", "m.schaefer"),
        ("Jörg Krüger", "joerg.krueger"),
        ("Müller, Ulrike", "ulrike.mueller"),
    ),
    subjects=(
        "Rechnung {n}: falscher Betrag",
        "Lieferung verspätet – Bestellung {n}",
        "Passwort zurücksetzen funktioniert nicht",
        "Zugang nach Update gesperrt",
        "Frage zur Kündigung meines Vertrags",
        "Drucker im 2. Stock druckt nicht mehr",
        "Rückerstattung für Auftrag {n}",
        "Fehlermeldung beim Hochladen von Dateien über 10 MB im Kundenportal",
    ),
    greetings=("Hallo,", "Sehr geehrte Damen und Herren,", "Guten Tag,", "Liebes Support-Team,"),
    sentences=(
        "Seit heute Morgen kann ich mich nicht mehr in mein Kundenkonto einloggen.",
        "Die Rechnung {n} weist einen Betrag aus, der nicht mit unserem Angebot übereinstimmt.",
        "Laut Sendungsverfolgung ist das Paket seit über einer Woche unterwegs.",
        "Beim Hochladen größerer Dateien erscheint nur die Meldung „Unbekannter Fehler“.",
        "Ich habe den Browser-Cache bereits gelöscht und einen anderen Browser ausprobiert.",
        "Könnten Sie mir bitte mitteilen, wie es jetzt weitergeht?",
        "Unsere Buchhaltung benötigt eine korrigierte Rechnung mit unserer USt-IdNr.",
        "Das Problem betrifft inzwischen die gesamte Abteilung, daher wäre eine schnelle "
        "Rückmeldung sehr hilfreich.",
        "Meine Kundennummer lautet {n}.",
    ),
    replies=(
        "Vielen Dank für die schnelle Antwort.",
        "Leider besteht das Problem weiterhin, auch nach einem Neustart.",
        "Es funktioniert jetzt wieder, herzlichen Dank!",
        "Gibt es hierzu schon einen neuen Stand?",
        "Anbei die gewünschten Informationen: Die Bestellung wurde über unser Firmenkonto "
        "aufgegeben.",
    ),
    closings=("Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße", "Freundliche Grüße"),
    attribution="Am {date} schrieb {name} <{addr}>:",
    link_intro="Dieser Link aus Ihrer E-Mail führt bei mir zu einer Fehlerseite:",
    files=(
        ("Bildschirmfoto.png", "image/png"),
        ("Rechnung_{n}.pdf", "application/pdf"),
        ("Schadensfoto Küche.jpg", "image/jpeg"),
    ),
)

_FR = _Lang(
    code="fr-FR",
    weight=12,
    charsets=(("utf-8", 3), ("iso-8859-15", 1)),
    tz_hours=(1,),
    domains=("laposte-mail.example", "atelier-dupont.example", "mairie-exemple.example"),
    names=(
        ("François Lefèvre", "francois.lefevre"),
        ("Hélène Dubois", "helene.dubois"),
        ("Amélie Girard", "a.girard"),
        ("Jérôme Bézier", "jerome.bezier"),
        ("Céline Moreau", "celine.moreau"),
        ("Benoît Rousseau", "benoit.rousseau"),
        ("Gaëlle Fournier", "gaelle.fournier"),
    ),
    subjects=(
        "Problème de connexion à mon compte",
        "Facture n° {n} erronée",
        "Commande {n} non reçue",
        "Demande de remboursement",
        "Impossible de réinitialiser mon mot de passe",
        "Question sur la résiliation de mon abonnement",
        "Erreur lors de l'envoi d'une pièce jointe",
    ),
    greetings=("Bonjour,", "Madame, Monsieur,", "Bonjour à toute l'équipe,"),
    sentences=(
        "Depuis ce matin, je n'arrive plus à me connecter à mon espace client.",
        "La facture n° {n} indique un montant qui ne correspond pas à notre devis.",
        "Le suivi indique que le colis est en transit depuis plus d'une semaine.",
        "J'ai déjà vidé le cache de mon navigateur et essayé avec un autre ordinateur.",
        "Pourriez-vous m'indiquer la marche à suivre ?",
        "Notre service comptable a besoin d'une facture corrigée avec notre numéro de TVA.",
        "Mon numéro client est le {n}.",
        "C'est assez urgent, car toute l'équipe est bloquée.",
    ),
    replies=(
        "Merci pour votre réponse rapide.",
        "Malheureusement, le problème persiste après avoir suivi vos indications.",
        "Tout fonctionne de nouveau, merci beaucoup !",
        "Avez-vous du nouveau concernant ma demande ?",
    ),
    closings=("Cordialement,", "Bien cordialement,", "Merci d'avance,", "Bonne journée,"),
    attribution="Le {date}, {name} <{addr}> a écrit :",
    link_intro="Le lien reçu dans votre e-mail m'affiche une page d'erreur :",
    files=(
        ("capture d'écran.png", "image/png"),
        ("facture-{n}.pdf", "application/pdf"),
    ),
)

_JA = _Lang(
    code="ja-JP",
    weight=8,
    charsets=(("iso-2022-jp", 3), ("utf-8", 2)),
    tz_hours=(9,),
    domains=("nihon-shoji.example", "mail-jp.example"),
    names=(
        ("山田 太郎", "taro.yamada"),
        ("佐藤 花子", "hanako.sato"),
        ("鈴木 一郎", "ichiro.suzuki"),
        ("高橋 美咲", "misaki.takahashi"),
        ("田中 健", "ken.tanaka"),
        ("渡辺 由美", "yumi.watanabe"),
    ),
    subjects=(
        "ログインできません",
        "請求書{n}の金額について",
        "注文番号{n}の商品がまだ届きません",
        "パスワードの再設定ができません",
        "解約手続きについての質問",
        "ファイルのアップロードでエラーが出ます。至急ご確認をお願いいたします",
    ),
    greetings=("お世話になっております。", "サポートご担当者様", "いつもお世話になっております。"),
    sentences=(
        "今朝からアカウントにログインできなくなりました。",
        "請求書{n}の金額が見積もりと異なっているようです。",
        "注文してから一週間以上経ちますが、まだ商品が届いておりません。",
        "ブラウザのキャッシュを削除し、別のブラウザでも試しましたが同じ結果でした。",
        "お手数ですが、対応方法を教えていただけますでしょうか。",
        "お客様番号は{n}です。",
        "急ぎの案件のため、早めにご回答いただけますと幸いです。",
    ),
    replies=(
        "早速のご回答ありがとうございます。",
        "ご案内の手順を試しましたが、まだ解決しておりません。",
        "無事に解決しました。ありがとうございました。",
        "その後の状況はいかがでしょうか。",
    ),
    closings=("よろしくお願いいたします。", "何卒よろしくお願い申し上げます。"),
    attribution="{date} {name} <{addr}>:",
    link_intro="メールに記載されたリンクを開くとエラーになります。",
    files=(("エラー画面.png", "image/png"), ("請求書_{n}.pdf", "application/pdf")),
    wrap=False,
)

_ES = _Lang(
    code="es-ES",
    weight=8,
    charsets=(("utf-8", 3), ("iso-8859-1", 1)),
    tz_hours=(1, -3, -6),
    domains=("correo-es.example", "talleres-martin.example"),
    names=(
        ("José García", "jose.garcia"),
        ("María Fernández", "maria.fernandez"),
        ("Álvaro Muñoz", "alvaro.munoz"),
        ("Lucía Jiménez", "lucia.jimenez"),
        ("Íñigo Peña", "inigo.pena"),
    ),
    subjects=(
        "No puedo acceder a mi cuenta",
        "Factura {n} incorrecta",
        "Pedido {n} sin entregar",
        "Solicitud de reembolso",
        "Error al subir archivos",
    ),
    greetings=("Hola,", "Buenos días,", "Estimado equipo de soporte:"),
    sentences=(
        "Desde esta mañana no puedo iniciar sesión en mi cuenta.",
        "La factura {n} muestra un importe que no coincide con nuestro presupuesto.",
        "Según el seguimiento, el paquete lleva más de una semana en tránsito.",
        "Ya he borrado la caché del navegador y he probado con otro ordenador.",
        "¿Podrían indicarme cómo proceder?",
        "Mi número de cliente es el {n}.",
    ),
    replies=(
        "Gracias por la rápida respuesta.",
        "Lamentablemente el problema continúa.",
        "Ya funciona, ¡muchas gracias!",
        "¿Hay alguna novedad sobre mi consulta?",
    ),
    closings=("Saludos,", "Un saludo,", "Atentamente,"),
    attribution="El {date}, {name} <{addr}> escribió:",
    link_intro="El enlace de su correo me lleva a una página de error:",
    files=(("captura.png", "image/png"), ("factura-{n}.pdf", "application/pdf")),
)

_PL = _Lang(
    code="pl-PL",
    weight=5,
    charsets=(("utf-8", 2), ("iso-8859-2", 1)),
    tz_hours=(1,),
    domains=("poczta-pl.example", "firma-nowak.example"),
    names=(
        ("Łukasz Wójcik", "lukasz.wojcik"),
        ("Zofia Kowalczyk", "zofia.kowalczyk"),
        ("Michał Zieliński", "michal.zielinski"),
        ("Agnieszka Wiśniewska", "a.wisniewska"),
    ),
    subjects=(
        "Problem z logowaniem",
        "Błędna faktura nr {n}",
        "Zamówienie {n} nie dotarło",
        "Prośba o zwrot pieniędzy",
    ),
    greetings=("Dzień dobry,", "Witam,"),
    sentences=(
        "Od dzisiaj rana nie mogę zalogować się na swoje konto.",
        "Faktura nr {n} zawiera błędną kwotę.",
        "Paczka jest w drodze już ponad tydzień.",
        "Wyczyściłem już pamięć podręczną przeglądarki.",
        "Proszę o informację, co dalej.",
        "Mój numer klienta to {n}.",
    ),
    replies=(
        "Dziękuję za szybką odpowiedź.",
        "Niestety problem nadal występuje.",
        "Teraz wszystko działa, dziękuję!",
        "Czy są jakieś nowe informacje?",
    ),
    closings=("Pozdrawiam,", "Z poważaniem,"),
    attribution="W dniu {date} {name} <{addr}> napisał(a):",
    link_intro="Link z Państwa wiadomości prowadzi do strony z błędem:",
    files=(("zrzut ekranu.png", "image/png"), ("faktura_{n}.pdf", "application/pdf")),
)

_SV = _Lang(
    code="sv-SE",
    weight=4,
    charsets=(("utf-8", 2), ("iso-8859-1", 1)),
    tz_hours=(1,),
    domains=("telia-post.example", "bygg-ab.example"),
    names=(
        ("Åsa Lindström", "asa.lindstrom"),
        ("Björn Ångström", "bjorn.angstrom"),
        ("Märta Sjöberg", "marta.sjoberg"),
        ("Göran Öberg", "goran.oberg"),
    ),
    subjects=(
        "Kan inte logga in",
        "Fel belopp på faktura {n}",
        "Beställning {n} har inte kommit",
        "Återbetalning av order {n}",
    ),
    greetings=("Hej,", "Hej support,"),
    sentences=(
        "Sedan i morse kan jag inte logga in på mitt konto.",
        "Faktura {n} har fel belopp jämfört med offerten.",
        "Paketet har varit på väg i över en vecka.",
        "Jag har redan rensat webbläsarens cache.",
        "Kan ni berätta hur jag ska gå vidare?",
        "Mitt kundnummer är {n}.",
    ),
    replies=(
        "Tack för snabbt svar.",
        "Tyvärr kvarstår problemet.",
        "Nu fungerar det, tack så mycket!",
        "Finns det något nytt i ärendet?",
    ),
    closings=("Med vänliga hälsningar,", "Vänliga hälsningar,", "Hälsningar,"),
    attribution="Den {date} skrev {name} <{addr}>:",
    link_intro="Länken i ert mejl ger mig ett felmeddelande:",
    files=(("skärmdump.png", "image/png"), ("faktura-{n}.pdf", "application/pdf")),
)

_RU = _Lang(
    code="ru-RU",
    weight=4,
    charsets=(("utf-8", 2), ("koi8-r", 1)),
    tz_hours=(3,),
    domains=("pochta-ru.example", "zavod-sever.example"),
    names=(
        ("Дмитрий Иванов", "dmitry.ivanov"),
        ("Ольга Смирнова", "olga.smirnova"),
        ("Сергей Кузнецов", "sergey.kuznetsov"),
        ("Анна Попова", "anna.popova"),
    ),
    subjects=(
        "Не могу войти в личный кабинет",
        "Ошибка в счёте № {n}",
        "Заказ {n} не доставлен",
        "Возврат средств по заказу {n}",
    ),
    greetings=("Здравствуйте!", "Добрый день!"),
    sentences=(
        "С сегодняшнего утра не могу войти в личный кабинет.",
        "В счёте № {n} указана неверная сумма.",
        "Посылка находится в пути уже больше недели.",
        "Я уже очистил кэш браузера и попробовал другой браузер.",
        "Подскажите, пожалуйста, что делать дальше.",
        "Мой номер клиента: {n}.",
    ),
    replies=(
        "Спасибо за быстрый ответ.",
        "К сожалению, проблема сохраняется.",
        "Теперь всё работает, большое спасибо!",
        "Есть ли новости по моему обращению?",
    ),
    closings=("С уважением,", "Спасибо,"),
    attribution="{date}, {name} <{addr}> пишет:",
    link_intro="Ссылка из вашего письма открывает страницу с ошибкой:",
    files=(("снимок экрана.png", "image/png"), ("счёт_{n}.pdf", "application/pdf")),
)

_ZH = _Lang(
    code="zh-CN",
    weight=4,
    charsets=(("utf-8", 1),),
    tz_hours=(8,),
    domains=("mail-cn.example", "huaxin-trade.example"),
    names=(
        ("王伟", "wei.wang"),
        ("李娜", "na.li"),
        ("张敏", "min.zhang"),
        ("刘洋", "yang.liu"),
    ),
    subjects=("无法登录账户", "发票{n}金额有误", "订单{n}尚未收到", "申请退款"),
    greetings=("您好，", "客服您好："),
    sentences=(
        "从今天早上开始，我无法登录我的账户。",
        "发票{n}上的金额与报价不符。",
        "包裹已经在运输途中超过一周了。",
        "我已经清除了浏览器缓存，也换了浏览器，结果还是一样。",
        "请问接下来应该怎么处理？",
        "我的客户编号是{n}。",
    ),
    replies=(
        "谢谢您的快速回复。",
        "很遗憾，问题仍然存在。",
        "现在已经正常了，非常感谢！",
        "请问我的问题有进展吗？",
    ),
    closings=("谢谢！", "此致"),
    attribution="{name} <{addr}> 于 {date} 写道：",
    link_intro="邮件中的链接打开后显示错误页面：",
    files=(("截图.png", "image/png"), ("发票{n}.pdf", "application/pdf")),
    wrap=False,
)

_LANGS = (_EN, _DE, _FR, _JA, _ES, _PL, _SV, _RU, _ZH)


# --------------------------------------------------------------------------------------------
# Mail clients: structure, transfer encodings, headers and Message-ID style.


@dataclass(frozen=True)
class _Client:
    name: str
    weight: int
    header: tuple[str, str] | None  # ("User-Agent" | "X-Mailer", value)
    html: bool  # sends multipart/alternative
    ctes: tuple[tuple[str, int], ...]  # transfer encodings for non-ASCII text
    outlook: bool = False  # Thread-Index / Thread-Topic, "Original Message" quoting


_CLIENTS = (
    _Client(
        "thunderbird",
        28,
        ("User-Agent", "Mozilla Thunderbird"),
        False,
        (("8bit", 4), ("quoted-printable", 1)),
    ),
    _Client("mutt", 5, ("User-Agent", "NeoMutt/20231103"), False, (("8bit", 1),)),
    _Client("iphone", 22, ("X-Mailer", "iPhone Mail (21D61)"), False, (("quoted-printable", 1),)),
    _Client(
        "outlook",
        22,
        ("X-Mailer", "Microsoft Outlook 16.0"),
        True,
        (("quoted-printable", 3), ("base64", 1)),
        outlook=True,
    ),
    _Client("gmail", 18, None, True, (("quoted-printable", 2), ("base64", 1))),
    _Client(
        "apple", 5, ("X-Mailer", "Apple Mail (2.3774.300.61.1.2)"), True, (("quoted-printable", 1),)
    ),
)


# --------------------------------------------------------------------------------------------
# Generation


@dataclass
class _Customer:
    name: str  # display name, may be empty
    address: str
    lang: _Lang
    charset: str
    client: _Client
    tz: timezone


@dataclass
class _Thread:
    number: int
    customer: _Customer
    subject: str
    mails: list[int] = field(default_factory=list)


@dataclass
class _Sent:
    """What later replies need to know about a mail."""

    message_id: str
    references: tuple[str, ...]
    date: datetime
    text: str  # the plain-text body as the customer wrote it
    thread_index: bytes


_T = TypeVar("_T")


def _weighted(rng: random.Random, items: Sequence[tuple[_T, int]]) -> _T:
    return rng.choices([item for item, _ in items], [weight for _, weight in items])[0]


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


_HEX = "0123456789abcdef"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def _charset_for(text: str, preferred: str) -> str:
    if text.isascii():
        return "us-ascii"
    return preferred if _encodable(text, preferred) else "utf-8"


def _header_text(name: str, value: str, charset: str) -> str:
    """A header's value: ASCII as is (folded when long), otherwise RFC 2047 encoded words."""
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return value
    if value.startswith("Re: ") and not value.isascii():
        header = Header("Re:", "us-ascii", header_name=name)
        rest = value[4:]
        header.append(rest, _charset_for(rest, charset))
    else:
        header = Header(value, _charset_for(value, charset), header_name=name)
    return header.encode(linesep=CRLF)


def _address_header(name: str, address: str, charset: str) -> str:
    if not name:
        return address
    return formataddr((name, address), charset=_charset_for(name, charset))


def _message_id(rng: random.Random, client: _Client, customer: _Customer, when: datetime) -> str:
    domain = customer.address.rpartition("@")[2]
    match client.name:
        case "gmail":
            return f"<CA{_token(rng, _ALNUM + '+_-', 44)}@mail.gmail.example>"
        case "outlook":
            host = f"AM{rng.randrange(10)}PR{rng.randrange(10, 99)}MB{rng.randrange(1000, 9999)}"
            region = f"eurprd0{rng.randrange(1, 9)}"
            return f"<{_token(rng, _HEX.upper(), 32)}@{host}.{region}.prod.outlook.example>"
        case "mutt":
            return f"<{when:%Y%m%d%H%M%S}.{_token(rng, _HEX, 8)}@{domain}>"
        case _:
            token = str(uuid.UUID(bytes=rng.randbytes(16), version=4)).upper()
            return f"<{token}@{domain}>"


def _new_customer(rng: random.Random, number: int) -> _Customer:
    lang = _weighted(rng, [(lang, lang.weight) for lang in _LANGS])
    display, local = rng.choice(lang.names)
    if rng.random() < 0.08:
        display = ""  # some clients send a bare address
    address = f"{local}.{number}@{rng.choice(lang.domains)}"
    hours = rng.choice(lang.tz_hours)
    return _Customer(
        name=display,
        address=address,
        lang=lang,
        charset=_weighted(rng, lang.charsets),
        client=_weighted(rng, [(client, client.weight) for client in _CLIENTS]),
        tz=timezone(timedelta(hours=hours)),
    )


def _fill(rng: random.Random, template: str) -> str:
    return template.replace("{n}", str(rng.randrange(10_000, 999_999)))


def _long_url(rng: random.Random) -> str:
    """A tracking link of 1,100-1,900 characters: one unbreakable line."""
    state = base64.urlsafe_b64encode(rng.randbytes(rng.randrange(800, 1400))).decode().rstrip("=")
    return (
        f"https://portal.shop-platform.example/account/orders/{rng.randrange(10**7, 10**8)}"
        f"/track?locale=en&session={_token(rng, _HEX, 32)}&state={state}"
        f"&utm_source=notification&utm_medium=email&utm_campaign=order_status"
    )


def _paragraphs_new(rng: random.Random, customer: _Customer, long_url: str | None) -> list[str]:
    lang = customer.lang
    sentences = [_fill(rng, s) for s in rng.sample(lang.sentences, rng.randint(2, 4))]
    split = rng.randint(1, len(sentences))
    paragraphs = [rng.choice(lang.greetings)]
    joiner = " " if lang.wrap else "\n"
    paragraphs.append(joiner.join(sentences[:split]))
    if sentences[split:]:
        paragraphs.append(joiner.join(sentences[split:]))
    if long_url:
        paragraphs.append(f"{lang.link_intro}\n{long_url}")
    return paragraphs


def _paragraphs_reply(rng: random.Random, customer: _Customer, long_url: str | None) -> list[str]:
    lang = customer.lang
    paragraphs = []
    if rng.random() < 0.6:
        paragraphs.append(rng.choice(lang.greetings))
    joiner = " " if lang.wrap else "\n"
    paragraphs.append(joiner.join(rng.sample(lang.replies, rng.randint(1, 2))))
    if long_url:
        paragraphs.append(f"{lang.link_intro}\n{long_url}")
    return paragraphs


def _signoff(rng: random.Random, customer: _Customer, *, signature: bool) -> list[str]:
    name = customer.name or customer.address.partition("@")[0].rpartition(".")[0]
    if "," in name:  # "Müller, Ulrike"
        name = " ".join(reversed([part.strip() for part in name.split(",", 1)]))
    lines = [f"{rng.choice(customer.lang.closings)}\n{name}"]
    if signature and rng.random() < 0.35:
        phone = f"+{rng.randrange(1, 99)} {rng.randrange(100, 999)} {rng.randrange(10**6, 10**7)}"
        lines.append(f"-- \n{name}\n{customer.address.rpartition('@')[2]}\nTel. {phone}")
    return lines


def _render_text(paragraphs: Iterable[str], wrap: bool) -> str:
    out = []
    for paragraph in paragraphs:
        lines = []
        for line in paragraph.split("\n"):
            if wrap and len(line) > 76 and not line.startswith(("http", "-- ")):
                lines.extend(
                    textwrap.wrap(line, 72, break_long_words=False, break_on_hyphens=False)
                )
            else:
                lines.append(line)
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def _quote(text: str, limit: int = 60) -> str:
    lines = text.rstrip("\n").split("\n")[:limit]
    return "\n".join((">" + line) if line.startswith(">") else ("> " + line) for line in lines)


def _render_html(
    paragraphs: Iterable[str], quote_header: str | None, quoted: str | None, charset: str
) -> str:
    def block(paragraph: str) -> str:
        lines = []
        for line in paragraph.split("\n"):
            escaped = html.escape(line, quote=True)
            if line.startswith("https://"):
                lines.append(f'<a href="{escaped}">{escaped}</a>')
            else:
                lines.append(escaped)
        return "<p>" + "<br>\n".join(lines) + "</p>"

    parts = [
        "<html><head>",
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">',
        "</head><body>",
    ]
    parts.extend(block(p) for p in paragraphs)
    if quote_header and quoted is not None:
        parts.append(f"<div>{html.escape(quote_header)}</div>")
        parts.append('<blockquote type="cite" style="margin:0 0 0 .8ex;padding-left:1ex">')
        parts.extend(block(p) for p in quoted.strip("\n").split("\n\n"))
        parts.append("</blockquote>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _encode_body(text: str, charset: str, cte: str) -> tuple[bytes, str]:
    """Encode ``text`` for a MIME part; returns the wire bytes (CRLF) and the CTE used."""
    data = text.encode(charset)
    if charset in ("us-ascii", "iso-2022-jp"):
        cte = "7bit"
    match cte:
        case "quoted-printable":
            return _crlf(quopri.encodestring(data)), cte
        case "base64":
            return _crlf(base64.encodebytes(data)), cte
        case _:
            return _crlf(data), cte if cte in ("7bit", "8bit") else "8bit"


def _text_part(content_type: str, text: str, charset: str, cte: str, long_line: bool) -> bytes:
    if long_line and cte in ("quoted-printable", "base64"):
        cte = "8bit"  # a long line is only a long line on the wire when sent unencoded
    body, cte = _encode_body(text, charset, cte)
    head = (
        f"Content-Type: {content_type}; charset={charset}{CRLF}"
        f"Content-Transfer-Encoding: {cte}{CRLF}"
    )
    return head.encode("ascii") + CRLF.encode() + body


def _boundary(rng: random.Random, client: _Client, index: int) -> str:
    match client.name:
        case "gmail":
            return "000000000000" + _token(rng, _HEX, 16)
        case "outlook":
            return f"_000_{_token(rng, _ALNUM, 40)}_"
        case "apple":
            return f"Apple-Mail={uuid.UUID(bytes=rng.randbytes(16), version=4)}".upper()
        case _:
            return f"------------{_token(rng, _ALNUM, 24)}{index:x}"


def _multipart(subtype: str, boundary: str, parts: Sequence[bytes]) -> bytes:
    head = f'Content-Type: multipart/{subtype};{CRLF}\tboundary="{boundary}"{CRLF}{CRLF}'
    body = [head.encode("ascii")]
    if subtype == "mixed":
        body.append(b"This is a multi-part message in MIME format." + CRLF.encode())
    for part in parts:
        body.append(f"{CRLF}--{boundary}{CRLF}".encode("ascii"))
        body.append(part.rstrip(b"\r\n"))
    body.append(f"{CRLF}--{boundary}--{CRLF}".encode("ascii"))
    return b"".join(body)


def _attachment(rng: random.Random, customer: _Customer) -> bytes:
    template, content_type = rng.choice(customer.lang.files)
    filename = _fill(rng, template)
    magic = {
        "image/png": b"\x89PNG\r\n\x1a\n",
        "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        "application/zip": b"PK\x03\x04",
    }[content_type]
    data = magic + rng.randbytes(rng.randrange(1_500, 6_000))
    if filename.isascii() and '"' not in filename:
        params = f'; name="{filename}"', f'; filename="{filename}"'
    else:
        encoded = encode_rfc2231(filename, "utf-8")
        word = Header(filename, "utf-8").encode()
        params = f'; name="{word}"', f"; filename*={encoded}"
    head = (
        f"Content-Type: {content_type}{params[0]}{CRLF}"
        f"Content-Disposition: attachment{params[1]}{CRLF}"
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}"
    )
    return head.encode("ascii") + _crlf(base64.encodebytes(data))


def generate(
    count: int = 1000, *, seed: int = 1, mailbox: str = "support@example.com"
) -> list[CorpusMail]:
    """``count`` support mails to ``mailbox``; the same arguments give the same bytes."""
    rng = random.Random(seed)
    threads: list[_Thread] = []
    sent: list[_Sent] = []
    mails: list[CorpusMail] = []
    seen_ids: set[str] = set()
    now = START
    # Exactly REPLY_RATIO of the mails are replies; the first one cannot be.
    reply_slots = set(rng.sample(range(1, count), round(count * REPLY_RATIO))) if count > 1 else ()
    for index in range(count):
        now += timedelta(seconds=rng.randrange(15, 400))
        reply = index in reply_slots
        if reply:
            # Recently active threads get most replies.
            back = min(int(rng.expovariate(1 / 12)), len(threads) - 1)
            thread = threads[len(threads) - 1 - back]
            if rng.random() < 0.8:
                parent_index: int | None = thread.mails[-1]
            else:
                parent_index = rng.choice(thread.mails)
        else:
            customer = _new_customer(rng, len(threads))
            subject = _fill(rng, rng.choice(customer.lang.subjects))
            thread = _Thread(len(threads), customer, subject)
            threads.append(thread)
            parent_index = None
        customer = thread.customer
        client = customer.client
        parent = sent[parent_index] if parent_index is not None else None
        when = now.astimezone(customer.tz)

        while True:
            message_id = _message_id(rng, client, customer, when)
            if message_id not in seen_ids:
                seen_ids.add(message_id)
                break

        long_url = _long_url(rng) if rng.random() < LONG_LINE_RATIO else None
        if parent is None:
            paragraphs = _paragraphs_new(rng, customer, long_url)
        else:
            paragraphs = _paragraphs_reply(rng, customer, long_url)
        paragraphs.extend(_signoff(rng, customer, signature=parent is None))
        own_text = _render_text(paragraphs, customer.lang.wrap)

        quote_header = None
        quoted = None
        text = own_text
        if parent is not None:
            display = customer.name or customer.address
            if client.outlook:
                quote_header = (
                    f"-----Original Message-----\nFrom: {display} <{customer.address}>\n"
                    f"Sent: {format_datetime(parent.date)}\nTo: {mailbox}\n"
                    f"Subject: {thread.subject}"
                )
                quoted = parent.text
                text = f"{own_text}\n{quote_header}\n\n{quoted}"
            else:
                quote_header = customer.lang.attribution.format(
                    date=f"{parent.date:%Y-%m-%d %H:%M}", name=display, addr=customer.address
                )
                quoted = parent.text
                text = f"{own_text}\n{quote_header}\n{_quote(parent.text)}\n"

        cte = _weighted(rng, client.ctes)
        long_line = any(len(line) > LONG_LINE_MIN for line in text.split("\n"))
        charset = _charset_for(text, customer.charset)
        body = _text_part("text/plain", text, charset, cte, long_line)
        if client.html:
            markup = _render_html(paragraphs, quote_header, quoted, charset)
            html_part = _text_part("text/html", markup, charset, "quoted-printable", long_line)
            body = _multipart("alternative", _boundary(rng, client, index), [body, html_part])
        if rng.random() < ATTACHMENT_RATIO:
            body = _multipart(
                "mixed", _boundary(rng, client, index), [body, _attachment(rng, customer)]
            )

        subject = thread.subject if parent is None else f"Re: {thread.subject}"
        references: tuple[str, ...] = ()
        if parent is not None:
            references = (*parent.references, parent.message_id)
            if len(references) > 12:  # keep the root and the nearest ones, as MUAs do
                references = (references[0], *references[-11:])
        thread_index = (parent.thread_index + rng.randbytes(5) if parent else rng.randbytes(22))[
            :200
        ]

        headers = [
            ("Date", format_datetime(when)),
            ("From", _address_header(customer.name, customer.address, customer.charset)),
            ("To", _address_header("Support", mailbox, "us-ascii")),
            ("Subject", _header_text("Subject", subject, customer.charset)),
            ("Message-ID", message_id),
        ]
        if parent is not None:
            headers.append(("In-Reply-To", parent.message_id))
            headers.append(("References", f"{CRLF} ".join(references)))
        if client.outlook:
            topic = _header_text("Thread-Topic", thread.subject, customer.charset)
            headers.append(("Thread-Topic", topic))
            headers.append(("Thread-Index", base64.b64encode(thread_index).decode()))
            headers.append(("X-Auto-Response-Suppress", "All"))
        if client.header:
            headers.append(client.header)
        headers.append(("Content-Language", customer.lang.code))
        headers.append(("MIME-Version", "1.0"))
        head = "".join(f"{name}: {value}{CRLF}" for name, value in headers)
        raw = head.encode("ascii") + body
        if not raw.endswith(b"\r\n"):
            raw += b"\r\n"

        mails.append(
            CorpusMail(
                index=index,
                thread=thread.number,
                parent_index=parent_index,
                message_id=message_id,
                mail_from=customer.address,
                raw=raw,
            )
        )
        sent.append(_Sent(message_id, references, when, text, thread_index))
        thread.mails.append(index)
    return mails


# --------------------------------------------------------------------------------------------
# Facts about a corpus, and writing it out


def long_line_count(raw: bytes) -> int:
    return sum(1 for line in raw.split(b"\r\n") if len(line) > LONG_LINE_MIN)


def summarize(mails: Sequence[CorpusMail]) -> dict[str, int]:
    """Counts that describe a corpus (printed by the runner, checked by the tests)."""
    return {
        "mails": len(mails),
        "threads": len({m.thread for m in mails}),
        "replies": sum(1 for m in mails if m.is_reply),
        "bytes": sum(len(m.raw) for m in mails),
        "multipart_alternative": sum(1 for m in mails if b"multipart/alternative" in m.raw),
        "attachments": sum(1 for m in mails if b"Content-Disposition: attachment" in m.raw),
        "long_lines": sum(1 for m in mails if long_line_count(m.raw)),
        "encoded_words": sum(1 for m in mails if b"=?" in m.raw.partition(b"\r\n\r\n")[0]),
    }


def shuffled(mails: Sequence[CorpusMail], seed: int) -> list[CorpusMail]:
    """The mails in a random order of ``seed`` (an archive where replies may come first)."""
    order = list(mails)
    random.Random(seed).shuffle(order)
    return order


def replies_before_parent(order: Sequence[CorpusMail]) -> int:
    """How many replies come before the mail they answer in ``order``."""
    position = {mail.index: n for n, mail in enumerate(order)}
    return sum(
        1
        for mail in order
        if mail.parent_index is not None and position[mail.index] < position[mail.parent_index]
    )


def _date_of(raw: bytes) -> datetime:
    for line in raw.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line[:5].lower() == b"date:":
            return parsedate_to_datetime(line[5:].decode("ascii").strip())
    return START


def write_mbox(mails: Iterable[CorpusMail], path: Path | str) -> None:
    """Write an mboxrd file (LF line ends, ``>From`` quoting), as an MUA export would."""
    with Path(path).open("wb") as out:
        for mail in mails:
            when = _date_of(mail.raw).astimezone(UTC)
            out.write(f"From {mail.mail_from} {when:%a %b %d %H:%M:%S %Y}\n".encode("ascii"))
            body = mail.raw.replace(b"\r\n", b"\n")
            for line in body.split(b"\n")[:-1] if body.endswith(b"\n") else body.split(b"\n"):
                if line.lstrip(b">").startswith(b"From "):
                    line = b">" + line
                out.write(line + b"\n")
            out.write(b"\n")


def write_eml_dir(mails: Iterable[CorpusMail], directory: Path | str) -> int:
    """One ``NNNNN.eml`` per mail (CRLF, as sent); returns the number written."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for mail in mails:
        (folder / f"{mail.index:05d}.eml").write_bytes(mail.raw)
        written += 1
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus", description="Write the benchmark corpus as .eml files."
    )
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mailbox", default="support@example.com")
    parser.add_argument("--mbox", type=Path, help="also write an mboxrd file here")
    args = parser.parse_args(argv)
    mails = generate(args.count, seed=args.seed, mailbox=args.mailbox)
    written = write_eml_dir(mails, args.outdir)
    if args.mbox:
        write_mbox(mails, args.mbox)
    facts = ", ".join(f"{key} {value}" for key, value in summarize(mails).items())
    print(f"{written} mails written to {args.outdir} ({facts})")


if __name__ == "__main__":
    main()
