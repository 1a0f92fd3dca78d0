"""WeChat system lines: every form shequn reads, in Chinese and English, with hard names."""

from __future__ import annotations

import pytest

from shequn.events import EventKind, JoinMethod
from shequn.importers.wechat.names import YOU, NameBook
from shequn.importers.wechat.system import parse_system

JOINED, REMOVED = EventKind.MEMBER_JOINED, EventKind.MEMBER_REMOVED


def book(**names: str) -> NameBook:
    b = NameBook()
    for wxid, name in names.items():
        b.add(wxid, name)
    b.exporter = "wxid_me"
    return b


CASES = [
    ('"A"邀请"B"加入了群聊', JOINED, ["B"], "A", JoinMethod.ADDED),
    ('"A"邀请"B、C、D"加入了群聊', JOINED, ["B", "C", "D"], "A", JoinMethod.ADDED),
    ('"A"邀请"B"、"C"和"D"加入了群聊', JOINED, ["B", "C", "D"], "A", JoinMethod.ADDED),
    ('你邀请"B、C"加入了群聊', JOINED, ["B", "C"], YOU, JoinMethod.ADDED),
    ('"A"邀请你加入了群聊', JOINED, [YOU], "A", JoinMethod.ADDED),
    ('"A"邀请你加入了群聊，群聊参与人还有：B、C', JOINED, [YOU], "A", JoinMethod.ADDED),
    ('"A"邀请你和"B"加入了群聊', JOINED, [YOU, "B"], "A", JoinMethod.ADDED),
    ('"B"通过扫描"A"分享的二维码加入群聊', JOINED, ["B"], "A", JoinMethod.QR_CODE),
    ('"B"通过扫描你分享的二维码加入群聊', JOINED, ["B"], YOU, JoinMethod.QR_CODE),
    ('"B"通过"A"的邀请二维码加入群聊', JOINED, ["B"], "A", JoinMethod.QR_CODE),
    ('你将"B"移出了群聊', REMOVED, ["B"], YOU, None),
    ('"A"将"B"移出了群聊', REMOVED, ["B"], "A", None),
    ('你被"A"移出群聊', REMOVED, [YOU], "A", None),
    ('"A" 撤回了一条消息', EventKind.MESSAGE_DELETED, ["A"], None, None),
    ("你撤回了一条消息", EventKind.MESSAGE_DELETED, [YOU], None, None),
    (
        '<![CDATA[你撤回了一条消息 <a href="weixin://revoke_edit_click">重新编辑</a>]]>',
        EventKind.MESSAGE_DELETED,
        [YOU],
        None,
        None,
    ),
    # the English client (wechaty puppet-padchat / puppet-web tests)
    ('"A" invited "B、C" to the group chat', JOINED, ["B", "C"], "A", JoinMethod.ADDED),
    ("A invited B, C to the group chat", JOINED, ["B", "C"], "A", JoinMethod.ADDED),
    ('You\'ve invited "B" to the group chat', JOINED, ["B"], YOU, JoinMethod.ADDED),
    ("A invited you to a group chat with B", JOINED, [YOU], "A", JoinMethod.ADDED),
    ("A invited you and B to the group chat", JOINED, [YOU, "B"], "A", JoinMethod.ADDED),
    (
        '"B" joined the group chat via the QR Code shared by "A".',
        JOINED,
        ["B"],
        "A",
        JoinMethod.QR_CODE,
    ),
    ('"B" joined group chat via the QR code you shared', JOINED, ["B"], YOU, JoinMethod.QR_CODE),
    ('You removed "B" from the group chat', REMOVED, ["B"], YOU, None),
    ('You were removed from the group chat by "A"', REMOVED, [YOU], "A", None),
    ('"A" recalled a message.', EventKind.MESSAGE_DELETED, ["A"], None, None),
    ("You recalled a message", EventKind.MESSAGE_DELETED, [YOU], None, None),
]


@pytest.mark.parametrize(
    ("text", "kind", "members", "actor", "how"), CASES, ids=[c[0] for c in CASES]
)
def test_every_form(
    text: str, kind: EventKind, members: list[str], actor: str | None, how: JoinMethod | None
) -> None:
    fact = parse_system(NameBook(), text)
    assert fact is not None
    assert (fact.kind, fact.members, fact.actor, fact.join_method) == (kind, members, actor, how)


def test_renames_carry_the_new_name() -> None:
    for text, who in (
        ('"A"修改群名为“Makers 2”', "A"),
        ("你修改群名为“Makers 2”", YOU),
        ('"A" changed the group name to "Makers 2"', "A"),
        ('You changed the group name to "Makers 2"', YOU),
    ):
        fact = parse_system(NameBook(), text)
        assert fact is not None and fact.kind == EventKind.GROUP_RENAMED
        assert (fact.members, fact.text) == ([who], "Makers 2")


def test_names_with_the_separator_stay_whole_when_known() -> None:
    names = book(wxid_zh="卓桓、Zhuohuan", wxid_b="Bob")
    fact = parse_system(names, '"Alice"邀请"Dan、卓桓、Zhuohuan、Bob"加入了群聊')
    assert fact is not None and fact.members == ["Dan", "卓桓、Zhuohuan", "Bob"]
    assert [names.resolve(n) for n in fact.members] == ["Dan", "wxid_zh", "wxid_b"]
    unknown = parse_system(NameBook(), '"Alice"邀请"卓桓、Zhuohuan"加入了群聊')
    assert unknown is not None and unknown.members == ["卓桓", "Zhuohuan"]


def test_names_with_quotes() -> None:
    names = book(wxid_q='Say "hi"')
    fact = parse_system(names, '"Say "hi""邀请"Zed"加入了群聊')
    assert fact is not None and (fact.actor, fact.members) == ('Say "hi"', ["Zed"])
    removed = parse_system(names, '"Say "hi""将"Zed"移出了群聊')
    assert removed is not None and (removed.actor, removed.members) == ('Say "hi"', ["Zed"])
    recall = parse_system(names, '"Say "hi"" 撤回了一条消息')
    assert recall is not None and recall.members == ['Say "hi"']
    invited = parse_system(names, '你邀请"Say "hi""加入了群聊')
    assert invited is not None and invited.members == ['Say "hi"']


def test_ambiguous_and_unknown_names_fall_back_to_the_name() -> None:
    names = NameBook()
    names.add("wxid_1", "Sam")
    names.add("wxid_2", "Sam")
    names.add("wxid_3", "Lin")
    assert names.resolve("Sam") == "Sam"
    assert names.resolve("Lin") == "wxid_3"
    assert names.resolve("\u202aNobody\u202c") == "Nobody"
    assert names.ambiguous() == ["Sam"]


def test_sysmsg_xml_templates_carry_wxids_and_recalls_their_target() -> None:
    template = (
        '<sysmsg type="sysmsgtemplate"><sysmsgtemplate><content_template type="tmpl_type_profile">'
        '<template><![CDATA["$adder$"通过扫描"$from$"分享的二维码加入群聊]]></template><link_list>'
        '<link name="adder"><memberlist><member><username>wxid_b</username>'
        "<nickname>Bea</nickname></member></memberlist></link>"
        '<link name="from"><memberlist><member><username>wxid_a</username>'
        "<nickname>Al</nickname></member></memberlist></link></link_list>"
        "</content_template></sysmsgtemplate></sysmsg>"
    )
    fact = parse_system(NameBook(), template)
    assert fact is not None and fact.join_method == JoinMethod.QR_CODE
    assert (fact.members, fact.actor, fact.ids) == (
        ["Bea"],
        "Al",
        {"Bea": "wxid_b", "Al": "wxid_a"},
    )
    revoke = (
        '<sysmsg type="revokemsg"><revokemsg><newmsgid>123</newmsgid>'
        '<replacemsg><![CDATA["Al" 撤回了一条消息]]></replacemsg></revokemsg></sysmsg>'
    )
    recall = parse_system(NameBook(), revoke)
    assert recall is not None and (recall.members, recall.recalled) == (["Al"], "123")


def test_lines_without_an_event_are_none() -> None:
    assert parse_system(NameBook(), '"Bob" 拍了拍 "Alice"') is None
    assert parse_system(NameBook(), "以下为新消息") is None
    assert parse_system(NameBook(), '<sysmsg type="pat"><pat/></sysmsg>') is None
