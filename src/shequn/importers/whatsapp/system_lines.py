"""Every WhatsApp system string shequn understands, in one table, with its source.

WhatsApp writes group events ("Alice added Bob") as lines without an author, in the
language of the exporting phone. Each :class:`SystemLine` is a *template*; the parser
compiles it into an anchored regular expression and the simulator renders it, so the
importer reads exactly what the simulator writes and both follow the same table.

Template placeholders
---------------------
``{actor}``    the member who did it (adder, remover, renamer, creator)
``{member}``   the one member it happened to (joiner, leaver, removed, security code)
``{members}``  one or more members joined by the language's list separators
``{old}`` / ``{new}``  old and new subject or phone number
``{subject}``  a group subject (name)

Lines spoken by or about the exporter use the language's ``you`` words, e.g.
"You added Bob" / "Alice added you"; they are separate templates because
languages inflect them differently ("Du hast Bob hinzugefügt").

iOS writes system lines as ``[date, time] Group name: \\u200eAlice added Bob``; the
parser strips that author and the mark before matching, so one template serves both
layouts unless the wording differs (then ``layouts`` says which). WhatsApp Web's own
"export chat" writes a few English lines differently; those rows carry ``layouts={WEB}``.

How the strings were sourced
----------------------------
Every row and every :class:`Language` names where its wording was seen, in ``source``:

* real exports committed to public repositories (analyzer test data such as
  ``mlomb/chat-analytics``, ``starkdmi/whats_json``, ``gesiscss/WhatsR``) and export
  excerpts quoted in public issues (``lucasrodes/whatstk``, ``Pustur/whatsapp-chat-parser``);
* keyword and regex lists of public multi-language WhatsApp analyzers, e.g.
  ``Tomas5412/Chatnalizer`` (es/pt/en) and ``starkdmi/whats_json`` ``patterns.dart``, whose
  lists were collected from WhatsApp's Android ``strings.xml`` and iOS
  ``Localizable.strings``;
* files found through a public code index whose repository the index does not name are
  cited as ``code-index file <id>`` with what they showed;
* where no real source was found the row still carries our best-knowledge wording and its
  ``source`` starts with ``unverified:`` and says why. ``inferred:`` marks a wording derived
  from a verified sibling row of the same language (e.g. the "you" form of a verified
  third-person line). The table in ``docs/whatsapp-system-lines.md`` lists them all.

Row order matters: :func:`match` returns the first row of a language whose template
matches, so "you" rows, rows with a trailing period and other more specific rows come
before the generic ones they would otherwise be swallowed by; the test suite renders every
row with sample names and checks that it matches itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Final

from shequn.events import AttachmentKind


class SystemEvent(StrEnum):
    """The group events WhatsApp writes as system lines."""

    GROUP_CREATED = "group_created"
    JOINED_VIA_LINK = "joined_via_link"
    #: "Alice joined from the community": a member of the group's community joined it
    JOINED_FROM_COMMUNITY = "joined_from_community"
    ADDED = "added"
    REMOVED = "removed"
    LEFT = "left"
    SUBJECT_CHANGED = "subject_changed"
    DESCRIPTION_CHANGED = "description_changed"
    ICON_CHANGED = "icon_changed"
    ICON_DELETED = "icon_deleted"
    NUMBER_CHANGED = "number_changed"
    SECURITY_CODE_CHANGED = "security_code_changed"
    ENCRYPTION_NOTICE = "encryption_notice"


ANDROID: Final = "android"
IOS: Final = "ios"
#: WhatsApp Web / Desktop "export chat" (English wording differs from the phones')
WEB: Final = "web"
BOTH: Final = frozenset({ANDROID, IOS})
_A: Final = frozenset({ANDROID})
_I: Final = frozenset({IOS})
_W: Final = frozenset({WEB})


@dataclass(frozen=True)
class SystemLine:
    """One system string: its language, meaning, wording and where we learnt it."""

    lang: str
    event: SystemEvent
    template: str
    source: str
    layouts: frozenset[str] = BOTH
    #: who the line's ``You`` refers to: "actor" ("You added Bob") or "member" ("Alice added you")
    you: str | None = None


@dataclass(frozen=True)
class Language:
    """Words a language uses outside system templates."""

    code: str
    name: str
    #: how WhatsApp joins a list of names: "Alice" + comma + "Bob" + last + "Carol"
    list_comma: str
    list_last: str
    #: what an omitted-media line says, per layout, mapped to its kind
    media_omitted: Mapping[str, AttachmentKind]
    #: texts that replace a deleted message
    deleted: tuple[str, ...]
    #: suffix after a file name when media is included: "IMG-1.jpg (file attached)"
    file_attached: str
    #: the marker newer exports append to edited messages
    edited_marker: str | None = None
    source: str = ""
    #: other separators seen in the wild, accepted when reading
    list_also: tuple[str, ...] = ()
    #: where each field's strings come from, by field name ("media_omitted", "deleted", ...)
    field_sources: Mapping[str, str] = field(default_factory=dict)


_E = SystemEvent

# -- sources --------------------------------------------------------------------------------
# Cross-language sources.
_WJ_PATTERNS = (
    "starkdmi/whats_json lib/src/patterns.dart (lists collected from WhatsApp Android "
    "strings.xml and iOS Localizable.strings)"
)
_MLOMB = "mlomb/chat-analytics pipeline/parse/parsers/WhatsApp.ts (media-omitted strings)"
_CHATNALIZER = "Tomas5412/Chatnalizer src/misc/keywords.py"
_WA_WEB = (
    "WhatsApp Web module WAWebExportChatSystemMsgFormatter (public copy, code-index file "
    "54156920433)"
)

# English
_EN_CA = "mlomb/chat-analytics tests/samples/whatsapp/4A_11M.txt (Android export)"
_EN_WJ = (
    "starkdmi/whats_json test/data/android/WhatsApp Chat with Group Chat XXX Android.txt "
    "(Android group export, 2023)"
)
_EN_WHATSR = "gesiscss/WhatsR inst/englishandroid24h.txt + inst/Languages.csv"
_EN_CHATMINER = "joweich/chat-miner test/test_ddmmyy_24hrs.txt (Android export)"
_EN_IDSUNDEV = (
    "starkdmi/whats_json test/data/chats_unique/IdSundev WA-Group-Analysis-using-Python "
    "pastigana.txt (Android export: 'Mas Azis added Mba Nita')"
)
_EN_PUSTUR = "Pustur/whatsapp-chat-parser issue #258 (iOS export excerpt, 2024)"
_EN_PUSTUR_WEB3 = "Pustur/whatsapp-chat-parser-website issue #3 (iOS export excerpt, 2021)"
_EN_WHATSTK = "lucasrodes/whatstk issue #147 (Android export excerpt, 2024)"
_EN_2023 = "Android export (2023) printed in a public notebook, code-index file 35094945758"
_EN_2026 = (
    "Android export lines (2026) in public test data, code-index files 57621671814, 55553637294"
)
_EN_SEC = (
    "Android group line matched by public parsers, code-index files 2546490084, 6378731029, "
    "17586288085"
)
_EN_ICON_DEL = (
    "Android line quoted in a public parser, code-index file 41603590117 "
    '("Nick Extra Name deleted this group\'s icon")'
)
_EN_OLD_E2E = "older Android notice in public parsers, code-index files 27496825174, 67206862011"
_EN_CREATED_THIS = (
    "Android pattern '.+ created this group' in public parsers, code-index 67206862011"
)
_EN_NUMBER = (
    "gesiscss/WhatsR inst/Languages.csv; '.+ changed to .+' in public parser, code-index "
    "file 67206862011"
)

# German
_DE_WHATSR = "gesiscss/WhatsR inst/germanandroid24h.txt (Android export)"
_DE_WHATSR_CSV = "gesiscss/WhatsR inst/Languages.csv (germanandroid patterns)"
_DE_WHATSR_33 = "gesiscss/WhatsR issue #33 (2025 Android line 'Du hast die Gruppe erstellt')"
_DE_IOS = "starkdmi/whats_json test/data/ios/WhatsApp Chat - Elon Musk (German).txt (iOS export)"
_DE_2025 = "German Android export (2025) in a public Rust benchmark, code-index file 28581841025"
_DE_REGEX = (
    "German analyzer regexes, code-index file 42716240771 ('hat die Gruppe „(.*)“ erstellt.')"
)
_DE_CONFIG = (
    "German Android export analyzer config, code-index file 42434808315 "
    '(r".* hat die Gruppenbeschreibung geändert.", r".* hat das Gruppenbild gelöscht.")'
)
_DE_GRAMMAR = (
    "German Android export grammar (whatsapp_to_sqlite), code-index file 13337533165 "
    "('Du hast das Gruppenbild gelöscht.', '(.*) hat das Gruppenbild gelöscht.', "
    "'(.*) hat dich hinzugefügt.', '(.*) hat dich entfernt.', 'Du hast die Gruppe verlassen.')"
)
_DE_VMSG = (
    "German Android/Windows Phone system-line regexes, code-index file 15426816555 "
    "('Du hast das Gruppenbild gelöscht', 'Du wurdest hinzugefügt')"
)

# Spanish
_ES_2026 = (
    "Spanish Android lines in public test data, code-index file 68343449275 "
    "('Cambiaste la descripción del grupo', 'Añadiste a Antonio Robert.')"
)
_ES_DOC = (
    "Spanish Android sample in public docs, code-index file 60360134267 ('Diego creó el grupo "
    "\"…\".', 'Te uniste mediante el enlace de invitación de este grupo.')"
)
_ES_REGEX = (
    "Spanish parser regexes, code-index file 70499579339 ('Creaste este grupo', "
    "'creó el grupo \"…\"')"
)
_ES_FILTER = (
    "Spanish export filter, code-index file 44399611106 ('se unió usando el enlace de "
    "invitación de este grupo', 'Cambió tu código de seguridad con', 'cambió a')"
)
_ES_JAVA = (
    "Spanish keyword list, code-index file 49243904689 ('Creaste el grupo', 'añadió a', "
    "'cambió el ícono de este grupo')"
)
_ES_ICON_DEL = (
    "only the fragments 'eliminó el ícono', 'Eliminaste el ícono' in a 2019 Spanish export "
    "script whose lists pair every verb with every noun (code-index file 9307857505)"
)
_ES_WEB_2026 = (
    "WhatsApp Web chat list scraped in public data, code-index file 62124825548 ('… te añadió.')"
)

# Portuguese (Brazil)
_PT_CHATLENS = "R package normalising pt-BR Android lines, code-index file 71005434070"
_PT_R = (
    "R script filtering a pt-BR export, code-index file 1800025054 ('entrou usando o link de "
    "convite deste grupo', 'criou o grupo', 'Seu código de segurança com')"
)
_PT_JS = (
    "pt-BR export filter, code-index file 52707220902 ('você criou este grupo', 'mudou o ícone "
    "deste grupo', 'mudou a descrição do grupo')"
)
_PT_JAVA = (
    "pt-BR join counter, code-index file 20357092109 ('entrou neste grupo através da comunidade')"
)
_PT_WEB_ICON = (
    "pt-BR WhatsApp Web system message recorded in a public API test log, code-index files "
    "67116481381, 67348039392 ('Você apagou a imagem deste grupo'; seen in the chat, not in "
    "an export)"
)
_PT_SAMPLES = (
    "pt-BR Android lines in public test data, code-index files 60706649297, 70110571945 "
    "('João Silva saiu', '<Mídia oculta>', '(arquivo anexado)', '<Mensagem editada>')"
)

# French
_FR_IOS = "starkdmi/whats_json test/data/ios/WhatsApp Chat - Elon Musk (FR).txt (iOS export)"
_FR_CREATED = (
    "French Android export parser regex, code-index files 53835366698, 53760139389, "
    "53839369690 ('([^:]+) a créé le groupe \"(.*?)\"')"
)
_FR_MEDIA = (
    "French Android exports handled by public analyzers, code-index files 27298364368, "
    "1114314848, 61819886081 ('<Médias omis>', '(fichier joint)')"
)

# Italian
_IT_2017 = (
    "Italian Android export filter (2017), code-index file 31719720866 ('ha creato il gruppo “', "
    "'ha cambiato l'oggetto da ', 'è entrato usando il link d'invito al gruppo', "
    "'ha abbandonato', 'ha cambiato l'immagine del gruppo')"
)
_IT_PATTERNS = (
    "IT/ID analyzer patterns, code-index file 27496825174 ('ti ha aggiunto', 'Hai rimosso ', "
    "'ha cambiato numero in', 'è stato cambiato con', 'Il tuo codice di sicurezza con')"
)
_IT_EDITED = (
    "Italian export parser, code-index file 67306419848 ('<Questo messaggio è stato modificato>')"
)

# Indonesian
_ID_PATTERNS = (
    "IT/ID analyzer patterns, code-index file 27496825174 ('telah bergabung menggunakan tautan "
    "undangan grup ini', 'keluar', 'menambahkan', 'telah mengganti nomor teleponnya …')"
)
_ID_EVENTS = "Indonesian analyzer IS_EVENT list, code-index files 67206862011, 6832826691"
_ID_IRFAN = (
    "irfanchahyadi/Whatsapp-Chat-Analyzer src/settings.py (Indonesian event keywords and "
    "regexes, 2020: 'telah membuat grup', 'telah mengubah ikon grup ini', 'telah menambahkan', "
    "'telah diganti ke')"
)
_ID_2019 = (
    "Indonesian Android export (2019) stored in a public SQL dump, code-index file 7638590834 "
    "('Anda telah membuat grup \"Magang Kantor Duxeos\"', 'Anda telah menambahkan Dahlan')"
)
_ID_2022 = (
    "Indonesian Android lines (2022) in a public script, code-index file 53795127488 "
    "('Anda membuat grup', 'amanda bergabung menggunakan tautan undangan grup ini')"
)

# Russian
_RU_IOS = "starkdmi/whats_json test/data/ios/WhatsApp Chat - Elon Musk (RU).txt (iOS export)"
_RU_2026 = (
    "Russian Android export lines (2026) in a public importer test, code-index file 55750415342 "
    "('Амаки Хайруллоҳ создал(-а) группу \"Цемет\"', 'IMG-….jpg (файл добавлен)')"
)
_RU_KEYWORDS = (
    "system-line keywords of a public viewer for Russian Android group exports, code-index "
    "files 54930843058, 54501376648, 54634000001 ('создал(-а) группу', 'добавил(-а) вас', "
    "'изменил(-а) картинку группы', 'изменил(-а) название группы', 'изменил(-а) описание "
    "группы', 'вышел(-а)'); 'добавил(-а) вас' also in a Russian group-export filter, "
    "code-index file 54166112377"
)

_NO_EXPORT = "no public {lang} export or string dump with this line was found"


def _unverified(lang: str, reason: str = "") -> str:
    return "unverified: " + (reason or _NO_EXPORT.format(lang=lang)) + "; best-knowledge wording"


def _inferred(sibling: str) -> str:
    return f"inferred: from the verified {sibling}"


def _e2e_suffix(lang: str, sentence_source: str) -> str:
    return (
        f"sentence: {sentence_source}; the Android 'tap to learn more' suffix is unverified "
        f"(no {lang} Android export with it was found)"
    )


LANGUAGES: Final[dict[str, Language]] = {
    "en": Language(
        code="en",
        name="English",
        list_comma=", ",
        list_last=" and ",
        list_also=(", and ",),
        media_omitted={
            "<Media omitted>": AttachmentKind.MEDIA,
            "image omitted": AttachmentKind.IMAGE,
            "video omitted": AttachmentKind.VIDEO,
            "audio omitted": AttachmentKind.VOICE,
            "sticker omitted": AttachmentKind.STICKER,
            "GIF omitted": AttachmentKind.GIF,
            "document omitted": AttachmentKind.DOCUMENT,
            "Contact card omitted": AttachmentKind.CONTACT,
        },
        deleted=("This message was deleted", "You deleted this message"),
        file_attached="(file attached)",
        edited_marker="<This message was edited>",
        source=f"{_EN_WHATSR}; {_WJ_PATTERNS}; {_CHATNALIZER}",
        field_sources={
            "list": f'{_WA_WEB} ("A and B", "A, B, and C"); {_EN_IDSUNDEV}',
            "media_omitted": f"{_EN_WHATSR} (<Media omitted>); {_WJ_PATTERNS} (iOS kinds)",
            "deleted": f"{_EN_WJ}; {_WJ_PATTERNS}",
            "file_attached": _EN_WHATSR,
            "edited_marker": f"{_CHATNALIZER} (ENGLISH_KEYWORDS EDITED_MSG)",
        },
    ),
    "de": Language(
        code="de",
        name="German",
        list_comma=", ",
        list_last=" und ",
        media_omitted={
            "<Medien ausgeschlossen>": AttachmentKind.MEDIA,
            "<Medien weggelassen>": AttachmentKind.MEDIA,
            "Bild weggelassen": AttachmentKind.IMAGE,
            "Video weggelassen": AttachmentKind.VIDEO,
            "Audio weggelassen": AttachmentKind.VOICE,
            "Sticker weggelassen": AttachmentKind.STICKER,
            "GIF weggelassen": AttachmentKind.GIF,
            "Dokument weggelassen": AttachmentKind.DOCUMENT,
            "Kontaktkarte ausgelassen": AttachmentKind.CONTACT,
        },
        deleted=(
            "Diese Nachricht wurde gelöscht.",
            "Diese Nachricht wurde gelöscht",
            "Du hast diese Nachricht gelöscht.",
            "Du hast diese Nachricht gelöscht",
        ),
        file_attached="(Datei angehängt)",
        edited_marker="<Diese Nachricht wurde bearbeitet.>",
        source=f"{_DE_WHATSR}; {_DE_IOS}; {_DE_2025}; {_WJ_PATTERNS}",
        field_sources={
            "list": _unverified("de", "no German export adding several people was found"),
            "media_omitted": (
                f"{_DE_WHATSR} and {_DE_2025} (<Medien ausgeschlossen>); {_MLOMB} and "
                f"{_WJ_PATTERNS} (<Medien weggelassen>, older); {_DE_IOS} (iOS kinds)"
            ),
            "deleted": f"{_DE_WHATSR_CSV}; {_DE_IOS}",
            "file_attached": f"{_DE_WHATSR}; {_DE_2025}",
            "edited_marker": _DE_2025,
        },
    ),
    "es": Language(
        code="es",
        name="Spanish",
        list_comma=", ",
        list_last=" y ",
        media_omitted={
            "<Multimedia omitido>": AttachmentKind.MEDIA,
            "<Archivo omitido>": AttachmentKind.MEDIA,
            "imagen omitida": AttachmentKind.IMAGE,
            "video omitido": AttachmentKind.VIDEO,
            "Video omitido": AttachmentKind.VIDEO,
            "audio omitido": AttachmentKind.VOICE,
            "sticker omitido": AttachmentKind.STICKER,
            "GIF omitido": AttachmentKind.GIF,
            "documento omitido": AttachmentKind.DOCUMENT,
            "Tarjeta de contacto omitida": AttachmentKind.CONTACT,
        },
        deleted=(
            "Se eliminó este mensaje.",
            "Se eliminó este mensaje",
            "Eliminaste este mensaje.",
            "Eliminaste este mensaje",
        ),
        file_attached="(archivo adjunto)",
        edited_marker="<Se editó este mensaje.>",
        source=f"{_CHATNALIZER} (SPANISH_KEYWORDS); {_MLOMB}; {_WJ_PATTERNS}",
        field_sources={
            "list": _unverified("es", "no Spanish export adding several people was found"),
            "media_omitted": (
                f"{_CHATNALIZER} and {_ES_2026} (<Multimedia omitido>, iOS kinds); {_MLOMB} "
                f"(<Archivo omitido>); {_WJ_PATTERNS} (iOS kinds)"
            ),
            "deleted": f"{_CHATNALIZER}; {_WJ_PATTERNS}",
            "file_attached": _CHATNALIZER,
            "edited_marker": _CHATNALIZER,
        },
    ),
    "pt": Language(
        code="pt",
        name="Portuguese (Brazil)",
        list_comma=", ",
        list_last=" e ",
        media_omitted={
            "<Mídia oculta>": AttachmentKind.MEDIA,
            "<Mídia omitida>": AttachmentKind.MEDIA,
            "imagem ocultada": AttachmentKind.IMAGE,
            "vídeo omitido": AttachmentKind.VIDEO,
            "áudio ocultado": AttachmentKind.VOICE,
            "figurinha omitida": AttachmentKind.STICKER,
            "GIF omitido": AttachmentKind.GIF,
            "documento omitido": AttachmentKind.DOCUMENT,
            "Cartão do contato omitido": AttachmentKind.CONTACT,
        },
        deleted=("Mensagem apagada", "Esta mensagem foi apagada", "Você apagou esta mensagem"),
        file_attached="(arquivo anexado)",
        edited_marker="<Mensagem editada>",
        source=f"{_CHATNALIZER} (PORTUGUESE_KEYWORDS); {_PT_SAMPLES}; {_WJ_PATTERNS}",
        field_sources={
            "list": _unverified("pt", "no Portuguese export adding several people was found"),
            "media_omitted": (
                f"{_CHATNALIZER} and {_PT_SAMPLES} (<Mídia oculta>); {_MLOMB} (<Mídia omitida>, "
                f"older); {_WJ_PATTERNS} (iOS kinds; GIF/document not listed separately for "
                "pt-BR, taken equal to Spanish)"
            ),
            "deleted": f"{_CHATNALIZER}; {_PT_SAMPLES}; {_WJ_PATTERNS}",
            "file_attached": f"{_CHATNALIZER}; {_PT_SAMPLES}",
            "edited_marker": f"{_CHATNALIZER}; {_PT_SAMPLES}",
        },
    ),
    "fr": Language(
        code="fr",
        name="French",
        list_comma=", ",
        list_last=" et ",
        media_omitted={
            "<Médias omis>": AttachmentKind.MEDIA,
            "<Fichier omis>": AttachmentKind.MEDIA,
            "image absente": AttachmentKind.IMAGE,
            "vidéo absente": AttachmentKind.VIDEO,
            "audio omis": AttachmentKind.VOICE,
            "sticker omis": AttachmentKind.STICKER,
            "GIF retiré": AttachmentKind.GIF,
            "document manquant": AttachmentKind.DOCUMENT,
            "Fiche contact manquante": AttachmentKind.CONTACT,
        },
        deleted=(
            "Ce message a été supprimé",
            "Ce message a été supprimé.",
            "Vous avez supprimé ce message",
            "Vous avez supprimé ce message.",
        ),
        file_attached="(fichier joint)",
        edited_marker="<Ce message a été modifié>",
        source=f"{_FR_IOS}; {_FR_MEDIA}; {_WJ_PATTERNS}",
        field_sources={
            "list": _unverified("fr", "no French export adding several people was found"),
            "media_omitted": (
                f"{_FR_MEDIA} (<Médias omis>); {_MLOMB} (<Fichier omis>, older); {_FR_IOS} "
                "(iOS kinds)"
            ),
            "deleted": f"{_FR_IOS}; {_WJ_PATTERNS}",
            "file_attached": _FR_MEDIA,
            "edited_marker": _unverified("fr", "no French export with an edited message was found"),
        },
    ),
    "it": Language(
        code="it",
        name="Italian",
        list_comma=", ",
        list_last=" e ",
        media_omitted={
            "<Media omessi>": AttachmentKind.MEDIA,
            "<Media omesso>": AttachmentKind.MEDIA,
            "immagine omessa": AttachmentKind.IMAGE,
            "video omesso": AttachmentKind.VIDEO,
            "audio omesso": AttachmentKind.VOICE,
            "sticker non incluso": AttachmentKind.STICKER,
            "GIF esclusa": AttachmentKind.GIF,
            "documento omesso": AttachmentKind.DOCUMENT,
            "Scheda contatto omessa": AttachmentKind.CONTACT,
        },
        deleted=("Questo messaggio è stato eliminato", "Hai eliminato questo messaggio"),
        file_attached="(file allegato)",
        edited_marker="<Questo messaggio è stato modificato>",
        source=f"{_IT_2017}; {_IT_PATTERNS}; {_WJ_PATTERNS}",
        field_sources={
            "list": _unverified("it", "no Italian export adding several people was found"),
            "media_omitted": (
                f"{_IT_2017} and {_IT_EDITED} (<Media omessi>); {_MLOMB} (<Media omesso>); "
                f"{_WJ_PATTERNS} (iOS kinds)"
            ),
            "deleted": f"{_IT_PATTERNS}; {_WJ_PATTERNS}",
            "file_attached": f"{_IT_PATTERNS}; {_WJ_PATTERNS}",
            "edited_marker": _IT_EDITED,
        },
    ),
    "id": Language(
        code="id",
        name="Indonesian",
        list_comma=", ",
        list_last=" dan ",
        media_omitted={
            "<Media tidak disertakan>": AttachmentKind.MEDIA,
            "gambar tidak disertakan": AttachmentKind.IMAGE,
            "video tidak disertakan": AttachmentKind.VIDEO,
            "audio tidak disertakan": AttachmentKind.VOICE,
            "stiker tidak disertakan": AttachmentKind.STICKER,
            "GIF tidak disertakan": AttachmentKind.GIF,
            "dokumen tidak disertakan": AttachmentKind.DOCUMENT,
            "Kartu kontak tidak disertakan": AttachmentKind.CONTACT,
        },
        deleted=(
            "Pesan ini dihapus",
            "Pesan ini telah dihapus",
            "Anda menghapus pesan ini",
            "Anda telah menghapus pesan ini",
        ),
        file_attached="(file terlampir)",
        edited_marker="<Pesan ini diedit>",
        source=f"{_ID_PATTERNS}; {_ID_EVENTS}; {_WJ_PATTERNS}",
        field_sources={
            "list": _unverified("id", "no Indonesian export adding several people was found"),
            "media_omitted": f"{_ID_PATTERNS}; {_MLOMB}; {_WJ_PATTERNS} (iOS kinds)",
            "deleted": f"{_ID_PATTERNS} (Pesan ini telah dihapus); {_WJ_PATTERNS}",
            "file_attached": _WJ_PATTERNS,
            "edited_marker": _unverified(
                "id", "no Indonesian export with an edited message was found"
            ),
        },
    ),
    "ru": Language(
        code="ru",
        name="Russian",
        list_comma=", ",
        list_last=" и ",
        media_omitted={
            "<Без медиафайлов>": AttachmentKind.MEDIA,
            "<Файл пропущен>": AttachmentKind.MEDIA,
            "изображение отсутствует": AttachmentKind.IMAGE,
            "видео отсутствует": AttachmentKind.VIDEO,
            "аудиофайл отсутствует": AttachmentKind.VOICE,
            "стикер не добавлен": AttachmentKind.STICKER,
            "GIF отсутствует": AttachmentKind.GIF,
            "документ отсутствует": AttachmentKind.DOCUMENT,
            "Карточка контакта отсутствует": AttachmentKind.CONTACT,
        },
        deleted=(
            "Данное сообщение удалено",
            "Данное сообщение удалено.",
            "Вы удалили данное сообщение",
            "Вы удалили данное сообщение.",
            "Вы удалили это сообщение",
        ),
        file_attached="(файл добавлен)",
        edited_marker="<Сообщение изменено>",
        source=f"{_RU_IOS}; {_MLOMB}; {_WJ_PATTERNS}",
        field_sources={
            "list": _unverified("ru", "no Russian export adding several people was found"),
            "media_omitted": f"{_MLOMB}; {_WJ_PATTERNS}; {_RU_IOS} (iOS kinds)",
            "deleted": f"{_RU_IOS}; {_WJ_PATTERNS}",
            "file_attached": f"{_WJ_PATTERNS}; {_RU_2026}",
            "edited_marker": _unverified(
                "ru", "no Russian export with an edited message was found"
            ),
        },
    ),
    "zh": Language(
        code="zh",
        name="Chinese (Simplified)",
        list_comma="、",
        list_last="和",
        media_omitted={
            "<省略多媒体文件>": AttachmentKind.MEDIA,
            "照片已忽略": AttachmentKind.IMAGE,
            "视频已忽略": AttachmentKind.VIDEO,
            "音频已忽略": AttachmentKind.VOICE,
            "贴图已省略": AttachmentKind.STICKER,
            "GIF 动态图已被忽略": AttachmentKind.GIF,
            "文档已省略": AttachmentKind.DOCUMENT,
            "联系人卡片已忽略": AttachmentKind.CONTACT,
        },
        deleted=(
            "这条消息已被删除。",
            "这条消息已被删除",
            "您已删除这条消息。",
            "您已删除这条消息",
            "信息已删除",
            "您删除这个信息",
        ),
        file_attached="(文件附件)",
        edited_marker="<已编辑此消息>",
        source=f"{_MLOMB}; {_WJ_PATTERNS}",
        field_sources={
            "list": _unverified("zh", "no Chinese export adding several people was found"),
            "media_omitted": f"{_MLOMB} (<省略多媒体文件>); {_WJ_PATTERNS} (zh-CN iOS kinds)",
            "deleted": f"{_WJ_PATTERNS} (zh-CN, current and older strings)",
            "file_attached": _WJ_PATTERNS,
            "edited_marker": _unverified(
                "zh", "no Chinese export with an edited message was found"
            ),
        },
    ),
}


_E2E_EN = (
    "Messages and calls are end-to-end encrypted. No one outside of this chat, "
    "not even WhatsApp, can read or listen to them."
)

_EN: Final[tuple[SystemLine, ...]] = (
    # encryption notices
    SystemLine("en", _E.ENCRYPTION_NOTICE, _E2E_EN + " Tap to learn more.", _EN_CA, _A),
    SystemLine("en", _E.ENCRYPTION_NOTICE, _E2E_EN, f"{_EN_PUSTUR}; {_EN_PUSTUR_WEB3}", _I),
    SystemLine(
        "en",
        _E.ENCRYPTION_NOTICE,
        "Messages and calls are end-to-end encrypted. Only people in this chat can read, "
        "listen to, or share them. Learn more",
        _EN_2026,
        _A,
    ),
    SystemLine(
        "en",
        _E.ENCRYPTION_NOTICE,
        "Messages to this group are now secured with end-to-end encryption. Tap for more info.",
        _EN_OLD_E2E,
        _A,
    ),
    # security code
    SystemLine(
        "en",
        _E.SECURITY_CODE_CHANGED,
        "{member}'s security code changed. Tap for more info.",
        _EN_SEC,
        _A,
    ),
    SystemLine(
        "en",
        _E.SECURITY_CODE_CHANGED,
        "{member}'s security code changed. Tap to learn more.",
        f"{_WA_WEB}; public test data, code-index file 70949539790",
    ),
    SystemLine(
        "en",
        _E.SECURITY_CODE_CHANGED,
        "Your security code with {member} changed. Tap to learn more.",
        f"{_EN_WHATSR}; {_WJ_PATTERNS} (iOS key G)W)p)",
    ),
    # group created
    SystemLine(
        "en", _E.GROUP_CREATED, 'You created group "{subject}"', _EN_WHATSR, _A, you="actor"
    ),
    SystemLine("en", _E.GROUP_CREATED, '{actor} created group "{subject}"', _EN_CA, _A),
    SystemLine(
        "en", _E.GROUP_CREATED, "You created group “{subject}”", _EN_PUSTUR_WEB3, _I, you="actor"
    ),
    SystemLine("en", _E.GROUP_CREATED, "{actor} created group “{subject}”", _EN_PUSTUR, _I),
    SystemLine("en", _E.GROUP_CREATED, "You created this group", _EN_2023, _A, you="actor"),
    SystemLine("en", _E.GROUP_CREATED, "{actor} created this group", _EN_CREATED_THIS, _A),
    SystemLine("en", _E.GROUP_CREATED, "{actor} created the group", _WA_WEB, _W),
    # joined with the invite link
    SystemLine(
        "en",
        _E.JOINED_VIA_LINK,
        "You joined using this group's invite link",
        f"{_CHATNALIZER}; {_WJ_PATTERNS} (iOS key )H04Q)",
        you="member",
    ),
    SystemLine(
        "en",
        _E.JOINED_VIA_LINK,
        "{member} joined using this group's invite link",
        f"{_EN_WJ}; {_CHATNALIZER}",
    ),
    SystemLine("en", _E.JOINED_VIA_LINK, "{member} joined using a group link.", _EN_2026, _A),
    SystemLine("en", _E.JOINED_VIA_LINK, "{member} joined via invite link", _WA_WEB, _W),
    SystemLine(
        "en", _E.JOINED_FROM_COMMUNITY, "{member} joined from the community", _EN_WHATSTK, _A
    ),
    # subject
    SystemLine(
        "en",
        _E.SUBJECT_CHANGED,
        'You changed the subject from "{old}" to "{new}"',
        _EN_WJ,
        _A,
        you="actor",
    ),
    SystemLine(
        "en",
        _E.SUBJECT_CHANGED,
        '{actor} changed the subject from "{old}" to "{new}"',
        f"{_EN_WHATSR} (regex '(.)*? changed the subject from'); straight quotes as in {_EN_WJ}",
        _A,
    ),
    SystemLine(
        "en",
        _E.SUBJECT_CHANGED,
        "{actor} changed the subject from “{old}” to “{new}”",
        f"{_EN_WHATSR} (regex for other members, curly quotes)",
        _I,
    ),
    SystemLine(
        "en",
        _E.SUBJECT_CHANGED,
        'You changed the group name from "{old}" to "{new}"',
        _EN_2023,
        _A,
        you="actor",
    ),
    SystemLine(
        "en",
        _E.SUBJECT_CHANGED,
        '{actor} changed the group name from "{old}" to "{new}"',
        f"{_CHATNALIZER} (' changed the group name from '); {_EN_2023}",
        _A,
    ),
    SystemLine("en", _E.SUBJECT_CHANGED, "{actor} changed the group name to '{new}'", _WA_WEB, _W),
    # description
    SystemLine(
        "en", _E.DESCRIPTION_CHANGED, "You changed the group description", _EN_WJ, you="actor"
    ),
    SystemLine("en", _E.DESCRIPTION_CHANGED, "{actor} changed the group description", _EN_WJ),
    SystemLine("en", _E.DESCRIPTION_CHANGED, "{actor} cleared the group description", _WA_WEB, _W),
    # icon
    SystemLine("en", _E.ICON_CHANGED, "You changed this group's icon", _EN_WHATSR, you="actor"),
    SystemLine(
        "en", _E.ICON_CHANGED, "{actor} changed this group's icon", f"{_EN_2023}; {_EN_WHATSR}"
    ),
    SystemLine("en", _E.ICON_CHANGED, "{actor} changed the group icon", _WA_WEB, _W),
    SystemLine(
        "en",
        _E.ICON_DELETED,
        "You deleted this group's icon",
        _inferred("'{actor} deleted this group's icon' row"),
        you="actor",
    ),
    SystemLine("en", _E.ICON_DELETED, "{actor} deleted this group's icon", _EN_ICON_DEL),
    # phone number
    SystemLine("en", _E.NUMBER_CHANGED, "{old} changed to {new}", _EN_NUMBER),
    SystemLine(
        "en",
        _E.NUMBER_CHANGED,
        "{member} changed their phone number to a new number. "
        "Tap to message or add the new number.",
        f"{_EN_WHATSR}; {_WJ_PATTERNS} (comment list)",
    ),
    # added / removed / left
    SystemLine("en", _E.ADDED, "{actor} added you", _EN_CA, you="member"),
    SystemLine("en", _E.ADDED, "You added {members}", _EN_WHATSR, you="actor"),
    SystemLine("en", _E.ADDED, "{actor} added {members}", f"{_EN_IDSUNDEV}; {_WA_WEB}"),
    SystemLine(
        "en", _E.ADDED, "You were added", f"{_EN_CHATMINER}; {_CHATNALIZER}", _A, you="member"
    ),
    SystemLine("en", _E.REMOVED, "{actor} removed you", _CHATNALIZER, you="member"),
    SystemLine("en", _E.REMOVED, "You removed {member}", _EN_WHATSR, you="actor"),
    SystemLine("en", _E.REMOVED, "{actor} removed {member}", _EN_WJ),
    SystemLine("en", _E.LEFT, "You left", _CHATNALIZER, you="member"),
    SystemLine("en", _E.LEFT, "{member} left", f"{_CHATNALIZER}; {_WA_WEB}"),
)


_E2E_DE = (
    "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Niemand außerhalb dieses Chats "
    "kann sie lesen oder anhören, nicht einmal WhatsApp."
)
_DE_NOT_FOUND = _unverified("de")

_DE: Final[tuple[SystemLine, ...]] = (
    SystemLine(
        "de", _E.ENCRYPTION_NOTICE, _E2E_DE + " Tippe, um mehr zu erfahren.", _DE_WHATSR, _A
    ),
    SystemLine("de", _E.ENCRYPTION_NOTICE, _E2E_DE, _DE_IOS, _I),
    SystemLine(
        "de",
        _E.ENCRYPTION_NOTICE,
        "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Nur Personen in diesem Chat "
        "können sie lesen, anhören oder teilen. Mehr erfahren",
        _DE_2025,
        _A,
    ),
    SystemLine(
        "de",
        _E.SECURITY_CODE_CHANGED,
        "Deine Sicherheitsnummer für {member} hat sich geändert. Tippe, um mehr zu erfahren.",
        f"{_DE_WHATSR_CSV}; {_DE_IOS}",
    ),
    SystemLine(
        "de",
        _E.GROUP_CREATED,
        "{actor} hat die Gruppe „{subject}“ erstellt.",
        f"{_DE_REGEX}; {_DE_WHATSR_CSV}",
    ),
    SystemLine(
        "de", _E.GROUP_CREATED, 'Du hast die Gruppe "{subject}" erstellt.', _DE_WHATSR, you="actor"
    ),
    SystemLine(
        "de",
        _E.GROUP_CREATED,
        "Du hast die Gruppe „{subject}“ erstellt.",
        _inferred("third-person row (German quotes)"),
        you="actor",
    ),
    SystemLine("de", _E.GROUP_CREATED, "Du hast die Gruppe erstellt", _DE_WHATSR_33, you="actor"),
    SystemLine(
        "de",
        _E.GROUP_CREATED,
        "{actor} hat die Gruppe erstellt",
        _inferred("'Du hast die Gruppe erstellt' row (WhatsR issue #33)"),
    ),
    SystemLine(
        "de",
        _E.JOINED_VIA_LINK,
        "{member} ist über den Einladungslink der Gruppe beigetreten.",
        _unverified(
            "de",
            "only third-party keyword lists ('ist über den Einladungslink beigetreten', "
            "code-index files 9923028616, 1907235087) were found, none built from an export",
        ),
    ),
    SystemLine(
        "de",
        _E.JOINED_VIA_LINK,
        "{member} ist der Gruppe über den Einladungslink beigetreten.",
        _unverified("de", "variant seen only in a third-party regex list, code-index 9887410439"),
    ),
    SystemLine(
        "de",
        _E.JOINED_VIA_LINK,
        "Du bist der Gruppe über den Einladungslink beigetreten.",
        _DE_NOT_FOUND,
        you="member",
    ),
    SystemLine(
        "de",
        _E.JOINED_FROM_COMMUNITY,
        "{member} ist von der Community beigetreten.",
        _unverified(
            "de",
            "prefix 'ist von der Community' seen in a German export filter (code-index "
            "56084714088), the rest is not",
        ),
    ),
    SystemLine(
        "de",
        _E.SUBJECT_CHANGED,
        'Du hast den Betreff von "{old}" zu "{new}" geändert.',
        _DE_WHATSR,
        you="actor",
    ),
    SystemLine(
        "de",
        _E.SUBJECT_CHANGED,
        "{actor} hat den Betreff von „{old}“ zu „{new}“ geändert.",
        f"{_DE_WHATSR_CSV}; {_DE_REGEX}",
    ),
    SystemLine(
        "de",
        _E.DESCRIPTION_CHANGED,
        "Du hast die Gruppenbeschreibung geändert.",
        _inferred(
            "third-person row; 'Du hast die Gruppenbeschreibung geändert' (no period) is also "
            "in third-party lists, code-index files 1907235087, 9887410439"
        ),
        you="actor",
    ),
    SystemLine(
        "de",
        _E.DESCRIPTION_CHANGED,
        "{actor} hat die Gruppenbeschreibung geändert.",
        _DE_CONFIG,
    ),
    SystemLine("de", _E.ICON_CHANGED, "Du hast das Gruppenbild geändert.", _DE_WHATSR, you="actor"),
    SystemLine("de", _E.ICON_CHANGED, "{actor} hat das Gruppenbild geändert.", _DE_WHATSR_CSV),
    SystemLine(
        "de",
        _E.ICON_DELETED,
        "Du hast das Gruppenbild gelöscht.",
        f"{_DE_GRAMMAR}; {_DE_VMSG}",
        you="actor",
    ),
    SystemLine(
        "de",
        _E.ICON_DELETED,
        "{actor} hat das Gruppenbild gelöscht.",
        f"{_DE_GRAMMAR}; {_DE_CONFIG}",
    ),
    SystemLine("de", _E.NUMBER_CHANGED, "{old} hat zu {new} gewechselt.", _DE_WHATSR_CSV),
    SystemLine(
        "de",
        _E.NUMBER_CHANGED,
        "{member} hat eine neue Telefonnummer. Tippe, um eine Nachricht zu schreiben oder die "
        "neue Nummer hinzuzufügen.",
        _DE_WHATSR_CSV,
    ),
    SystemLine(
        "de",
        _E.ADDED,
        "{actor} hat dich hinzugefügt.",
        _DE_GRAMMAR,
        you="member",
    ),
    SystemLine("de", _E.ADDED, "Du hast {members} hinzugefügt.", _DE_WHATSR, you="actor"),
    SystemLine("de", _E.ADDED, "{actor} hat {members} hinzugefügt.", _DE_WHATSR_CSV),
    SystemLine(
        "de",
        _E.ADDED,
        "Du wurdest hinzugefügt.",
        _unverified(
            "de",
            "seen only without the final period, in third-party lists (code-index files "
            "15426816555, 41759362035, 1907235087); the period follows the other German Android "
            "lines",
        ),
        you="member",
    ),
    SystemLine(
        "de",
        _E.REMOVED,
        "{actor} hat dich entfernt.",
        _DE_GRAMMAR,
        you="member",
    ),
    SystemLine("de", _E.REMOVED, "Du hast {member} entfernt.", _DE_WHATSR, you="actor"),
    SystemLine("de", _E.REMOVED, "{actor} hat {member} entfernt.", _DE_WHATSR_CSV),
    SystemLine(
        "de",
        _E.LEFT,
        "Du hast die Gruppe verlassen.",
        _DE_GRAMMAR,
        you="member",
    ),
    SystemLine("de", _E.LEFT, "{member} hat die Gruppe verlassen.", _DE_WHATSR_CSV),
)


_E2E_ES = (
    "Los mensajes y las llamadas están cifrados de extremo a extremo. Nadie fuera de este chat, "
    "ni siquiera WhatsApp, puede leerlos ni escucharlos."
)
_ES_LINK = "el enlace de invitación de este grupo"

_ES: Final[tuple[SystemLine, ...]] = (
    SystemLine(
        "es",
        _E.ENCRYPTION_NOTICE,
        _E2E_ES + " Toca para obtener más información.",
        _e2e_suffix("Spanish", f"{_MLOMB}; {_WJ_PATTERNS}"),
        _A,
    ),
    SystemLine("es", _E.ENCRYPTION_NOTICE, _E2E_ES, f"{_WJ_PATTERNS}; {_MLOMB}", _I),
    SystemLine(
        "es",
        _E.SECURITY_CODE_CHANGED,
        "Cambió tu código de seguridad con {member}. Toca para obtener más información.",
        f"prefix: {_ES_FILTER}; the ' Toca para …' suffix is unverified",
        _A,
    ),
    SystemLine(
        "es",
        _E.SECURITY_CODE_CHANGED,
        "Cambió tu código de seguridad con {member}. Pulsa para obtener más información.",
        _WJ_PATTERNS,
        _I,
    ),
    SystemLine("es", _E.GROUP_CREATED, '{actor} creó el grupo "{subject}".', _ES_DOC),
    SystemLine(
        "es", _E.GROUP_CREATED, '{actor} creó el grupo "{subject}"', f"{_ES_REGEX}; {_ES_FILTER}"
    ),
    SystemLine("es", _E.GROUP_CREATED, 'Creaste el grupo "{subject}"', _ES_JAVA, you="actor"),
    SystemLine("es", _E.GROUP_CREATED, "Creaste este grupo", _ES_REGEX, you="actor"),
    SystemLine("es", _E.GROUP_CREATED, "{actor} creó este grupo", _ES_REGEX),
    SystemLine(
        "es",
        _E.JOINED_VIA_LINK,
        "{member} se unió usando " + _ES_LINK,
        f"{_CHATNALIZER}; {_ES_FILTER}; {_ES_JAVA}",
    ),
    SystemLine(
        "es",
        _E.JOINED_VIA_LINK,
        "Te uniste mediante " + _ES_LINK + ".",
        f"{_CHATNALIZER}; {_ES_DOC}",
        you="member",
    ),
    SystemLine(
        "es",
        _E.JOINED_VIA_LINK,
        "Te uniste usando " + _ES_LINK,
        f"{_ES_REGEX} (alternative 'usando')",
        you="member",
    ),
    SystemLine(
        "es", _E.JOINED_FROM_COMMUNITY, "{member} se unió desde la comunidad", _unverified("es")
    ),
    SystemLine(
        "es",
        _E.SUBJECT_CHANGED,
        'Cambiaste el nombre del grupo de "{old}" a "{new}"',
        _inferred("'{actor} cambió el nombre del grupo de' row"),
        you="actor",
    ),
    SystemLine(
        "es",
        _E.SUBJECT_CHANGED,
        '{actor} cambió el nombre del grupo de "{old}" a "{new}"',
        f"{_CHATNALIZER} (' cambió el nombre del grupo de ')",
    ),
    SystemLine(
        "es",
        _E.SUBJECT_CHANGED,
        '{actor} cambió el asunto de "{old}" a "{new}"',
        _unverified(
            "es",
            "older 'asunto' wording; only the fragment 'cambió el asunto de' was found, in a "
            "Spanish export viewer's filter (code-index file 4569775490), not the quoting",
        ),
    ),
    SystemLine(
        "es",
        _E.DESCRIPTION_CHANGED,
        "Cambiaste la descripción del grupo",
        f"{_ES_2026}; {_ES_JAVA}",
        you="actor",
    ),
    SystemLine(
        "es", _E.DESCRIPTION_CHANGED, "{actor} cambió la descripción del grupo.", _CHATNALIZER
    ),
    SystemLine("es", _E.DESCRIPTION_CHANGED, "{actor} cambió la descripción del grupo", _ES_JAVA),
    SystemLine(
        "es",
        _E.ICON_CHANGED,
        "Cambiaste el ícono de este grupo",
        _inferred("'{actor} cambió el ícono de este grupo' row"),
        you="actor",
    ),
    SystemLine(
        "es",
        _E.ICON_CHANGED,
        "{actor} cambió el ícono de este grupo",
        f"{_CHATNALIZER}; {_ES_JAVA}",
    ),
    SystemLine(
        "es",
        _E.ICON_DELETED,
        "Eliminaste el ícono de este grupo",
        _unverified("es", _ES_ICON_DEL),
        you="actor",
    ),
    SystemLine(
        "es",
        _E.ICON_DELETED,
        "{actor} eliminó el ícono de este grupo",
        _unverified("es", _ES_ICON_DEL),
    ),
    SystemLine(
        "es",
        _E.NUMBER_CHANGED,
        "{member} cambió su número de teléfono a un nuevo número. Toca para enviarle un mensaje "
        "o añadir el nuevo número.",
        _unverified(
            "es",
            "only the words 'cambió su número de teléfono' in keyword lists (code-index "
            "59730335948, 38992309561); third-party tests disagree on the rest ('a un número "
            "nuevo.', code-index 54682169678)",
        ),
    ),
    SystemLine("es", _E.NUMBER_CHANGED, "{old} cambió a {new}", _ES_FILTER),
    SystemLine(
        "es", _E.ADDED, "Se te añadió al grupo.", f"{_CHATNALIZER}; {_ES_FILTER}", you="member"
    ),
    SystemLine("es", _E.ADDED, "{actor} te añadió.", _ES_WEB_2026, you="member"),
    SystemLine("es", _E.ADDED, "{actor} te añadió", f"{_CHATNALIZER}; {_ES_JAVA}", you="member"),
    SystemLine("es", _E.ADDED, "Añadiste a {members}.", _ES_2026, you="actor"),
    SystemLine("es", _E.ADDED, "Añadiste a {members}", f"{_CHATNALIZER}; {_ES_JAVA}", you="actor"),
    SystemLine(
        "es", _E.ADDED, "{actor} añadió a {members}.", _inferred("'Añadiste a {members}.' row")
    ),
    SystemLine("es", _E.ADDED, "{actor} añadió a {members}", f"{_CHATNALIZER}; {_ES_JAVA}"),
    SystemLine("es", _E.REMOVED, "{actor} te eliminó.", _CHATNALIZER, you="member"),
    SystemLine(
        "es", _E.REMOVED, "{actor} te eliminó", _inferred("'{actor} te eliminó.' row"), you="member"
    ),
    SystemLine(
        "es",
        _E.REMOVED,
        "Eliminaste a {member}.",
        _inferred("'Añadiste a {members}.' row"),
        you="actor",
    ),
    SystemLine("es", _E.REMOVED, "Eliminaste a {member}", _CHATNALIZER, you="actor"),
    SystemLine(
        "es", _E.REMOVED, "{actor} eliminó a {member}.", _inferred("'Añadiste a {members}.' row")
    ),
    SystemLine("es", _E.REMOVED, "{actor} eliminó a {member}", _CHATNALIZER),
    SystemLine(
        "es",
        _E.LEFT,
        "Saliste del grupo.",
        _inferred("'{member} salió del grupo.' row"),
        you="member",
    ),
    SystemLine("es", _E.LEFT, "Saliste del grupo", _CHATNALIZER, you="member"),
    SystemLine("es", _E.LEFT, "{member} salió del grupo.", _CHATNALIZER),
    SystemLine(
        "es", _E.LEFT, "{member} salió del grupo", _inferred("'{member} salió del grupo.' row")
    ),
    SystemLine(
        "es",
        _E.LEFT,
        "{member} salió",
        _unverified(
            "es",
            "older short wording, not seen in an export; only a third-party matcher accepts it "
            "(code-index file 61437348938, '^(.+?) salió\\.?$')",
        ),
    ),
)


_E2E_PT = (
    "As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta e ficam "
    "somente entre você e os participantes desta conversa. Nem mesmo o WhatsApp pode ler ou "
    "ouvi-las."
)

_PT: Final[tuple[SystemLine, ...]] = (
    SystemLine(
        "pt",
        _E.ENCRYPTION_NOTICE,
        _E2E_PT + " Toque para saber mais.",
        _e2e_suffix("Portuguese", _WJ_PATTERNS),
        _A,
    ),
    SystemLine("pt", _E.ENCRYPTION_NOTICE, _E2E_PT, _WJ_PATTERNS, _I),
    SystemLine(
        "pt",
        _E.ENCRYPTION_NOTICE,
        "As mensagens e ligações são protegidas com a criptografia de ponta a ponta.",
        f"{_PT_SAMPLES} (newer notice as quoted there; may be shortened by the authors)",
        _A,
    ),
    SystemLine(
        "pt",
        _E.SECURITY_CODE_CHANGED,
        "Seu código de segurança com {member} mudou. Toque para saber mais.",
        f"{_WJ_PATTERNS}; prefix also in {_PT_R}",
    ),
    SystemLine(
        "pt",
        _E.GROUP_CREATED,
        'Você criou o grupo "{subject}"',
        _inferred("'{actor} criou o grupo' row"),
        you="actor",
    ),
    SystemLine(
        "pt", _E.GROUP_CREATED, '{actor} criou o grupo "{subject}"', f"{_PT_CHATLENS}; {_PT_R}"
    ),
    SystemLine("pt", _E.GROUP_CREATED, "Você criou este grupo", _PT_JS, you="actor"),
    SystemLine(
        "pt", _E.GROUP_CREATED, "{actor} criou este grupo", _inferred("'Você criou este grupo' row")
    ),
    SystemLine(
        "pt",
        _E.JOINED_VIA_LINK,
        "Você entrou usando o link de convite deste grupo",
        _PT_CHATLENS,
        you="member",
    ),
    SystemLine(
        "pt",
        _E.JOINED_VIA_LINK,
        "{member} entrou usando o link de convite deste grupo",
        f"{_CHATNALIZER}; {_PT_R}; {_PT_JAVA}",
    ),
    SystemLine(
        "pt",
        _E.JOINED_FROM_COMMUNITY,
        "{member} entrou neste grupo através da comunidade",
        _PT_JAVA,
    ),
    SystemLine(
        "pt",
        _E.SUBJECT_CHANGED,
        'Você mudou o nome do grupo de "{old}" para "{new}"',
        _inferred("'{actor} mudou o nome do grupo de' row"),
        you="actor",
    ),
    SystemLine(
        "pt",
        _E.SUBJECT_CHANGED,
        '{actor} mudou o nome do grupo de "{old}" para "{new}"',
        f"{_CHATNALIZER} (' mudou o nome do grupo de ')",
    ),
    SystemLine(
        "pt", _E.SUBJECT_CHANGED, '{actor} mudou o assunto de "{old}" para "{new}"', _PT_CHATLENS
    ),
    SystemLine(
        "pt",
        _E.DESCRIPTION_CHANGED,
        "Você mudou a descrição do grupo",
        _inferred("'{actor} mudou a descrição do grupo' row"),
        you="actor",
    ),
    SystemLine(
        "pt",
        _E.DESCRIPTION_CHANGED,
        "{actor} mudou a descrição do grupo",
        f"{_CHATNALIZER}; {_PT_JS}",
    ),
    SystemLine(
        "pt",
        _E.ICON_CHANGED,
        "Você mudou a imagem deste grupo",
        _inferred("'{actor} mudou a imagem deste grupo.' row"),
        you="actor",
    ),
    SystemLine("pt", _E.ICON_CHANGED, "{actor} mudou a imagem deste grupo.", _CHATNALIZER),
    SystemLine("pt", _E.ICON_CHANGED, "{actor} mudou o ícone deste grupo", _PT_JS),
    SystemLine(
        "pt", _E.ICON_DELETED, "Você apagou a imagem deste grupo", _PT_WEB_ICON, you="actor"
    ),
    SystemLine(
        "pt",
        _E.ICON_DELETED,
        "{actor} apagou a imagem deste grupo",
        _inferred("'Você apagou a imagem deste grupo' row"),
    ),
    SystemLine(
        "pt",
        _E.NUMBER_CHANGED,
        "{member} mudou seu número de telefone para um novo número. Toque para enviar uma "
        "mensagem ou adicionar o novo número.",
        f"first sentence: {_PT_CHATLENS} ('Você mudou seu número de telefone para um novo "
        "número.'); the second sentence is unverified",
    ),
    SystemLine("pt", _E.NUMBER_CHANGED, "{old} mudou para {new}", _unverified("pt")),
    SystemLine("pt", _E.ADDED, "{actor} adicionou você", _CHATNALIZER, you="member"),
    SystemLine("pt", _E.ADDED, "Você foi adicionado(a)", _CHATNALIZER, you="member"),
    SystemLine("pt", _E.ADDED, "Você adicionou {members}", _CHATNALIZER, you="actor"),
    SystemLine("pt", _E.ADDED, "{actor} adicionou {members}", f"{_CHATNALIZER}; {_PT_CHATLENS}"),
    SystemLine("pt", _E.REMOVED, "{actor} removeu você", _CHATNALIZER, you="member"),
    SystemLine("pt", _E.REMOVED, "Você removeu {member}", _CHATNALIZER, you="actor"),
    SystemLine("pt", _E.REMOVED, "{actor} removeu {member}", _CHATNALIZER),
    SystemLine("pt", _E.LEFT, "Você saiu", f"{_CHATNALIZER}; {_PT_CHATLENS}", you="member"),
    SystemLine("pt", _E.LEFT, "{member} saiu", f"{_CHATNALIZER}; {_PT_SAMPLES}"),
)


_E2E_FR = (
    "Les messages et les appels sont chiffrés de bout en bout. Aucun tiers, pas même WhatsApp, "
    "ne peut les lire ou les écouter."
)
_FR_NOT_FOUND = _unverified("fr")

_FR: Final[tuple[SystemLine, ...]] = (
    SystemLine(
        "fr",
        _E.ENCRYPTION_NOTICE,
        _E2E_FR + " Appuyez pour en savoir plus.",
        _e2e_suffix("French", _FR_IOS),
        _A,
    ),
    SystemLine("fr", _E.ENCRYPTION_NOTICE, _E2E_FR, f"{_FR_IOS}; {_WJ_PATTERNS}", _I),
    SystemLine(
        "fr",
        _E.SECURITY_CODE_CHANGED,
        "Votre code de sécurité avec {member} a changé. Appuyez pour en savoir plus.",
        f"{_FR_IOS}; {_WJ_PATTERNS} (iOS; Android assumed identical)",
    ),
    SystemLine(
        "fr",
        _E.SECURITY_CODE_CHANGED,
        "Le code de sécurité de {member} a changé. Appuyez pour en savoir plus.",
        _unverified("fr", "group form of the notice, not seen in an export"),
        _A,
    ),
    SystemLine("fr", _E.GROUP_CREATED, '{actor} a créé le groupe "{subject}"', _FR_CREATED),
    SystemLine(
        "fr", _E.GROUP_CREATED, 'Vous avez créé le groupe "{subject}"', _FR_NOT_FOUND, you="actor"
    ),
    SystemLine(
        "fr",
        _E.JOINED_VIA_LINK,
        "{member} a rejoint ce groupe via le lien d'invitation",
        _FR_NOT_FOUND,
    ),
    SystemLine(
        "fr",
        _E.JOINED_VIA_LINK,
        "Vous avez rejoint ce groupe via le lien d'invitation",
        _FR_NOT_FOUND,
        you="member",
    ),
    SystemLine(
        "fr", _E.JOINED_FROM_COMMUNITY, "{member} a rejoint depuis la communauté", _FR_NOT_FOUND
    ),
    SystemLine(
        "fr", _E.SUBJECT_CHANGED, '{actor} a changé le sujet de "{old}" en "{new}"', _FR_NOT_FOUND
    ),
    SystemLine(
        "fr",
        _E.SUBJECT_CHANGED,
        'Vous avez changé le sujet de "{old}" en "{new}"',
        _FR_NOT_FOUND,
        you="actor",
    ),
    SystemLine(
        "fr", _E.DESCRIPTION_CHANGED, "{actor} a modifié la description du groupe", _FR_NOT_FOUND
    ),
    SystemLine(
        "fr",
        _E.DESCRIPTION_CHANGED,
        "Vous avez modifié la description du groupe",
        _FR_NOT_FOUND,
        you="actor",
    ),
    SystemLine("fr", _E.ICON_CHANGED, "{actor} a changé l'icône de ce groupe", _FR_NOT_FOUND),
    SystemLine(
        "fr", _E.ICON_CHANGED, "Vous avez changé l'icône de ce groupe", _FR_NOT_FOUND, you="actor"
    ),
    SystemLine("fr", _E.ICON_DELETED, "{actor} a supprimé l'icône de ce groupe", _FR_NOT_FOUND),
    SystemLine(
        "fr", _E.ICON_DELETED, "Vous avez supprimé l'icône de ce groupe", _FR_NOT_FOUND, you="actor"
    ),
    SystemLine("fr", _E.NUMBER_CHANGED, "{old} a changé de numéro pour {new}", _FR_NOT_FOUND),
    SystemLine(
        "fr",
        _E.NUMBER_CHANGED,
        "{member} a changé son numéro de téléphone pour un nouveau numéro. Appuyez pour envoyer "
        "un message ou ajouter le nouveau numéro.",
        _FR_NOT_FOUND,
    ),
    SystemLine("fr", _E.ADDED, "{actor} vous a ajouté", _FR_NOT_FOUND, you="member"),
    SystemLine("fr", _E.ADDED, "Vous avez ajouté {members}", _FR_NOT_FOUND, you="actor"),
    SystemLine("fr", _E.ADDED, "{actor} a ajouté {members}", _FR_NOT_FOUND),
    SystemLine("fr", _E.REMOVED, "{actor} vous a retiré", _FR_NOT_FOUND, you="member"),
    SystemLine("fr", _E.REMOVED, "Vous avez retiré {member}", _FR_NOT_FOUND, you="actor"),
    SystemLine("fr", _E.REMOVED, "{actor} a retiré {member}", _FR_NOT_FOUND),
    SystemLine("fr", _E.LEFT, "Vous êtes parti", _FR_NOT_FOUND, you="member"),
    SystemLine("fr", _E.LEFT, "{member} est parti", _FR_NOT_FOUND),
    SystemLine("fr", _E.LEFT, "{member} a quitté le groupe", _FR_NOT_FOUND),
)


_E2E_IT = (
    "I messaggi e le chiamate sono crittografati end-to-end. Nessuno al di fuori di questa "
    "chat, nemmeno WhatsApp, può leggerne o ascoltarne il contenuto."
)
_IT_NOT_FOUND = _unverified("it")

_IT: Final[tuple[SystemLine, ...]] = (
    SystemLine(
        "it",
        _E.ENCRYPTION_NOTICE,
        _E2E_IT + " Tocca per saperne di più.",
        _e2e_suffix("Italian", _WJ_PATTERNS),
        _A,
    ),
    SystemLine("it", _E.ENCRYPTION_NOTICE, _E2E_IT, _WJ_PATTERNS, _I),
    SystemLine(
        "it",
        _E.ENCRYPTION_NOTICE,
        "I messaggi inviati a questo gruppo sono ora protetti con la crittografia end-to-end. "
        "Tocca per maggiori info.",
        _IT_2017,
        _A,
    ),
    SystemLine(
        "it",
        _E.SECURITY_CODE_CHANGED,
        "Il tuo codice di sicurezza con {member} è cambiato. Tocca per saperne di più.",
        f"{_WJ_PATTERNS}; prefix also in {_IT_PATTERNS}",
    ),
    SystemLine(
        "it",
        _E.SECURITY_CODE_CHANGED,
        "Il codice sicurezza di {member} è cambiato. Tocca per maggiori info.",
        _unverified("it", f"only the prefix 'Il codice sicurezza di' is in {_IT_2017}"),
        _A,
    ),
    SystemLine("it", _E.GROUP_CREATED, "{actor} ha creato il gruppo “{subject}”", _IT_2017),
    SystemLine(
        "it",
        _E.GROUP_CREATED,
        "Hai creato il gruppo “{subject}”",
        _inferred("'{actor} ha creato il gruppo' row"),
        you="actor",
    ),
    SystemLine(
        "it",
        _E.JOINED_VIA_LINK,
        "{member} è entrato usando il link d'invito al gruppo",
        f"{_IT_2017}; {_IT_PATTERNS}",
    ),
    SystemLine(
        "it",
        _E.JOINED_VIA_LINK,
        "Sei entrato usando il link d'invito al gruppo",
        _inferred("third-person row"),
        you="member",
    ),
    SystemLine(
        "it", _E.JOINED_FROM_COMMUNITY, "{member} si è unito dalla community", _IT_NOT_FOUND
    ),
    SystemLine(
        "it",
        _E.SUBJECT_CHANGED,
        "{actor} ha cambiato l'oggetto da “{old}” a “{new}”",
        f"{_IT_2017} (quotes as in its 'ha creato il gruppo “')",
    ),
    SystemLine(
        "it",
        _E.SUBJECT_CHANGED,
        "Hai cambiato l'oggetto da “{old}” a “{new}”",
        _inferred("third-person row"),
        you="actor",
    ),
    SystemLine(
        "it", _E.DESCRIPTION_CHANGED, "{actor} ha cambiato la descrizione del gruppo", _IT_PATTERNS
    ),
    SystemLine(
        "it",
        _E.DESCRIPTION_CHANGED,
        "Hai cambiato la descrizione del gruppo",
        _inferred("third-person row"),
        you="actor",
    ),
    SystemLine("it", _E.ICON_CHANGED, "{actor} ha cambiato l'immagine del gruppo", _IT_2017),
    SystemLine(
        "it",
        _E.ICON_CHANGED,
        "Hai cambiato l'immagine del gruppo",
        _inferred("third-person row"),
        you="actor",
    ),
    SystemLine("it", _E.ICON_DELETED, "{actor} ha eliminato l'immagine del gruppo", _IT_NOT_FOUND),
    SystemLine(
        "it", _E.ICON_DELETED, "Hai eliminato l'immagine del gruppo", _IT_NOT_FOUND, you="actor"
    ),
    SystemLine("it", _E.NUMBER_CHANGED, "{old} ha cambiato numero in {new}", _IT_PATTERNS),
    SystemLine("it", _E.NUMBER_CHANGED, "{old} è stato cambiato con {new}", _IT_PATTERNS),
    SystemLine(
        "it",
        _E.NUMBER_CHANGED,
        "{member} ha cambiato il suo numero di telefono. Tocca per inviare un messaggio o "
        "aggiungere il nuovo numero.",
        _IT_NOT_FOUND,
    ),
    SystemLine(
        "it", _E.ADDED, "{actor} ti ha aggiunto", f"{_IT_PATTERNS}; {_IT_EDITED}", you="member"
    ),
    SystemLine("it", _E.ADDED, "Hai aggiunto {members}", _IT_PATTERNS, you="actor"),
    SystemLine("it", _E.ADDED, "{actor} ha aggiunto {members}", f"{_IT_2017}; {_IT_PATTERNS}"),
    SystemLine(
        "it",
        _E.REMOVED,
        "{actor} ti ha rimosso",
        _inferred("'{actor} ti ha aggiunto' row"),
        you="member",
    ),
    SystemLine("it", _E.REMOVED, "Hai rimosso {member}", _IT_PATTERNS, you="actor"),
    SystemLine("it", _E.REMOVED, "{actor} ha rimosso {member}", f"{_IT_2017}; {_IT_PATTERNS}"),
    SystemLine(
        "it", _E.LEFT, "Hai abbandonato", _inferred("'{member} ha abbandonato' row"), you="member"
    ),
    SystemLine("it", _E.LEFT, "{member} ha abbandonato", f"{_IT_2017}; {_IT_PATTERNS}"),
)


_E2E_ID = (
    "Pesan dan panggilan terenkripsi secara end-to-end. Tidak seorang pun di luar chat ini, "
    "termasuk WhatsApp, yang dapat membaca atau mendengarkannya."
)
_ID_NOT_FOUND = _unverified("id")
_ID_LINK = "menggunakan tautan undangan grup ini"

_ID: Final[tuple[SystemLine, ...]] = (
    SystemLine(
        "id",
        _E.ENCRYPTION_NOTICE,
        _E2E_ID + " Ketuk untuk info selengkapnya.",
        _e2e_suffix("Indonesian", _WJ_PATTERNS),
        _A,
    ),
    SystemLine("id", _E.ENCRYPTION_NOTICE, _E2E_ID, _WJ_PATTERNS, _I),
    SystemLine(
        "id",
        _E.ENCRYPTION_NOTICE,
        "Pesan yang dikirim ke grup ini kini diamankan dengan enkripsi end-to-end. Ketuk untuk "
        "info selengkapnya.",
        f"{_ID_2019}; sentence also in {_ID_IRFAN}",
        _A,
    ),
    SystemLine(
        "id",
        _E.SECURITY_CODE_CHANGED,
        "Kode keamanan Anda dengan {member} telah berubah. Ketuk untuk info selengkapnya.",
        f"{_WJ_PATTERNS} (iOS; Android assumed identical)",
    ),
    SystemLine(
        "id",
        _E.GROUP_CREATED,
        'Anda membuat grup "{subject}"',
        _inferred("'Anda membuat grup' row with the group name"),
        you="actor",
    ),
    # older "telah" wording, before the generic row that would read "Budi telah" as the actor
    SystemLine(
        "id", _E.GROUP_CREATED, 'Anda telah membuat grup "{subject}"', _ID_2019, you="actor"
    ),
    SystemLine("id", _E.GROUP_CREATED, '{actor} telah membuat grup "{subject}"', _ID_IRFAN),
    SystemLine("id", _E.GROUP_CREATED, '{actor} membuat grup "{subject}"', _ID_NOT_FOUND),
    SystemLine("id", _E.GROUP_CREATED, "Anda membuat grup", _ID_2022, you="actor"),
    SystemLine(
        "id",
        _E.JOINED_VIA_LINK,
        "Anda bergabung " + _ID_LINK,
        _inferred("'{member} bergabung …' row (2022)"),
        you="member",
    ),
    SystemLine(
        "id",
        _E.JOINED_VIA_LINK,
        "{member} telah bergabung " + _ID_LINK,
        f"{_ID_PATTERNS}; {_ID_EVENTS}",
    ),
    SystemLine("id", _E.JOINED_VIA_LINK, "{member} bergabung " + _ID_LINK, _ID_2022),
    SystemLine("id", _E.JOINED_FROM_COMMUNITY, "{member} bergabung dari komunitas", _ID_NOT_FOUND),
    SystemLine(
        "id",
        _E.SUBJECT_CHANGED,
        'Anda mengubah subjek dari "{old}" menjadi "{new}"',
        _ID_NOT_FOUND,
        you="actor",
    ),
    SystemLine(
        "id",
        _E.SUBJECT_CHANGED,
        '{actor} mengubah subjek dari "{old}" menjadi "{new}"',
        _ID_NOT_FOUND,
    ),
    SystemLine(
        "id", _E.DESCRIPTION_CHANGED, "Anda mengubah deskripsi grup", _ID_NOT_FOUND, you="actor"
    ),
    SystemLine("id", _E.DESCRIPTION_CHANGED, "{actor} mengubah deskripsi grup", _ID_NOT_FOUND),
    SystemLine("id", _E.ICON_CHANGED, "Anda mengubah ikon grup ini", _ID_NOT_FOUND, you="actor"),
    SystemLine("id", _E.ICON_CHANGED, "{actor} telah mengubah ikon grup ini", _ID_IRFAN),
    SystemLine(
        "id",
        _E.ICON_CHANGED,
        "{actor} mengubah ikon grup ini",
        _unverified(
            "id",
            "only the older '… telah mengubah ikon grup ini' was seen in an export-derived list; "
            "this form without 'telah' appears only in recent third-party keyword lists "
            "(code-index 60365336519, 66520440639)",
        ),
    ),
    SystemLine("id", _E.ICON_DELETED, "Anda menghapus ikon grup ini", _ID_NOT_FOUND, you="actor"),
    SystemLine("id", _E.ICON_DELETED, "{actor} menghapus ikon grup ini", _ID_NOT_FOUND),
    # before ADDED: the long form contains "menambahkan"
    SystemLine(
        "id",
        _E.NUMBER_CHANGED,
        "{member} telah mengganti nomor teleponnya ke nomor baru. Ketuk untuk mengirim pesan atau "
        "menambahkan nomor baru.",
        f"{_ID_PATTERNS}; {_ID_EVENTS}",
    ),
    SystemLine(
        "id",
        _E.NUMBER_CHANGED,
        "{old} telah diganti ke {new}",
        f"{_ID_IRFAN} (regex '(.+)\\s(telah diganti ke)\\s(.+)')",
    ),
    SystemLine(
        "id",
        _E.ADDED,
        "{actor} menambahkan Anda",
        _inferred("'{actor} menambahkan {members}' row"),
        you="member",
    ),
    SystemLine(
        "id",
        _E.ADDED,
        "Anda menambahkan {members}",
        _inferred("'{actor} menambahkan {members}' row"),
        you="actor",
    ),
    # older "telah" wording, before the generic row that would read "Budi telah" as the actor
    SystemLine("id", _E.ADDED, "Anda telah menambahkan {members}", _ID_2019, you="actor"),
    SystemLine("id", _E.ADDED, "{actor} telah menambahkan {members}", _ID_IRFAN),
    SystemLine("id", _E.ADDED, "{actor} menambahkan {members}", f"{_ID_EVENTS}; {_ID_PATTERNS}"),
    SystemLine("id", _E.REMOVED, "{actor} mengeluarkan Anda", _ID_NOT_FOUND, you="member"),
    SystemLine("id", _E.REMOVED, "Anda mengeluarkan {member}", _ID_NOT_FOUND, you="actor"),
    SystemLine("id", _E.REMOVED, "{actor} mengeluarkan {member}", _ID_NOT_FOUND),
    SystemLine("id", _E.LEFT, "Anda keluar", _inferred("'{member} keluar' row"), you="member"),
    SystemLine("id", _E.LEFT, "{member} keluar", f"{_ID_PATTERNS}; {_ID_EVENTS}"),
)


_E2E_RU = (
    "Сообщения и звонки защищены сквозным шифрованием. Третьи лица, включая WhatsApp, "
    "не могут прочитать ваши сообщения или прослушать звонки."
)
_RU_NOT_FOUND = _unverified("ru")

_RU: Final[tuple[SystemLine, ...]] = (
    SystemLine(
        "ru",
        _E.ENCRYPTION_NOTICE,
        _E2E_RU + " Нажмите, чтобы узнать подробнее.",
        _e2e_suffix("Russian", _RU_IOS),
        _A,
    ),
    SystemLine("ru", _E.ENCRYPTION_NOTICE, _E2E_RU, f"{_RU_IOS}; {_WJ_PATTERNS}", _I),
    SystemLine(
        "ru",
        _E.SECURITY_CODE_CHANGED,
        "Ваш код безопасности с контактом {member} изменился. Подробнее.",
        f"{_RU_IOS}; {_WJ_PATTERNS} (iOS; Android assumed identical)",
    ),
    SystemLine(
        "ru",
        _E.GROUP_CREATED,
        '{actor} создал(-а) группу "{subject}"',
        f"{_RU_2026}; {_RU_KEYWORDS}",
    ),
    SystemLine(
        "ru",
        _E.GROUP_CREATED,
        'Вы создали группу "{subject}"',
        _unverified(
            "ru",
            "no export with the 'Вы' form was found; quotes as in the verified third-person row",
        ),
        you="actor",
    ),
    SystemLine(
        "ru",
        _E.JOINED_VIA_LINK,
        "{member} присоединился(-ась) к группе по ссылке-приглашению",
        _RU_NOT_FOUND,
    ),
    SystemLine(
        "ru",
        _E.JOINED_VIA_LINK,
        "Вы присоединились к группе по ссылке-приглашению",
        _RU_NOT_FOUND,
        you="member",
    ),
    SystemLine(
        "ru", _E.JOINED_FROM_COMMUNITY, "{member} присоединился(-ась) из сообщества", _RU_NOT_FOUND
    ),
    SystemLine(
        "ru",
        _E.SUBJECT_CHANGED,
        "Вы изменили тему с «{old}» на «{new}»",
        _RU_NOT_FOUND,
        you="actor",
    ),
    SystemLine(
        "ru",
        _E.SUBJECT_CHANGED,
        "{actor} изменил(-а) тему с «{old}» на «{new}»",
        _unverified(
            "ru",
            "no export with this line was found; a keyword list taken from Russian exports has "
            "'изменил(-а) название группы' (code-index 54930843058), so real lines may say "
            "'название группы' rather than 'тему'",
        ),
    ),
    SystemLine(
        "ru", _E.DESCRIPTION_CHANGED, "Вы изменили описание группы", _RU_NOT_FOUND, you="actor"
    ),
    SystemLine("ru", _E.DESCRIPTION_CHANGED, "{actor} изменил(-а) описание группы", _RU_KEYWORDS),
    SystemLine(
        "ru",
        _E.ICON_CHANGED,
        "Вы изменили картинку группы",
        _unverified("ru", "no export with the 'Вы' form was found; noun as in the verified row"),
        you="actor",
    ),
    SystemLine("ru", _E.ICON_CHANGED, "{actor} изменил(-а) картинку группы", _RU_KEYWORDS),
    # before REMOVED: "удалил(-а) изображение группы" would read as removing a member
    SystemLine("ru", _E.ICON_DELETED, "Вы удалили изображение группы", _RU_NOT_FOUND, you="actor"),
    SystemLine("ru", _E.ICON_DELETED, "{actor} удалил(-а) изображение группы", _RU_NOT_FOUND),
    SystemLine("ru", _E.NUMBER_CHANGED, "{old} сменил(-а) номер на {new}", _RU_NOT_FOUND),
    SystemLine(
        "ru",
        _E.NUMBER_CHANGED,
        "{member} сменил(-а) номер телефона на новый. Нажмите, чтобы написать или добавить "
        "новый номер.",
        _RU_NOT_FOUND,
    ),
    SystemLine("ru", _E.ADDED, "{actor} добавил(-а) вас", _RU_KEYWORDS, you="member"),
    SystemLine("ru", _E.ADDED, "Вы добавили {members}", _RU_NOT_FOUND, you="actor"),
    SystemLine(
        "ru",
        _E.ADDED,
        "{actor} добавил(-а) {members}",
        _unverified(
            "ru",
            "only the verb 'добавил(-а)' is in keyword lists taken from Russian exports "
            "(code-index 54930843058), not a whole line",
        ),
    ),
    SystemLine("ru", _E.REMOVED, "{actor} удалил(-а) вас", _RU_NOT_FOUND, you="member"),
    SystemLine("ru", _E.REMOVED, "Вы удалили {member}", _RU_NOT_FOUND, you="actor"),
    SystemLine("ru", _E.REMOVED, "{actor} удалил(-а) {member}", _RU_NOT_FOUND),
    SystemLine("ru", _E.LEFT, "Вы вышли", _RU_NOT_FOUND, you="member"),
    SystemLine("ru", _E.LEFT, "{member} вышел(-а)", _RU_KEYWORDS),
)


_E2E_ZH = "消息和通话都进行端到端加密。对话之外的任何人，甚至包含 WhatsApp，都无法读取或收听。"
_ZH_NOT_FOUND = _unverified("zh")

_ZH: Final[tuple[SystemLine, ...]] = (
    SystemLine(
        "zh",
        _E.ENCRYPTION_NOTICE,
        _E2E_ZH + "点击了解更多。",
        _e2e_suffix("Chinese", f"{_WJ_PATTERNS} (zh-CN)"),
        _A,
    ),
    SystemLine("zh", _E.ENCRYPTION_NOTICE, _E2E_ZH, f"{_WJ_PATTERNS} (zh-CN)", _I),
    SystemLine(
        "zh",
        _E.SECURITY_CODE_CHANGED,
        "您和 {member} 的安全代码已更改。点击了解更多。",
        f"{_WJ_PATTERNS} (zh-CN iOS; Android assumed identical)",
    ),
    SystemLine("zh", _E.GROUP_CREATED, "您创建了群组“{subject}”", _ZH_NOT_FOUND, you="actor"),
    SystemLine("zh", _E.GROUP_CREATED, "{actor}创建了群组“{subject}”", _ZH_NOT_FOUND),
    SystemLine("zh", _E.JOINED_VIA_LINK, "您通过此群组的邀请链接加入", _ZH_NOT_FOUND, you="member"),
    SystemLine("zh", _E.JOINED_VIA_LINK, "{member}通过此群组的邀请链接加入", _ZH_NOT_FOUND),
    SystemLine("zh", _E.JOINED_FROM_COMMUNITY, "{member}从社群加入", _ZH_NOT_FOUND),
    SystemLine(
        "zh", _E.SUBJECT_CHANGED, "您将主题从“{old}”更改为“{new}”", _ZH_NOT_FOUND, you="actor"
    ),
    SystemLine("zh", _E.SUBJECT_CHANGED, "{actor}将主题从“{old}”更改为“{new}”", _ZH_NOT_FOUND),
    SystemLine("zh", _E.DESCRIPTION_CHANGED, "您更改了群组描述", _ZH_NOT_FOUND, you="actor"),
    SystemLine("zh", _E.DESCRIPTION_CHANGED, "{actor}更改了群组描述", _ZH_NOT_FOUND),
    SystemLine("zh", _E.ICON_CHANGED, "您更改了此群组的头像", _ZH_NOT_FOUND, you="actor"),
    SystemLine("zh", _E.ICON_CHANGED, "{actor}更改了此群组的头像", _ZH_NOT_FOUND),
    SystemLine("zh", _E.ICON_DELETED, "您删除了此群组的头像", _ZH_NOT_FOUND, you="actor"),
    SystemLine("zh", _E.ICON_DELETED, "{actor}删除了此群组的头像", _ZH_NOT_FOUND),
    SystemLine(
        "zh",
        _E.NUMBER_CHANGED,
        "{member}已将其电话号码更改为新号码。点击发送消息或添加新号码。",
        _ZH_NOT_FOUND,
    ),
    SystemLine("zh", _E.NUMBER_CHANGED, "{old}已更换为{new}", _ZH_NOT_FOUND),
    SystemLine("zh", _E.ADDED, "{actor}添加了您", _ZH_NOT_FOUND, you="member"),
    SystemLine("zh", _E.ADDED, "您添加了{members}", _ZH_NOT_FOUND, you="actor"),
    SystemLine("zh", _E.ADDED, "{actor}添加了{members}", _ZH_NOT_FOUND),
    SystemLine("zh", _E.REMOVED, "{actor}移除了您", _ZH_NOT_FOUND, you="member"),
    SystemLine("zh", _E.REMOVED, "您移除了{member}", _ZH_NOT_FOUND, you="actor"),
    SystemLine("zh", _E.REMOVED, "{actor}移除了{member}", _ZH_NOT_FOUND),
    SystemLine("zh", _E.LEFT, "您已退出", _ZH_NOT_FOUND, you="member"),
    SystemLine("zh", _E.LEFT, "{member}已退出", _ZH_NOT_FOUND),
)

SYSTEM_LINES: Final[tuple[SystemLine, ...]] = _EN + _DE + _ES + _PT + _FR + _IT + _ID + _RU + _ZH

_PLACEHOLDER = re.compile(r"\{(actor|member|members|old|new|subject)\}")


@dataclass(frozen=True)
class SystemMatch:
    """A system line recognised: which table row matched and what it named."""

    line: SystemLine
    fields: Mapping[str, str]

    @property
    def event(self) -> SystemEvent:
        return self.line.event


def template_regex(template: str) -> str:
    """Anchored regex for a template: literal text escaped, placeholders captured."""
    out: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return "^" + "".join(out) + "$"


def languages() -> tuple[str, ...]:
    """Language codes the table covers."""
    return tuple(LANGUAGES)


def lines_for(lang: str) -> Iterator[SystemLine]:
    """The table rows of one language, in matching order (most specific first)."""
    return (line for line in SYSTEM_LINES if line.lang == lang)


def match(text: str, lang: str) -> SystemMatch | None:
    """The first table row of ``lang`` whose template matches the whole ``text``."""
    return match_first(text, (lang,))


def match_first(text: str, langs: tuple[str, ...]) -> SystemMatch | None:
    """The first row, trying the languages in ``langs`` order, whose template matches
    the whole ``text``: what :func:`match` of each language in turn finds.

    One regex call over only the rows the text's ends allow (see :class:`_Matcher`).
    """
    matcher = _matcher(langs)
    allowed = matcher.allowed(text)
    if not allowed:
        return None
    pattern, rows = matcher.alternation(allowed)
    m = pattern.match(text)
    if m is None:
        return None
    line, fields = rows[m.lastindex or 0]
    return SystemMatch(line, {name: m.group(group) for name, group in fields})


class _Matcher:
    """The rows of some languages, matched as one regex over the rows a text allows.

    A row's anchored template can match a text only if the text starts with the
    row's literal prefix (the text before its first placeholder) and ends with its
    literal suffix (``$`` also matches before a final newline), and a row with
    placeholders at both ends only if its longest literal piece is in the text. Two
    anchored regex calls (the suffixes run on the reversed text) find the longest
    prefix and suffix the text has; a bit mask of rows per prefix and per suffix
    gives the rows left. Those rows, in table order, are one alternation: alternative
    *i* is row *i*'s template in a capturing group of its own, so the regex engine
    tries them in order and the first that matches the whole text wins, as a loop over
    the rows would; the match's ``lastindex`` (the outer group, closed last) says
    which row it was.
    """

    def __init__(self, lines: tuple[SystemLine, ...]) -> None:
        self.lines = lines
        self._bodies: list[str] = []
        self._fields: list[tuple[str, ...]] = []
        prefixes: dict[str, int] = {}
        suffixes: dict[str, int] = {}
        #: rows with placeholders at both ends, by their longest literal piece
        middles: dict[str, int] = {}
        for row, line in enumerate(lines):
            bit = 1 << row
            pieces = _PLACEHOLDER.split(line.template)[::2]  # literal text between fields
            body = "(.+?)".join(re.escape(piece) for piece in pieces)
            self._bodies.append(f"({body}$)")
            self._fields.append(tuple(_PLACEHOLDER.findall(line.template)))
            prefixes[pieces[0]] = prefixes.get(pieces[0], 0) | bit
            suffixes[pieces[-1]] = suffixes.get(pieces[-1], 0) | bit
            if not pieces[0] and not pieces[-1]:
                piece = max(pieces, key=len)
                middles[piece] = middles.get(piece, 0) | bit
        self._middles = tuple(middles.items())
        self._middle_rows = sum(middles.values())
        self._not_middle_rows = ~self._middle_rows
        #: rows allowed by each prefix a text can start with ("" first: no prefix)
        self._by_prefix = {
            found: sum(bits for p, bits in prefixes.items() if found.startswith(p))
            for found in prefixes
        }
        self._by_suffix = {
            found: sum(bits for p, bits in suffixes.items() if found.endswith(p))
            for found in suffixes
        }
        self._by_suffix.setdefault("", 0)
        self._by_prefix.setdefault("", 0)
        self._prefix_re = _longest_first(p for p in prefixes if p)
        self._suffix_re = _longest_first(p[::-1] for p in suffixes if p)
        self._alternations: dict[int, tuple[re.Pattern[str], dict[int, _RowGroups]]] = {}

    def allowed(self, text: str) -> int:
        """Bit mask of the rows whose literal ends and pieces the text has."""
        m = self._prefix_re.match(text)
        allowed = self._by_prefix[m.group() if m else ""]
        if not allowed:
            return 0
        by_suffix = self._by_suffix
        m = self._suffix_re.match(text[::-1])
        ends = by_suffix[m.group()[::-1] if m else ""]
        if text.endswith("\n"):
            m = self._suffix_re.match(text[-2::-1])
            ends |= by_suffix[m.group()[::-1] if m else ""]
        allowed &= ends
        if allowed & self._middle_rows:
            # the rows of the pieces present: few, so few operations on the long masks
            present = sum(bits for piece, bits in self._middles if piece in text)
            allowed &= present | self._not_middle_rows
        return allowed

    def alternation(self, allowed: int) -> tuple[re.Pattern[str], dict[int, _RowGroups]]:
        """The allowed rows as one alternation, and each row's group numbers."""
        found = self._alternations.get(allowed)
        if found is not None:
            return found
        bodies: list[str] = []
        rows: dict[int, _RowGroups] = {}
        group = 0
        for row, line in enumerate(self.lines):
            if not allowed >> row & 1:
                continue
            bodies.append(self._bodies[row])
            names = self._fields[row]
            rows[group + 1] = (line, tuple((n, group + 2 + i) for i, n in enumerate(names)))
            group += 1 + len(names)
        found = (re.compile("(?:" + "|".join(bodies) + ")", re.DOTALL), rows)
        if len(self._alternations) < _ALTERNATIONS_KEPT:
            self._alternations[allowed] = found
        return found


#: a matched row and its fields' group numbers
_RowGroups = tuple[SystemLine, tuple[tuple[str, int], ...]]
#: alternations kept per language order (texts allow only a few row sets in practice)
_ALTERNATIONS_KEPT: Final = 1024


def _longest_first(literals: Iterable[str]) -> re.Pattern[str]:
    """Matches the longest of ``literals`` at the start of a text (never the empty one)."""
    ordered = sorted(set(literals), key=len, reverse=True)
    return re.compile("|".join(re.escape(lit) for lit in ordered) or "(?!)")


@cache
def _matcher(langs: tuple[str, ...]) -> _Matcher:
    return _Matcher(tuple(line for lang in langs for line in lines_for(lang)))


def split_members(names: str, lang: str) -> list[str]:
    """Split "Alice, Bob and Carol" into its names using the language's separators."""
    language = LANGUAGES[lang]
    separators = sorted(
        {*language.list_also, language.list_last, language.list_comma}, key=len, reverse=True
    )
    parts = [names]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    return [p for p in (part.strip() for part in parts) if p]


def join_members(names: list[str], lang: str) -> str:
    """Inverse of :func:`split_members`: the way WhatsApp writes a list of names."""
    language = LANGUAGES[lang]
    if len(names) == 1:
        return names[0]
    return language.list_comma.join(names[:-1]) + language.list_last + names[-1]


def render(lang: str, event: SystemEvent, *, you: str | None = None, **fields: str) -> str:
    """Write a system line as WhatsApp would (used by the simulator and fixtures).

    ``you`` selects the row where the exporter is the "actor" or the "member".
    """
    for line in lines_for(lang):
        if line.event != event or line.you != you:
            continue
        names = set(_PLACEHOLDER.findall(line.template))
        if names == set(fields):
            return line.template.format(**fields)
    raise KeyError(f"no {lang} template for {event} with fields {sorted(fields)} you={you}")
