"""docs/asyncapi.yaml is a well-formed AsyncAPI 3.0 document: it loads as YAML, every `$ref` in it (each
operation's channel, messages and reply included) resolves within the document, its events and error codes are
docs/protocol.md's, and the examples printed in docs/protocol.md validate against its schemas. (The Swift suite
AsyncAPIDocsTests checks its operations against the Op table.)"""
import json
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]

DOC = ROOT / "docs" / "asyncapi.yaml"


def load():
    with open(DOC, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(doc, ref):
    """The node a local `#/a/b` reference names (JSON pointer, with ~1 and ~0 escapes); KeyError if none."""
    assert ref.startswith("#/"), f"{ref}: only references within the document are used"
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise KeyError(ref)
        node = node[part]
    return node


def refs(node, path="#"):
    """Every (where, $ref) pair in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield path, value
            else:
                yield from refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs(value, f"{path}/{i}")


def test_document_is_asyncapi_3():
    doc = load()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["version"] == "1.0.0" and doc["info"]["title"] and doc["info"]["description"]
    server = doc["servers"]["local"]
    assert (server["host"], server["pathname"], server["protocol"]) == ("127.0.0.1:8080", "/ws", "ws")
    assert doc["channels"]["hub"]["address"] == "/ws"


def test_operations_point_into_the_document():
    doc = load()
    channel = doc["channels"]["hub"]
    operations = doc["operations"]
    assert operations, "no operations"
    for name, operation in operations.items():
        assert operation["action"] in ("send", "receive"), name
        assert resolve(doc, operation["channel"]["$ref"]) is channel, name
        assert operation["messages"], name
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages are messages of its channel.
            assert message["$ref"].startswith("#/channels/hub/messages/"), (name, message)
            assert "payload" in resolve(doc, resolve(doc, message["$ref"])["$ref"]), (name, message)
        if operation["action"] == "send":
            reply = operation["reply"]
            assert resolve(doc, reply["channel"]["$ref"]) is channel, name
            assert [m["$ref"] for m in reply["messages"]] == [
                "#/channels/hub/messages/reply_ok", "#/channels/hub/messages/reply_error"], name
            sent = operation["messages"][0]["$ref"].rsplit("/", 1)[1]
            payload = resolve(doc, f"#/components/messages/{sent}")["payload"]
            assert payload["properties"]["op"]["const"] == name
    receive = [name for name, op in operations.items() if op["action"] == "receive"]
    assert receive == ["receiveEvents"]


def test_every_ref_resolves():
    doc = load()
    found = list(refs(doc))
    assert len(found) > 100
    for where, ref in found:
        try:
            resolve(doc, ref)
        except KeyError:
            raise AssertionError(f"{where}: $ref {ref} names nothing in docs/asyncapi.yaml") from None


def test_events_and_error_codes_match_protocol_md():
    """Every event of docs/protocol.md's events table has its message, and the error code enum is the errors
    table."""
    doc = load()
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    events_table = text.split("## Events", 1)[1].split("\n\n", 2)[1]
    events = [line.split("`")[1] for line in events_table.splitlines() if line.startswith("| `")]
    assert events, "no events table in docs/protocol.md"
    receive = {m["$ref"].rsplit("/", 1)[1] for m in doc["operations"]["receiveEvents"]["messages"]}
    assert receive == {f"event_{e}" for e in events}
    errors_table = text.split("## Errors", 1)[1].split("## Operations", 1)[0]
    codes = [line.split("`")[1] for line in errors_table.splitlines() if line.startswith("| `")]
    assert doc["components"]["schemas"]["ErrorCode"]["enum"] == codes


def protocol_examples():
    """The one-line JSON examples of docs/protocol.md that are WebSocket frames: (message name, object)."""
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if "op" in obj and "id" in obj:
            yield f"request_{obj['op']}", obj
        elif "ok" in obj and "id" in obj:  # an HTTP answer is the reply without `id`
            yield ("reply_ok" if obj["ok"] else "reply_error"), obj
        elif "event" in obj:
            yield f"event_{obj['event']}", obj


def test_protocol_examples_match_the_schemas():
    """Every request, reply and event printed in docs/protocol.md validates against its message's payload schema,
    and every argument an example uses is declared (the hub ignores unknown arguments, so the schema cannot say
    `additionalProperties: false`; this catches an argument the document forgot)."""
    doc = load()
    examples = list(protocol_examples())
    assert len(examples) > 20
    for name, obj in examples:
        schema = dict(doc, **{"$ref": f"#/components/messages/{name}/payload"})  # draft 7: $ref wins over siblings
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in
                  jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).iter_errors(obj)]
        assert not errors, f"{name} example {obj} does not match docs/asyncapi.yaml: {errors}"
        if name.startswith("request_"):
            declared = doc["components"]["messages"][name]["payload"]["properties"]["args"]["properties"]
            assert set(obj.get("args", {})) <= set(declared), f"{name}: undeclared args in {obj}"
