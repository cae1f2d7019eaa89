"""Copy-paste calls in curl, Python requests and JavaScript fetch, for one operation.

The caller's own API key goes in when we know it; the secret never does (only the
placeholder SECRET_PLACEHOLDER), because the page must never hold one."""

import json
import pprint
from dataclasses import dataclass

KEY_PLACEHOLDER = "YOUR_API_KEY"
SECRET_PLACEHOLDER = "YOUR_API_SECRET"
LANGUAGES = (("curl", "curl"), ("python", "Python"), ("javascript", "JavaScript"))


@dataclass(frozen=True)
class Call:
    """What an example sends: the method, the full URL, the key (None: no authentication)."""

    method: str
    url: str
    api_key: str | None
    body: object = None
    headers: tuple[tuple[str, str], ...] = ()  # the required ones, e.g. If-Match


@dataclass(frozen=True)
class Sample:
    language: str  # "curl", "python", "javascript"
    label: str
    code: str


def samples(call: Call) -> list[Sample]:
    """The same call in each language, in LANGUAGES order."""
    writers = {"curl": curl, "python": python_requests, "javascript": javascript_fetch}
    return [Sample(language, label, writers[language](call)) for language, label in LANGUAGES]


def with_credentials(body, api_key: str):
    """A body's credential fields (the token exchange's) hold the key and the placeholder."""
    if not isinstance(body, dict):
        return body
    filled = dict(body)
    if "api_key" in filled:
        filled["api_key"] = api_key
    if "api_secret" in filled:
        filled["api_secret"] = SECRET_PLACEHOLDER
    return filled


def curl(call: Call) -> str:
    lines = ["curl" + (f" -u {call.api_key}:{SECRET_PLACEHOLDER}" if call.api_key else "")]
    if call.method != "GET":
        lines[0] += f" -X {call.method}"
    lines.append(f"  {_shell_quote(call.url)}")
    lines += [f"  -H {_shell_quote(f'{name}: {value}')}" for name, value in call.headers]
    if call.body is not None:
        lines.append("  -H 'Content-Type: application/json'")
        lines.append(f"  -d {_shell_quote(json.dumps(call.body, indent=2))}")
    return " \\\n".join(lines)


def python_requests(call: Call) -> str:
    arguments = [f"    {call.url!r},"]
    if call.api_key:
        arguments.append(f"    auth=({call.api_key!r}, {SECRET_PLACEHOLDER!r}),")
    if call.headers:
        arguments.append(f"    headers={dict(call.headers)!r},")
    if call.body is not None:
        body = pprint.pformat(call.body, indent=4, width=72, sort_dicts=False)
        arguments.append("    json=" + body.replace("\n", "\n    ") + ",")
    arguments.append("    timeout=30,")
    return "\n".join([
        "import requests", "",
        f"response = requests.{call.method.lower()}(", *arguments, ")",
        "response.raise_for_status()", "print(response.json())",
    ])


def javascript_fetch(call: Call) -> str:
    headers = {}
    if call.api_key:
        headers = {"X-API-Key": call.api_key, "X-API-Secret": SECRET_PLACEHOLDER}
    headers.update(call.headers)
    options = [f"  method: {json.dumps(call.method)},"]
    if call.body is not None:
        headers["Content-Type"] = "application/json"
    if headers:
        options.append("  headers: " + _indent(json.dumps(headers, indent=2)) + ",")
    if call.body is not None:
        options.append("  body: JSON.stringify(" + _indent(json.dumps(call.body, indent=2)) + "),")
    return "\n".join([
        f"const response = await fetch({json.dumps(call.url)}, {{", *options, "});",
        "if (!response.ok) throw new Error(`HTTP ${response.status}`);",
        "console.log(await response.json());",
    ])


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


BACKOFF_PYTHON = '''import random
import time

import requests

RETRY = {{429, 500, 502, 503, 504}}


def call(method, url, attempts=5, **kwargs):
    """Send a request, waiting and retrying while the API asks for it."""
    for attempt in range(attempts):
        response = requests.request(method, url, timeout=30, **kwargs)
        if response.status_code not in RETRY or attempt == attempts - 1:
            return response
        wait = response.headers.get("Retry-After")
        time.sleep(int(wait) if wait else min(60, 2**attempt + random.random()))


clients = call("GET", {url!r}, auth=({api_key!r}, {secret!r}))'''

BACKOFF_JAVASCRIPT = '''const RETRY = new Set([429, 500, 502, 503, 504]);
const sleep = (seconds) => new Promise((done) => setTimeout(done, seconds * 1000));

async function call(url, options = {{}}, attempts = 5) {{
  for (let attempt = 0; ; attempt++) {{
    const response = await fetch(url, options);
    if (!RETRY.has(response.status) || attempt === attempts - 1) return response;
    const wait = Number(response.headers.get("Retry-After"));
    await sleep(wait || Math.min(60, 2 ** attempt + Math.random()));
  }}
}}

const clients = await call({url_json}, {{
  headers: {{ "X-API-Key": {key_json}, "X-API-Secret": {secret_json} }},
}});'''


def backoff_samples(url: str, api_key: str) -> list[Sample]:
    """Retrying what the API asks to retry (429, 5xx), honouring Retry-After."""
    secret = SECRET_PLACEHOLDER
    return [
        Sample("curl", "curl", f"curl --retry 5 --retry-max-time 120 -u {api_key}:{secret} \\\n"
                               f"  {_shell_quote(url)}"),
        Sample("python", "Python", BACKOFF_PYTHON.format(url=url, api_key=api_key, secret=secret)),
        Sample("javascript", "JavaScript", BACKOFF_JAVASCRIPT.format(
            url_json=json.dumps(url), key_json=json.dumps(api_key),
            secret_json=json.dumps(secret))),
    ]
