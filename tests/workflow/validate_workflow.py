#!/usr/bin/env python3
"""Checks .github/workflows/ci.yml against GitHub Actions' rules and this project's tests.

  validate_workflow.py [--source-dir DIR] WORKFLOW.yml
      exit 0 when the workflow passes every check, 1 (one line per problem) when not
  validate_workflow.py --expect-reject [--source-dir DIR] BAD.yml...
      exit 0 when every file is rejected for the reason(s) its `# expect: TEXT` lines name

No GitHub tool runs here (actionlint is not packaged for Debian), so the checks are the
ones a broken push would otherwise only show on GitHub, plus the ones only this project
can know: which dialects must be covered, which DSN variables the conformance sources
read, and which ctest names tests/CMakeLists.txt defines.
"""

import argparse
import itertools
import re
import shlex
import sys
from pathlib import Path

try:
    import yaml
except ImportError:
    print("validate_workflow: PyYAML is missing: apt-get install python3-yaml "
          "(scripts/install-deps installs it)", file=sys.stderr)
    sys.exit(1)

CONTEXTS = {"matrix", "github", "env", "secrets", "steps", "needs", "job", "runner",
            "vars", "inputs", "strategy"}
FUNCTIONS = {"contains", "startswith", "endswith", "format", "join", "tojson", "fromjson",
             "hashfiles", "success", "always", "cancelled", "failure"}
LITERALS = {"true", "false", "null"}

# What the matrix must cover: (label, ctest dialect, what must serve it in that job).
# A server is a service image name (no registry prefix) or "cockroach" for a CockroachDB
# started by a step.
REQUIRED_TARGETS = [
    ("sqlite", "sqlite", None),
    ("cockroach", "cockroach", re.compile(r"^(cockroach|cockroachdb/cockroach(:.*)?)$")),
    ("postgres 13", "postgres", re.compile(r"^postgres:13(\D.*)?$")),
    ("postgres 16", "postgres", re.compile(r"^postgres:16(\D.*)?$")),
    ("mysql 8.0", "mysql", re.compile(r"^mysql:8\.0(\D.*)?$")),
    ("mariadb 10.11", "mysql", re.compile(r"^mariadb:10\.11(\D.*)?$")),
]


class Unknown:
    """A value only GitHub knows at run time (github.*, steps.*, secrets.*, ...)."""

    def __repr__(self):
        return "<unknown>"


UNKNOWN = Unknown()


# --- YAML ---------------------------------------------------------------------------

class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (GitHub refuses it too)."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice in one mapping (first on line "
                f"{seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --- expressions --------------------------------------------------------------------

class ExprError(Exception):
    pass


TOKEN_RE = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<num>0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.*])
  | (?P<id>[A-Za-z_][A-Za-z0-9_-]*)
)""", re.X)


def tokenize(expr):
    tokens, pos = [], 0
    while True:
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
        if pos >= len(expr):
            return tokens
        m = TOKEN_RE.match(expr, pos)
        if not m or m.end() == pos:
            if expr[pos] == "'":
                raise ExprError("a string literal is not closed")
            raise ExprError(f"unexpected character {expr[pos]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()


def find_expressions(text):
    """Yields (expression, None) for each ${{ ... }} in text, or (None, error)."""
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            return
        i, in_str = start + 3, False
        while i < len(text):
            c = text[i]
            if in_str:
                if c == "'":
                    in_str = False
            elif c == "'":
                in_str = True
            elif text.startswith("}}", i):
                break
            elif text.startswith("${{", i):
                yield None, "an expression `${{` is not closed with `}}` before the next `${{`"
                return
            i += 1
        if i >= len(text):
            yield None, "an expression `${{` is not closed with `}}`"
            return
        yield text[start + 3:i], None
        pos = i + 2


def check_expression(expr, matrix_keys, in_job):
    """Problems with one expression: balance, unknown contexts, unknown matrix keys."""
    try:
        tokens = tokenize(expr)
    except ExprError as e:
        return [f"expression `{expr.strip()}`: {e}"]
    problems, depth = [], []
    pairs = {")": "(", "]": "["}
    for _, tok in [t for t in tokens if t[0] == "op"]:
        if tok in "([":
            depth.append(tok)
        elif tok in ")]":
            if not depth or depth.pop() != pairs[tok]:
                return [f"expression `{expr.strip()}`: unbalanced {tok!r}"]
    if depth:
        return [f"expression `{expr.strip()}`: {depth[-1]!r} is not closed"]
    if not tokens:
        return [f"expression `{expr}` is empty"]
    for i, (kind, tok) in enumerate(tokens):
        if kind != "id":
            continue
        after_dot = i > 0 and tokens[i - 1] == ("op", ".")
        is_call = i + 1 < len(tokens) and tokens[i + 1] == ("op", "(")
        if after_dot:
            continue
        if is_call:
            if tok.lower() not in FUNCTIONS:
                problems.append(f"expression `{expr.strip()}`: unknown function {tok}()")
            continue
        if tok in LITERALS:
            continue
        if tok not in CONTEXTS:
            problems.append(f"expression `{expr.strip()}`: unknown context `{tok}` "
                            f"(known: {', '.join(sorted(CONTEXTS))})")
            continue
        if tok == "matrix":
            if not in_job:
                problems.append(f"expression `{expr.strip()}`: `matrix` is only available inside a job")
            elif i + 2 < len(tokens) and tokens[i + 1] == ("op", ".") and tokens[i + 2][0] == "id":
                key = tokens[i + 2][1]
                if matrix_keys is not None and key not in matrix_keys:
                    have = ", ".join(sorted(matrix_keys)) or "none: the job has no matrix"
                    problems.append(f"expression `{expr.strip()}`: `matrix.{key}` is not a key "
                                    f"of this job's matrix (keys: {have})")
    return problems


class Parser:
    """Evaluates an expression as far as the matrix decides it; the rest is UNKNOWN."""

    def __init__(self, tokens, context):
        self.t, self.i, self.ctx = tokens, 0, context

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, tok=None):
        kind, val = self.peek()
        if kind is None or (tok is not None and val != tok):
            raise ExprError(f"expected {tok or 'more'}")
        self.i += 1
        return kind, val

    def parse(self):
        v = self.or_()
        if self.i != len(self.t):
            raise ExprError(f"unexpected {self.peek()[1]!r}")
        return v

    def or_(self):
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            r = self.and_()
            v = UNKNOWN if v is UNKNOWN else (v if truthy(v) else r)
        return v

    def and_(self):
        v = self.eq()
        while self.peek() == ("op", "&&"):
            self.take()
            r = self.eq()
            v = UNKNOWN if v is UNKNOWN else (r if truthy(v) else v)
        return v

    def eq(self):
        v = self.cmp()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            r = self.cmp()
            if v is UNKNOWN or r is UNKNOWN:
                v = UNKNOWN
            else:
                v = loose_equal(v, r) == (op == "==")
        return v

    def cmp(self):
        v = self.unary()
        while self.peek() in (("op", "<"), ("op", ">"), ("op", "<="), ("op", ">=")):
            self.take()
            self.unary()
            v = UNKNOWN
        return v

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            v = self.unary()
            return UNKNOWN if v is UNKNOWN else not truthy(v)
        return self.postfix(self.primary())

    def primary(self):
        kind, val = self.take()
        if kind == "str":
            return val[1:-1].replace("''", "'")
        if kind == "num":
            return float(int(val, 16)) if val.lower().startswith("0x") else float(val)
        if kind == "op" and val == "(":
            v = self.or_()
            self.take(")")
            return v
        if kind == "id":
            if self.peek() == ("op", "("):
                self.take()
                args = []
                while self.peek() != ("op", ")"):
                    args.append(self.or_())
                    if self.peek() == ("op", ","):
                        self.take()
                self.take(")")
                return call(val, args)
            if val in LITERALS:
                return {"true": True, "false": False, "null": None}[val]
            return self.ctx.get(val, UNKNOWN)
        raise ExprError(f"unexpected {val!r}")

    def postfix(self, v):
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                kind, key = self.take()
                v = UNKNOWN if key == "*" else prop(v, key)
            else:
                key = self.or_()
                self.take("]")
                v = prop(v, key)
        return v


def prop(v, key):
    if v is UNKNOWN or key is UNKNOWN:
        return UNKNOWN
    if isinstance(v, dict):
        for k, val in v.items():
            if str(k).lower() == str(key).lower():
                return val
        return None
    return None


def call(name, args):
    name = name.lower()
    if name in ("success", "always"):
        return True
    if name in ("failure", "cancelled"):
        return False
    if any(a is UNKNOWN for a in args):
        return UNKNOWN
    if name in ("contains", "startswith", "endswith") and len(args) == 2:
        a, b = (to_str(x).lower() for x in args)
        if name == "contains":
            if isinstance(args[0], list):
                return any(loose_equal(x, args[1]) for x in args[0])
            return b in a
        return a.startswith(b) if name == "startswith" else a.endswith(b)
    return UNKNOWN


def truthy(v):
    return not (v is None or v is False or v == "" or (isinstance(v, float) and (v == 0 or v != v)))


def to_number(v):
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip()) if v.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def loose_equal(a, b):
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b):
        return a == b
    return to_number(a) == to_number(b)


def to_str(v):
    if v is None:
        return ""
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v == int(v) else repr(v)
    return str(v)


def evaluate(expr, context):
    try:
        return Parser(tokenize(expr), context).parse()
    except ExprError:
        return UNKNOWN


def substitute(value, context, partial=False):
    """A YAML scalar with every ${{ }} the matrix decides replaced; UNKNOWN if any is left,
    unless partial: then those stay as they are."""
    if not isinstance(value, str):
        return to_str(value) if value is not None else None
    out, pos, unknown = [], 0, False
    for m in re.finditer(r"\$\{\{(.*?)\}\}", value, re.S):
        out.append(value[pos:m.start()])
        v = evaluate(m.group(1), context)
        if v is UNKNOWN or isinstance(v, (dict, list)):
            unknown = True
            out.append(m.group(0))
        else:
            out.append(to_str(v))
        pos = m.end()
    out.append(value[pos:])
    return UNKNOWN if unknown and not partial else "".join(out)


def condition_holds(cond, context):
    """A job's or step's `if:`: False only when the matrix decides it is false."""
    if cond is None:
        return True
    if isinstance(cond, bool):
        return cond
    text = str(cond).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    v = evaluate(m.group(1) if m else text, context)
    return True if v is UNKNOWN else truthy(v)


# --- the project: ctest names and DSN variables ---------------------------------------

def strip_cmake_comments(text):
    return re.sub(r"#[^\n]*", "", text)


def project_facts(source_dir):
    """(defined ctest names, conformance dialects, {dialect: {DSN var: where read}}), problems."""
    problems = []
    tests_dir = source_dir / "tests"
    main_cmake = tests_dir / "CMakeLists.txt"
    defined, dialects = set(), []
    if not main_cmake.is_file():
        return set(), [], {}, [f"{main_cmake} does not exist"]
    for cm in sorted(tests_dir.rglob("CMakeLists.txt")):
        text = strip_cmake_comments(cm.read_text(encoding="utf-8"))
        defined |= set(re.findall(r"add_test\s*\(\s*NAME\s+([A-Za-z0-9_.+-]+)(?=[\s)])", text))
        if cm == main_cmake:
            for m in re.finditer(r"foreach\s*\(\s*(\w+)\s+(?:IN\s+ITEMS\s+)?([^)]*)\)(.*?)endforeach",
                                 text, re.S | re.I):
                var, items, body = m.groups()
                if f"conformance_${{{var}}}" in body:
                    dialects = items.split()
    if not dialects:
        problems.append(f"{main_cmake}: found no `foreach(<var> ...)` that adds conformance_${{<var>}}: "
                        "the validator cannot tell which conformance tests exist")
    defined |= {f"conformance_{d}" for d in dialects}

    conf_dir = tests_dir / "conformance"
    sources = sorted(list(conf_dir.glob("*.cpp")) + list(conf_dir.glob("*.hpp")))
    if not sources:
        problems.append(f"{conf_dir}: no conformance sources to read the FERRY_TEST_*_DSN variables from")
    dsn_vars = {}
    dynamic = {}
    for src in sources:
        text = src.read_text(encoding="utf-8", errors="replace")
        rel = src.relative_to(source_dir)
        for m in re.finditer(r"\bFERRY_TEST_([A-Z]+)_(READONLY_)?DSN\b", text):
            dsn_vars.setdefault(m.group(1).lower(), {}).setdefault(m.group(0), str(rel))
        # Names built at run time: "FERRY_TEST_" + upper + "_DSN" (one per server dialect).
        for suffix in ("_DSN", "_READONLY_DSN"):
            if re.search(r'"FERRY_TEST_"[^;\n]{0,120}?"' + suffix + r"\b", text):
                dynamic.setdefault(suffix, str(rel))
    for d in dialects:
        if d == "sqlite":
            continue
        for suffix, where in dynamic.items():
            dsn_vars.setdefault(d, {}).setdefault(f"FERRY_TEST_{d.upper()}{suffix}",
                                                  where + ", as a name built per dialect")
    return defined, dialects, dsn_vars, problems


# --- the workflow -------------------------------------------------------------------

def step_label(job_id, index, step):
    name = ""
    if isinstance(step, dict):
        name = step.get("name") or step.get("uses") or str(step.get("run", "")).strip().split("\n")[0]
    return f"job '{job_id}', step {index + 1}" + (f" '{name}'" if name else "")


def locate(path, jobs):
    """A human name for a place in the workflow: job 'x', step 3 'name', key."""
    if len(path) >= 2 and path[0] == "jobs":
        job_id = path[1]
        if len(path) >= 4 and path[2] == "steps" and isinstance(path[3], int):
            steps = jobs.get(job_id, {}).get("steps") or []
            step = steps[path[3]] if path[3] < len(steps) else None
            rest = ".".join(str(p) for p in path[4:])
            return step_label(job_id, path[3], step) + (f", {rest}" if rest else "")
        rest = ".".join(str(p) for p in path[2:])
        return f"job '{job_id}'" + (f", {rest}" if rest else "")
    return ".".join(str(p) for p in path) or "top level"


def matrix_keys(job):
    matrix = (job.get("strategy") or {}).get("matrix") if isinstance(job.get("strategy"), dict) else None
    if matrix is None:
        return set()
    if not isinstance(matrix, dict):
        return None  # built by an expression: its keys are not known here
    keys = {k for k in matrix if k not in ("include", "exclude")}
    for entry in matrix.get("include") or []:
        if isinstance(entry, dict):
            keys |= set(entry)
    return keys


def expand_matrix(job):
    """Every combination GitHub would run; [{}] without a matrix, [UNKNOWN] if dynamic."""
    matrix = (job.get("strategy") or {}).get("matrix") if isinstance(job.get("strategy"), dict) else None
    if matrix is None:
        return [{}]
    if not isinstance(matrix, dict):
        return [UNKNOWN]
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    if any(not isinstance(v, list) for v in axes.values()):
        return [UNKNOWN]
    combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())] if axes else []
    for ex in matrix.get("exclude") or []:
        combos = [c for c in combos if not all(loose_equal(c.get(k), v) for k, v in ex.items())]
    originals = [dict(c) for c in combos]
    for entry in matrix.get("include") or []:
        if not isinstance(entry, dict):
            continue
        matched = False
        for orig, combo in zip(originals, combos):
            if all(loose_equal(orig[k], v) for k, v in entry.items() if k in orig):
                combo.update({k: v for k, v in entry.items() if k not in orig})
                matched = True
        if not matched:
            combos.append(dict(entry))
    return combos or [{}]


def describe(instance):
    if instance is UNKNOWN or not instance:
        return ""
    for key in ("target", "name"):
        if instance.get(key):
            return f" ({to_str(instance[key])})"
    return " (" + ", ".join(f"{k}={to_str(v)}" for k, v in instance.items() if to_str(v)) + ")"


def shell_commands(script):
    """Shell lines of a run script, continuations joined."""
    return script.replace("\\\n", " ").split("\n")


def github_env_exports(script):
    """NAME=VALUE pairs a script appends to $GITHUB_ENV with `echo "NAME=VALUE" >> "$GITHUB_ENV"`."""
    out = {}
    for line in shell_commands(script):
        m = re.match(r"""\s*echo\s+(["']?)([A-Za-z_][A-Za-z0-9_]*)=(.*?)\1\s*>>\s*"?\$\{?GITHUB_ENV\}?"?\s*$""", line)
        if m:
            out[m.group(2)] = m.group(3)
    return out


def ctest_invocations(script):
    """(argv after ctest, error) for each ctest command in a script."""
    for line in shell_commands(script):
        if not re.search(r"(^|[\s;&|(/])ctest(\s|$)", line):
            continue
        try:
            lex = shlex.shlex(line, posix=True, punctuation_chars=True)
            lex.whitespace_split = True
            words = list(lex)
        except ValueError as e:
            yield None, f"cannot split `{line.strip()}`: {e}"
            continue
        for i, w in enumerate(words):
            if w == "ctest" or w.endswith("/ctest"):
                args = []
                for a in words[i + 1:]:
                    if a in ("&&", "||", ";", "|", "&", ")"):
                        break
                    args.append(a)
                yield args, None


def option_value(args, short, long_):
    for i, a in enumerate(args):
        if a in (short, long_) and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(long_ + "="):
            return a.split("=", 1)[1]
        if short and a.startswith(short) and len(a) > len(short) and not a.startswith("--"):
            return a[len(short):]
    return None


def validate(path, source_dir):
    errors = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        return [f"cannot read: {e}"]
    try:
        doc = yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as e:
        return [f"does not parse as YAML: {e}"]
    if not isinstance(doc, dict):
        return ["is not a YAML mapping (a workflow has keys `on` and `jobs`)"]

    # PyYAML reads a bare `on:` as the boolean True (YAML 1.1).
    if "on" not in doc and True not in doc:
        errors.append("has no top-level `on` (the events that start the workflow)")
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        errors.append("has no top-level `jobs` mapping")
        return errors

    # Structure of each job and step.
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            errors.append(f"job '{job_id}' is not a mapping")
            continue
        reusable = "uses" in job
        if not reusable and "runs-on" not in job:
            errors.append(f"job '{job_id}' has no `runs-on`")
        if not reusable and "timeout-minutes" not in job:
            errors.append(f"job '{job_id}' has no `timeout-minutes` (a hung server would hold the runner for 6 hours)")
        needs = job.get("needs", [])
        for need in [needs] if isinstance(needs, str) else (needs or []):
            if need not in jobs:
                errors.append(f"job '{job_id}' needs '{need}', which is not a job of this workflow "
                              f"(jobs: {', '.join(jobs)})")
            elif need == job_id:
                errors.append(f"job '{job_id}' needs itself")
        if reusable:
            errors += [f"job '{job_id}': {p}" for p in check_uses(job["uses"])]
            continue
        steps = job.get("steps")
        if not isinstance(steps, list) or not steps:
            errors.append(f"job '{job_id}' has no `steps` list")
            continue
        for i, step in enumerate(steps):
            label = step_label(job_id, i, step)
            if not isinstance(step, dict):
                errors.append(f"{label} is not a mapping")
                continue
            has = [k for k in ("uses", "run") if k in step]
            if len(has) != 1:
                errors.append(f"{label} has {' and '.join(f'`{k}`' for k in has) or 'neither `uses` nor `run`'}: "
                              "a step needs exactly one of them")
            if "uses" in step:
                errors += [f"{label}: {p}" for p in check_uses(step["uses"])]

    # Every ${{ }} and every `if:`.
    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, path + [i])
        elif isinstance(node, str):
            yield path, node

    for path, value in walk(doc, []):
        in_job = len(path) >= 2 and path[0] == "jobs" and isinstance(jobs.get(path[1]), dict)
        keys = matrix_keys(jobs[path[1]]) if in_job else set()
        exprs = list(find_expressions(value))
        is_condition = path and path[-1] == "if" and len(path) in (3, 5)
        if is_condition and "${{" not in value:
            exprs = [(value, None)]
        for expr, err in exprs:
            where = locate(path, jobs)
            if err:
                errors.append(f"{where}: {err}")
                continue
            errors += [f"{where}: {p}" for p in check_expression(expr, keys, in_job)]

    # What runs where: the dialects, their servers, their DSNs, the ctest names.
    defined, dialects, dsn_vars, problems = project_facts(source_dir)
    errors += problems
    covered = {}
    wf_env = doc.get("env") if isinstance(doc.get("env"), dict) else {}
    for job_id, job in jobs.items():
        if not isinstance(job, dict) or not isinstance(job.get("steps"), list):
            continue
        for instance in expand_matrix(job):
            ctx = {"matrix": instance}
            if not condition_holds(job.get("if"), ctx):
                continue
            servers = set()
            for svc in (job.get("services") or {}).values():
                image = substitute(svc.get("image") if isinstance(svc, dict) else svc, ctx)
                if isinstance(image, str) and image:
                    servers.add(re.sub(r"^(docker\.io/)?(library/)?", "", image))
            env = {}
            for scope in (wf_env, job.get("env") or {}):
                if isinstance(scope, dict):
                    env.update({k: substitute(v, ctx) for k, v in scope.items()})
            for i, step in enumerate(job["steps"]):
                if not isinstance(step, dict) or not condition_holds(step.get("if"), ctx):
                    continue
                label = step_label(job_id, i, step) + describe(instance)
                step_env = dict(env)
                if isinstance(step.get("env"), dict):
                    step_env.update({k: substitute(v, ctx) for k, v in step["env"].items()})
                script = substitute(step.get("run"), ctx, partial=True) if "run" in step else None
                if not isinstance(script, str):
                    continue
                if re.search(r"\bcockroach\s+start", script):
                    servers.add("cockroach")
                if job.get("container") and "${{ github.workspace }}" in str(step.get("run")):
                    errors.append(f"{label}: `${{{{ github.workspace }}}}` is the runner's path, not the "
                                  "container's; use $GITHUB_WORKSPACE in a container job")
                for args, err in ctest_invocations(script):
                    if err:
                        errors.append(f"{label}: {err}")
                        continue
                    errors += check_ctest(label, args, step_env, defined, dialects, dsn_vars, servers,
                                          covered)
                for name, val in github_env_exports(script).items():
                    env[name] = val
    for label, dialect, server in REQUIRED_TARGETS:
        runs = covered.get(dialect, [])
        if not any(server is None or any(server.match(s) for s in srv) for srv in runs):
            want = "" if server is None else f" with a {label} server (service image or started by a step)"
            errors.append(f"no job runs conformance_{dialect}{want}: the matrix must cover {label}")
    return list(dict.fromkeys(errors))  # one line per problem, in order


def check_uses(uses):
    if not isinstance(uses, str) or not uses:
        return ["`uses` is empty"]
    if uses.startswith("./"):
        return []
    if uses.startswith("docker://"):
        image = uses[len("docker://"):]
        if "@sha256:" in image or ":" in image.rsplit("/", 1)[-1]:
            return []
        return [f"`uses: {uses}` names no image tag or digest"]
    m = re.fullmatch(r"[\w.-]+/[\w.-]+(/[^@]+)?@(.+)", uses)
    if not m:
        return [f"`uses: {uses}` is not pinned to a version (owner/repo@vN or @<commit sha>)"]
    ref = m.group(2)
    if re.fullmatch(r"v\d+(\.\d+)*", ref) or re.fullmatch(r"[0-9a-f]{40}", ref):
        return []
    return [f"`uses: {uses}` is pinned to '{ref}', not to a version (@vN) or a full commit sha"]


def check_ctest(label, args, env, defined, dialects, dsn_vars, servers, covered):
    errors = []
    if "--no-tests=error" not in args and not any(
            a == "--no-tests" and i + 1 < len(args) and args[i + 1] == "error" for i, a in enumerate(args)):
        errors.append(f"{label}: ctest without --no-tests=error passes when its -R matches no test")
    regex = option_value(args, "-R", "--tests-regex")
    exclude = option_value(args, "-E", "--exclude-regex")
    if regex is not None and "${{" in regex:
        return errors  # decided at run time: nothing more to check here
    for name in re.findall(r"conformance_[A-Za-z0-9_]+", regex or ""):
        if name not in defined:
            errors.append(f"{label}: ctest runs {name}, which tests/CMakeLists.txt does not define "
                          f"(conformance tests: {', '.join('conformance_' + d for d in dialects) or 'none found'})")
    try:
        selected = {t for t in defined if regex is None or re.search(regex, t)}
        if exclude:
            selected = {t for t in selected if not re.search(exclude, t)}
    except re.error as e:
        return errors + [f"{label}: ctest regex {regex!r} does not compile: {e}"]
    if not selected:
        errors.append(f"{label}: ctest -R {regex!r} matches no test that tests/ defines")
    ci = env.get("CI")
    ci_on = ci is UNKNOWN or (isinstance(ci, str) and ci.lower() in ("true", "1", "yes"))
    for test in sorted(selected):
        m = re.fullmatch(r"conformance_(\w+)", test)
        if not m:
            continue
        dialect = m.group(1)
        covered.setdefault(dialect, []).append(set(servers))
        if not ci_on:
            errors.append(f"{label}: runs {test} without CI=true, so a missing DSN would skip it instead of failing")
        for var, where in sorted(dsn_vars.get(dialect, {}).items()):
            value = env.get(var)
            if value is None or value == "":
                errors.append(f"{label}: runs {test} but does not export {var} (read in {where})")
    return errors


def expected_reasons(path):
    return [m.group(1).strip() for m in re.finditer(r"^#\s*expect:\s*(.+)$",
                                                   Path(path).read_text(encoding="utf-8"), re.M)]


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source-dir", type=Path, default=here.parent.parent,
                    help="the Ferry source tree (default: two levels above this script)")
    ap.add_argument("--expect-reject", action="store_true",
                    help="each workflow must be rejected, for the reasons its `# expect:` lines name")
    ap.add_argument("workflows", nargs="+", type=Path)
    opts = ap.parse_args()

    failed = False
    for wf in opts.workflows:
        try:
            errors = validate(wf, opts.source_dir)
        except Exception as e:  # a crash is never a pass, nor a valid rejection
            print(f"{wf}: the validator crashed: {type(e).__name__}: {e}")
            failed = True
            continue
        if not opts.expect_reject:
            for e in errors:
                print(f"{wf}: {e}")
            if errors:
                failed = True
            else:
                print(f"{wf}: OK")
            continue
        reasons = expected_reasons(wf)
        if not reasons:
            print(f"{wf}: has no `# expect: TEXT` line naming why it must be rejected")
            failed = True
        elif not errors:
            print(f"{wf}: accepted, but must be rejected ({'; '.join(reasons)})")
            failed = True
        else:
            missing = [r for r in reasons if not any(r in e for e in errors)]
            if missing:
                print(f"{wf}: rejected, but not for: {'; '.join(missing)}. It said:")
                for e in errors:
                    print(f"    {e}")
                failed = True
            else:
                print(f"{wf}: rejected as expected ({'; '.join(reasons)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
