"""tools.yamlload: duplicate-key detection, expected duplicates, timestamps, anchors."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from tools.yamlload import Duplicate, DuplicateKeyError, LoadResult, load_file, load_yaml


def _y(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_document_without_duplicates_loads_plainly():
    result = load_yaml(_y("""
        a: 1
        b:
          c: [1, 2, {d: x}]
    """))
    assert isinstance(result, LoadResult)
    assert result.document == {"a": 1, "b": {"c": [1, 2, {"d": "x"}]}}
    assert result.duplicates == []
    # plain dicts, not the internal marked subclass
    assert type(result.document) is dict
    assert type(result.document["b"]["c"][2]) is dict


def test_duplicate_key_raises_with_pointer():
    text = _y("""
        paths:
          /a:
            post:
              requestBody:
                content:
                  application/json: {}
                content:
                  multipart/form-data: {}
    """)
    with pytest.raises(DuplicateKeyError) as info:
        load_yaml(text)
    assert "/paths/~1a/post/requestBody/content" in str(info.value)


def test_pointer_escapes_slash_and_tilde_in_keys():
    text = _y("""
        "a/b~c":
          "x~/y": 1
          "x~/y": 2
    """)
    with pytest.raises(DuplicateKeyError) as info:
        load_yaml(text)
    # "~" -> "~0" first, then "/" -> "~1" (RFC 6901 order)
    assert "/a~1b~0c/x~0~1y" in str(info.value)


def test_duplicate_pointer_property_escapes_in_rfc6901_order():
    dup = Duplicate(path=("paths", "/~1"), key="~", values=(1, 2))
    assert dup.pointer == "/paths/~1~01/~0"


def test_duplicate_at_root_and_inside_list():
    with pytest.raises(DuplicateKeyError) as info:
        load_yaml("a: 1\na: 2\n")
    assert "at /a" in str(info.value)
    with pytest.raises(DuplicateKeyError) as info:
        load_yaml(_y("""
            items:
              - ok: 1
              - k: 1
                k: 2
        """))
    assert "/items/1/k" in str(info.value)


def test_expected_duplicate_passes_and_reports_values_in_order():
    pointer = "/paths/~1a/post/requestBody/content"
    text = _y("""
        paths:
          /a:
            post:
              requestBody:
                content:
                  multipart/form-data: {schema: {type: object}}
                content:
                  application/json: {schema: {type: string}}
                content:
                  text/plain: {}
    """)
    result = load_yaml(text, expected_duplicates={pointer})
    assert len(result.duplicates) == 1
    dup = result.duplicates[0]
    assert dup.pointer == pointer
    assert dup.path == ("paths", "/a", "post", "requestBody")
    assert dup.key == "content"
    assert dup.values == (
        {"multipart/form-data": {"schema": {"type": "object"}}},
        {"application/json": {"schema": {"type": "string"}}},
        {"text/plain": {}},
    )
    # the document itself keeps the last value, as YAML readers do
    assert result.document["paths"]["/a"]["post"]["requestBody"]["content"] == {"text/plain": {}}


def test_unexpected_duplicate_raises_even_when_another_is_expected():
    text = _y("""
        a:
          k: 1
          k: 2
        b:
          k: 1
          k: 2
    """)
    with pytest.raises(DuplicateKeyError) as info:
        load_yaml(text, expected_duplicates=frozenset({"/a/k"}))
    message = str(info.value)
    assert "/b/k" in message
    assert "/a/k" not in message


def test_all_unexpected_duplicates_are_named():
    with pytest.raises(DuplicateKeyError) as info:
        load_yaml("a: 1\na: 2\nb: 1\nb: 2\n")
    assert "/a" in str(info.value) and "/b" in str(info.value)


def test_duplicate_key_error_is_a_value_error():
    assert issubclass(DuplicateKeyError, ValueError)


def test_timestamps_stay_strings():
    result = load_yaml(_y("""
        date: 2024-01-31
        datetime: 2024-01-31T10:20:30Z
        spaced: 2001-12-14 21:59:43.10 -5
        number: 12
        flag: true
    """))
    doc = result.document
    assert doc["date"] == "2024-01-31"
    assert doc["datetime"] == "2024-01-31T10:20:30Z"
    assert doc["spaced"] == "2001-12-14 21:59:43.10 -5"
    # other implicit types still resolve
    assert doc["number"] == 12 and doc["flag"] is True


def test_timestamp_resolver_removal_does_not_leak_into_safe_loader():
    import datetime

    assert isinstance(yaml.safe_load("d: 2024-01-31")["d"], datetime.date)


def test_anchors_and_aliases_resolve():
    result = load_yaml(_y("""
        params:
          - &hdr
            name: X-Client-Version
            in: header
        a:
          parameters: [*hdr]
        b:
          parameters: [*hdr]
    """))
    doc = result.document
    expected = {"name": "X-Client-Version", "in": "header"}
    assert doc["a"]["parameters"] == [expected]
    assert doc["b"]["parameters"] == [expected]
    assert doc["params"][0] == expected
    # each occurrence is its own object: editing one alias site must not edit the others
    doc["a"]["parameters"][0]["name"] = "changed"
    assert doc["b"]["parameters"][0]["name"] == "X-Client-Version"


def test_load_file_reads_a_path(tmp_path):
    path = tmp_path / "doc.yaml"
    path.write_text("a: 1\nb: 2024-01-01\nb: 2\n", encoding="utf-8")
    with pytest.raises(DuplicateKeyError, match="/b"):
        load_file(path)
    result = load_file(str(path), expected_duplicates={"/b"})
    assert result.document == {"a": 1, "b": 2}
    assert result.duplicates[0].values == ("2024-01-01", 2)


def test_string_source_is_yaml_text_not_a_path():
    # load_yaml treats str as text; a file name string is just a scalar document
    assert load_yaml("some/file.yaml").document == "some/file.yaml"


def test_invalid_yaml_raises_yaml_error():
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: [1, 2\n")


def test_merge_key_override_is_not_a_duplicate():
    result = load_yaml(_y("""
        base: &b {a: 1, c: 3}
        derived:
          <<: *b
          a: 2
    """))
    assert result.document["derived"] == {"a": 2, "c": 3}
    assert result.duplicates == []


def test_duplicate_nested_in_an_earlier_value_of_an_expected_duplicate_is_detected():
    text = _y("""
        a:
          x: 1
          x: 2
        a:
          y: 1
    """)
    with pytest.raises(DuplicateKeyError, match="/a/x"):
        load_yaml(text, expected_duplicates={"/a"})
