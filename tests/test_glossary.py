"""Chinese questions become English keywords: glossary terms first, every other word through CC-CEDICT."""

from __future__ import annotations

from digest.glossary import english, is_non_english, segment, translate_terms


def test_glossary_terms_stay_whole_and_jieba_cuts_the_rest():
    words = segment("DeepSeek-V3 的总参数量是多少？")
    assert "总参数" in words and "多少" in words  # a glossary term, then jieba's words


def test_words_the_glossary_lacks_come_from_the_general_dictionary():
    query = translate_terms("Kimi-Audio 预训练时分别使用了多少音频 token 和文本 token？")
    assert query.startswith("Kimi-Audio token")  # the Latin words first, as written
    assert "pre-training" in query and "audio" in query.split()  # glossary, then CC-CEDICT ("音频")
    assert english("伪代码") == "pseudocode" and english("爬取") == ""  # a word neither dictionary has


def test_senses_lose_their_usage_notes():
    assert english("教师") == "teacher"  # not "CL:個|个[ge4]"
    assert "(" not in english("深度")


def test_only_mostly_chinese_text_is_translated():
    assert is_non_english("LLaMA 训练时使用了什么优化器？")
    assert not is_non_english("What optimizer does LLaMA 2 use? (优化器)")


def test_ordinal_and_counted_words_become_english_numbers():
    """jieba keeps 第二步 and 第三阶段 whole and CC-CEDICT has neither: "in the second step" must still say so."""
    assert english("第二步") == "second step"
    assert english("第三阶段") == "third stage"
    assert english("两个") == "2"
    assert english("第二") == "second"
    assert "second step" in translate_terms("论文的第二步中，学生模型是用什么训练方式微调的？")
