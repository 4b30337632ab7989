"""Reading the model's suggested questions: outputs SmolLM2 really gave under the JSON-array grammar."""

from studio.services.suggestions import _questions


def test_raw_line_breaks_inside_the_strings_are_read():
    # The grammar lets a string hold a raw newline, which strict JSON refuses (this came back as no questions).
    text = ('[ "]\\n\\nParis is a city.\\n\\nI" ,"What is the Louvre?" ,"What is the Louvre?" ] '
            .replace("\\n", "\n"))
    assert _questions(text) == ["Paris is a city. I", "What is the Louvre?"]  # stray bracket and repeat gone


def test_an_array_cut_off_keeps_the_finished_questions():
    text = '["Where is it?" ,"How old is\nit?" ,"What do peo'
    assert _questions(text) == ["Where is it?", "How old is it?"]


def test_anything_else_is_no_questions():
    assert _questions('{"a": 1}') == [] and _questions("no json at all") == [] and _questions("[1, 2]") == []
