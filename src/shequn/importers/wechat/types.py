"""WeChat's message type codes, as the exporters copy them from the ``MSG`` table.

``Type`` and ``SubType`` come straight from WeChat for Windows' ``MSG`` table
(LC044/WeChatMsg ``app/util/exporter/exporter_txt.py`` dispatches on them; xaoyaoo/PyWxDump
``pywxdump/db/utils`` ``type_converter`` names them). The codes shequn reads:

=========  ========  ==========================================  =====================
Type       SubType   what                                        attachment_kind
=========  ========  ==========================================  =====================
1          0         text                                        —
3          0         image                                       image
34         0         voice message                               voice
42         0         contact card                                contact
43         0         video                                       video
47         0         sticker ("动画表情")                         sticker
48         0         location                                    location
49         0 / 6     file                                        document
49         8         uploaded GIF sticker                        gif
49         5 / 4     link card                                   — (extra ``link``)
49         57        quote / reply ("引用回复")                   — (extra ``quote``)
49         19        forwarded chat record                       — (extra ``forward``)
49         other     app message (mini program, transfer …)      — (extra ``app``)
50         0         voice/video call                            — (extra ``call``)
10000      any       system line (joins, removals, recalls …)    not a message
10002      any       system XML (``sysmsg``: revokemsg, template) not a message
=========  ========  ==========================================  =====================

Anything else is still a ``message_posted`` with ``extra {"type": T, "subtype": S}``.
"""

from __future__ import annotations

from typing import Final

from shequn.events import AttachmentKind

TEXT: Final = 1
IMAGE: Final = 3
VOICE: Final = 34
CONTACT: Final = 42
VIDEO: Final = 43
STICKER: Final = 47
LOCATION: Final = 48
APP: Final = 49
CALL: Final = 50
SYSTEM: Final = 10000
SYSTEM_XML: Final = 10002

#: (Type, SubType) → attachment kind; SubType None matches any subtype
ATTACHMENTS: Final[dict[tuple[int, int | None], AttachmentKind]] = {
    (IMAGE, None): AttachmentKind.IMAGE,
    (VOICE, None): AttachmentKind.VOICE,
    (CONTACT, None): AttachmentKind.CONTACT,
    (VIDEO, None): AttachmentKind.VIDEO,
    (STICKER, None): AttachmentKind.STICKER,
    (LOCATION, None): AttachmentKind.LOCATION,
    (APP, 0): AttachmentKind.DOCUMENT,
    (APP, 6): AttachmentKind.DOCUMENT,
    (APP, 74): AttachmentKind.DOCUMENT,
    (APP, 8): AttachmentKind.GIF,
}

#: app-message subtypes with a name of their own in ``extra``
APP_KINDS: Final = {4: "link", 5: "link", 19: "forward", 57: "quote", 2000: "transfer"}

QUOTE: Final = (APP, 57)
LINK: Final = (APP, 5)
FILE: Final = (APP, 6)

#: PyWxDump's ``type_name`` column → (Type, SubType) (its ``type_converter`` table)
PYWXDUMP_TYPES: Final = {
    "文本": (1, 0),
    "图片": (3, 0),
    "语音": (34, 0),
    "添加好友": (37, 0),
    "推荐公众号": (42, 0),
    "视频": (43, 0),
    "动画表情": (47, 0),
    "位置": (48, 0),
    "文件": (49, 6),
    "粘贴的文本": (49, 1),
    "(分享)音乐": (49, 3),
    "(分享)卡片式链接": (49, 5),
    "游戏相关": (49, 7),
    "用户上传的GIF表情": (49, 8),
    "位置共享": (49, 17),
    "合并转发的聊天记录": (49, 19),
    "(分享)笔记": (49, 24),
    "(分享)小程序": (49, 33),
    "(分享)收藏夹": (49, 40),
    "(分享)视频号名片": (49, 50),
    "(分享)视频号视频": (49, 51),
    "接龙": (49, 53),
    "引用回复": (49, 57),
    "视频号直播或直播回放": (49, 63),
    "群公告": (49, 87),
    "转账": (49, 2000),
    "赠送红包封面": (49, 2003),
    "语音通话": (50, 0),
    "系统通知": (10000, 0),
    "消息撤回1": (10000, 1),
    "拍一拍": (10000, 4),
    "消息撤回5": (10000, 5),
    "消息撤回6": (10000, 6),
    "消息撤回33": (10000, 33),
    "消息撤回36": (10000, 36),
    "消息撤回57": (10000, 57),
    "邀请加群": (10000, 8000),
}


def attachment_of(type_: int, subtype: int) -> AttachmentKind | None:
    """The attachment kind a (Type, SubType) carries, or None for text and app cards."""
    return ATTACHMENTS.get((type_, subtype)) or ATTACHMENTS.get((type_, None))


def is_system(type_: int) -> bool:
    """System rows (10000, 10002, 11000 …) are events, never messages."""
    return type_ >= SYSTEM


def extra_of(type_: int, subtype: int) -> dict[str, object]:
    """What ``extra`` records about a message's type beyond its attachment kind."""
    if type_ in (TEXT, IMAGE, VOICE, VIDEO, STICKER):
        return {}
    if type_ == APP:
        name = APP_KINDS.get(subtype)
        if name is not None:
            return {name: True}
        if (type_, subtype) in ATTACHMENTS:
            return {}
        return {"app": subtype}
    if type_ == CALL:
        return {"call": True}
    if (type_, None) in ATTACHMENTS:
        return {}
    return {"type": type_, "subtype": subtype}
