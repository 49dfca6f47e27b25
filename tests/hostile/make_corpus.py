"""Write the hostile model corpus of tests/hostile/ and its manifest (expected.json).

Run from the repository root: ``python3 tests/hostile/make_corpus.py``. Each case is a complete
model file with one hostile part; the manifest says what loading it must give: ``"runs"`` (loads
and runs to a finite result) or the name of the error class, plus the line and variable the
message must name. Payloads would create a file named ``PWNED`` in the working directory.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CANARY = "PWNED"
IMPORT = f'__import__("os").system("touch {CANARY}")'
OPEN = f'open("{CANARY}","w").close()'
EXEC = f"exec(\"open('{CANARY}','w')\")"

CONTROL = """
********************************************************
\t.Control
********************************************************~
\t\tSimulation Control Parameters
\t|

FINAL TIME  = 10
\t~\tMonth
\t~\tThe final time for the simulation.
\t|

INITIAL TIME  = 0
\t~\tMonth
\t~\tThe initial time for the simulation.
\t|

SAVEPER  = 1
\t~\tMonth [0,?]
\t~\tThe frequency with which output is stored.
\t|

TIME STEP  = 0.25
\t~\tMonth [0,?]
\t~\tThe time step for the simulation.
\t|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*View 1
"""

XMILE = """<?xml version="1.0" encoding="utf-8"?>
<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" version="1.0">
    <header><vendor>test</vendor><product>test</product></header>
    <sim_specs method="Euler" time_units="Months">
        <start>0</start>
        <stop>10</stop>
        <dt>0.25</dt>
    </sim_specs>
    <dimensions>{dims}</dimensions>
    <model>
        <variables>
            <stock name="Level">
                <eqn>1</eqn>
                <inflow>inflow</inflow>
            </stock>
            <flow name="inflow">
                <eqn>0.1 * Level</eqn>
            </flow>
{body}
        </variables>
    </model>
</xmile>
"""

GF_OK = """            <gf name="tbl">
                <xscale min="0" max="10"/>
                <ypts>0,0.5,1</ypts>
            </gf>
            <aux name="y">
                <eqn>tbl(Time)</eqn>
            </aux>"""

CASES: dict[str, dict] = {}


def eq(name: str, expr: str, units: str = "", doc: str = "") -> str:
    return f"{name} = {expr}\n\t~\t{units}\n\t~\t{doc}\n\t|\n\n"


def block(text: str, units: str = "", doc: str = "") -> str:
    return f"{text}\n\t~\t{units}\n\t~\t{doc}\n\t|\n\n"


BASE = eq("Stock", "INTEG(flow, 1)") + eq("flow", "0.1 * Stock")


def mdl(name: str, body: str, expect: str, mark: str | None = None, variable: str | None = None,
        what: str = "", base: bool = True, raw: bytes | None = None) -> None:
    """One Vensim case; ``mark`` is text on the line the error must name."""
    text = "{UTF-8}\n" + (BASE if base else "") + body + CONTROL
    data = raw if raw is not None else text.encode("utf-8")
    _add(name + ".mdl", data, expect, mark, variable, what)


def xmile(name: str, body: str, expect: str, mark: str | None = None, variable: str | None = None,
          what: str = "", dims: str = "", suffix: str = ".xmile", prefix: str = "") -> None:
    text = XMILE.format(body=body, dims=dims)
    if prefix:
        text = text.replace('<?xml version="1.0" encoding="utf-8"?>\n', prefix)
    _add(name + suffix, text.encode("utf-8"), expect, mark, variable, what)


def _add(file: str, data: bytes, expect: str, mark, variable, what) -> None:
    line = None
    if mark is not None:
        pos = data.find(mark.encode("utf-8"))
        assert pos >= 0, (file, mark)
        line = data.count(b"\n", 0, pos) + 1
    CASES[file] = {"data": data, "expect": expect, "line": line, "variable": variable, "class": what}


def lookup(range_text: str, points: str = "(0,0),(10,1)") -> str:
    return f"tbl(\n\t[{range_text}],{points})"


# ------------------------------------------------------------------ code where numbers belong
def code_cases() -> None:
    cls = "code in a lookup range"
    for tag, payload in [("import", IMPORT), ("open", OPEN), ("exec", EXEC)]:
        mdl(f"lookup_range_{tag}", block(lookup(f"({payload}*0,0)-(10,10)")) + eq("y", "tbl(Time)"),
            "UnsafeModelTextError", "[(", "tbl", cls)
        mdl(f"with_lookup_range_{tag}",
            eq("y", f"WITH LOOKUP(Time, ([({payload}*0,0)-(10,10)],(0,0),(10,1)))"),
            "UnsafeModelTextError", "y = WITH", "y", "code in a WITH LOOKUP range")
    tricks = {
        "lambda": f"(lambda: {IMPORT})() and 0",
        "dunder_subclasses": "().__class__.__base__.__subclasses__() and 0",
        "getattr_builtins": f"getattr(__builtins__,\"ex\"+\"ec\")(\"open('{CANARY}','w')\") or 0",
        "comprehension": f"[{OPEN} for _ in 'x'] and 0",
        "walrus": "(m:=__import__('os')) and 0",
        "fstring": f"f\"{{{IMPORT}}}\" and 0",
        "fullwidth_exec": f"\uff45\uff58\uff45\uff43(\"open('{CANARY}','w')\") or 0",
        "unicode_escape_name": "\\u0065val('1') or 0",
        "bytes_decode": f"eval(b'{IMPORT.replace(chr(39), chr(34))}'.decode()) or 0",
        "name_lookup": "x or 0",
        "attribute": "(0).real",
        "complex_literal": "1j",
        "hex_literal": "0x10",
        "underscore_literal": "1_000",
        "inf_name": "inf",
        "nan_name": "nan",
        "huge_exponent": "1e999",
        "huge_integer": "9" * 500,
        "deep_literal": "(" * 30 + "0" + ")" * 30,
        "semicolon": "0;__import__('os')",
        "newline_statement": "0\n\timport os",
    }
    for tag, payload in tricks.items():
        mdl(f"lookup_range_{tag}", block(lookup(f"({payload},0)-(10,10)")) + eq("y", "tbl(Time)"),
            "UnsafeModelTextError", "[(", "tbl", "code or non-numbers in a lookup range")
    # the "]" inside the payload ends pysd's range early: a syntax error, not a range to check
    CASES["lookup_range_comprehension.mdl"]["expect"] = "ModelLoadError"
    mdl("lookup_range_three_columns", block(lookup("(0,0,0)-(10,10,10)")) + eq("y", "tbl(Time)"),
        "UnsafeModelTextError", "[(", "tbl", "malformed lookup range")
    mdl("lookup_range_spaced_dash", block(lookup("(0,0) - (10,10)")) + eq("y", "tbl(Time)"),
        "UnsafeModelTextError", "[(", "tbl", "malformed lookup range")
    mdl("lookup_points_code", block(f"tbl(\n\t[(0,0)-(10,10)],(0,{IMPORT}),(10,1))") + eq("y", "tbl(Time)"),
        "ModelLoadError", "[(", "tbl", "code in lookup points")
    mdl("lookup_points_name", block("tbl((0,zero),(10,1))") + eq("zero", "0") + eq("y", "tbl(Time)"),
        "ModelLoadError", "tbl((", "tbl", "names in lookup points")
    mdl("with_lookup_points_code", eq("y", f"WITH LOOKUP(Time, ((0,{IMPORT}),(10,1)))"),
        "ModelLoadError", "y = WITH", "y", "code in WITH LOOKUP points")
    mdl("number_code", eq("k", f"1{IMPORT}") + eq("y", "k"), "ModelLoadError", "k = 1", "k",
        "code after a number")
    mdl("number_out_of_range", eq("k", "1e999") + eq("y", "k * Stock"), "UnsafeModelTextError",
        "k = 1e999", "k", "number overflowing to inf")
    mdl("number_long", eq("k", "0." + "0" * 5000 + "1") + eq("y", "k"), "UnsafeModelTextError",
        "k = 0.", "k", "number of 5000 digits")
    mdl("number_leading_zeros", eq("k", "007") + eq("y", "k * Stock"), "runs",
        what="leading zeros (eval rejected them; Vensim reads 7)")
    mdl("array_code", block("A: a1, a2") + eq("x[A]", f"1, {IMPORT}") + eq("y", "SUM(x[A!])"),
        "ModelLoadError", "x[A] =", "x", "code in a constant array")
    mdl("tabbed_array_code", block("A: a1, a2") + eq("x[A]", f"TABBED ARRAY(1 {IMPORT})"),
        "ModelLoadError", "x[A] =", "x", "code in a TABBED ARRAY")
    mdl("string_argument_escape",
        eq("x", "GET XLS CONSTANTS('\\x27+__import__(\"os\").system(\"touch PWNED\")+\\x27', 'a', 'b')"),
        "ModelLoadError", what="quote escapes in a string argument")
    mdl("data_file_parent_folder", eq("x", "GET XLS CONSTANTS('../../../../etc/passwd', 'a', 'B2')"),
        "ModelLoadError", "GET XLS CONSTANTS", "x", "a data file outside the model's folder")
    mdl("data_file_absolute_path", eq("x", "GET DIRECT CONSTANTS('/etc/passwd', ',', 'B2')"),
        "ModelLoadError", "GET DIRECT CONSTANTS", "x", "an absolute data file path")
    mdl("units_range_code", eq("k", "2", units=f"Month [{IMPORT}, 10]") + eq("y", "k"),
        "ModelLoadError", "k = 2", "k", "code in the units range")
    mdl("units_range_two_brackets", eq("k", "2", units="Month [0,1] [2,3]") + eq("y", "k"),
        "ModelLoadError", "k = 2", "k", "malformed units range")
    mdl("inline_comment_code", eq("k", f"2 {{ {IMPORT} }}") + eq("y", "k"), "runs",
        what="code in an inline comment (a comment: dropped, never read)")
    mdl("macro_lookup_range_code",
        ":MACRO: DOUBLE(x)\nDOUBLE = 2 * x * tbl2(x)\n\t~\t\n\t~\t\n\t|\n\n"
        + block(lookup(f"({IMPORT}*0,0)-(10,10)").replace("tbl(", "tbl2(")) + ":END OF MACRO:\n"
        + eq("y", "DOUBLE(3)"), "UnsafeModelTextError", "[(", '"y.DOUBLE.tbl2"',
        "code in a macro's lookup (reported in the call's copy of it, at the macro's line)")


# ------------------------------------------------------------------ names and text as data
def data_cases() -> None:
    mdl("dunder_names", eq("__import__", "2") + eq("__builtins__", "__import__ * 3")
        + eq("__class__", "INTEG(__builtins__, 0)"), "runs", what="dunder names")
    mdl("eval_exec_names", eq("eval", "2") + eq("exec", "eval * 3") + eq("compile", "INTEG(exec, 0)"),
        "runs", what="names of Python builtins")
    mdl("doc_docstring_breakout",
        eq("k", "2", doc=f'x"""+{IMPORT}+"""') + eq("y", "k * Stock"), "runs",
        what="documentation ending a Python docstring (pysd's generated code)")
    mdl("name_quote_breakout", eq(f"\"a')+{IMPORT.replace(chr(34), chr(39))}+('\"", "2")
        + eq("y", f"\"a')+{IMPORT.replace(chr(34), chr(39))}+('\" * Stock"), "runs",
        what="a quoted name that would end a Python string")
    mdl("sketch_code", eq("k", "2") + eq("y", "k"), "runs", what="code in the sketch")
    CASES["sketch_code.mdl"]["data"] += f"10,1,{IMPORT},307,235,40,20,3,3,0,0,0,0,0,0\n".encode()
    mdl("encoding_header_code", eq("k", "2") + eq("y", "k"), "runs", what="code in the encoding header")
    CASES["encoding_header_code.mdl"]["data"] = CASES["encoding_header_code.mdl"]["data"].replace(
        b"{UTF-8}", ("{" + IMPORT.replace("}", "") + "}").encode(), 1)
    mdl("function_name_breakout", eq("y", f"\"f') or {IMPORT.replace(chr(34), chr(39))} or ('\"(1)"),
        "ModelLoadError", what="an unknown function whose name would end a Python string")
    mdl("undefined_function", eq("y", "EVAL(1)"), "ModelLoadError", what="unknown function EVAL")


# ------------------------------------------------------------------ bounds
def bound_cases() -> None:
    deep = 100_000
    mdl("nest_100k_parens", eq("k", "1") + eq("y", "(" * deep + "k" + ")" * deep),
        "ModelLimitError", "y = (", "y", "100 000 nested brackets")
    mdl("nest_101_parens", eq("k", "1") + eq("y", "(" * 101 + "k" + ")" * 101),
        "ModelLimitError", "y = (", "y", "nesting just over the bound")
    mdl("nest_100_parens", eq("k", "1") + eq("y", "(" * 100 + "k" + ")" * 100 + " * Stock"),
        "runs", what="nesting at the bound")
    mdl("nest_if_then_else_60", eq("k", "1") + eq("y", "IF THEN ELSE(k > 2, 1, " * 60 + "k"
        + ")" * 60), "runs", what="60 nested IF THEN ELSE (pysd alone overflows its recursion)")
    mdl("nest_5000_calls", eq("k", "1") + eq("y", "MAX(1, " * 5000 + "k" + ")" * 5000),
        "ModelLimitError", "y = MAX", "y", "5000 nested calls")
    mdl("sum_100k_terms", eq("k", "1") + eq("y", "+".join(["k"] * 100_000)), "ModelLimitError",
        "y = k", "y", "a sum of 100 000 terms")
    mdl("sum_1000_terms", eq("k", "1") + eq("y", "+".join(["k"] * 1000)), "runs",
        what="a sum at the bound")
    mdl("call_20k_arguments", eq("k", "1") + eq("y", "MAX(" + ",".join(["k"] * 20_000) + ")"),
        "ModelLimitError", "y = MAX", "y", "20 000 arguments")
    mdl("subscript_range_20M", block("A: (a1-a20000000)") + eq("x[A]", "1"), "ModelLimitError",
        "A: (", "A", "a numeric range of 20 000 000 elements")
    mdl("subscript_range_long_number", block("A: (a1-a" + "9" * 40 + ")") + eq("x[A]", "1"),
        "ModelLimitError", "A: (", "A", "a numeric range with a 40-digit bound")
    mdl("subscript_cells_product", block("A: (a1-a2000)") + block("B: (b1-b2000)")
        + eq("x[A,B]", "1"), "ModelLimitError", "x[A,B]", "x", "a variable of 4 000 000 cells")
    mdl("name_5000_chars", eq("v" * 5000, "1") + eq("y", "v" * 5000), "ModelLimitError",
        "v" * 50, None, "a 5000-character name")
    mdl("long_documentation_line", eq("k", "2", doc="x" * 100_000) + eq("y", "k * Stock"), "runs",
        what="a 100 000-character documentation line")
    mdl("long_equation_line", eq("k", "2" + " " * 100_000 + "+ 1") + eq("y", "k * Stock"), "runs",
        what="a 100 000-character equation line")
    mdl("lookup_2000_points", block("tbl(\n\t[(0,0)-(2000,2000)]," + ",".join(
        f"({i},{i})" for i in range(2000)) + ")") + eq("y", "tbl(Time)"), "runs",
        what="a lookup of 2000 points")


# ------------------------------------------------------------------ bytes and structure
def byte_cases() -> None:
    body = eq("k", "2") + eq("caf\u00e9", "k")
    text = "{UTF-8}\n" + BASE + body + CONTROL
    mdl("non_utf8_latin1", body, "ModelLoadError", what="Latin-1 bytes",
        raw=text.encode("latin-1"))
    CASES["non_utf8_latin1.mdl"]["line"] = text.split("caf")[0].count("\n") + 1
    mdl("utf16", body, "ModelLoadError", what="UTF-16 file", raw=text.encode("utf-16"))
    mdl("nul_byte", eq("k", "2\x00") + eq("y", "k"), "ModelLoadError", "k = 2", None, "a NUL byte")
    mdl("escape_sequence_in_name", eq("k\x1b[31m", "2") + eq("y", "k"), "ModelLoadError",
        "k\x1b", None, "terminal escape codes")
    mdl("bom_utf8", eq("k", "2") + eq("y", "k * Stock"), "runs", what="a byte-order mark")
    CASES["bom_utf8.mdl"]["data"] = b"\xef\xbb\xbf" + CASES["bom_utf8.mdl"]["data"]
    crlf = ("{UTF-8}\n" + BASE + eq("k", "2") + eq("j", "k * * 2") + CONTROL).replace("\n", "\r\n")
    mdl("crlf_syntax_error", "", "ModelLoadError", what="CRLF line endings", raw=crlf.encode())
    CASES["crlf_syntax_error.mdl"]["line"] = crlf.split("j = k")[0].count("\n") + 1
    CASES["crlf_syntax_error.mdl"]["variable"] = "j"
    mdl("crlf_runs", "", "runs", what="CRLF line endings",
        raw=("{UTF-8}\n" + BASE + eq("k", "2\\\n\t+ 1") + CONTROL).replace("\n", "\r\n").encode())
    mdl("empty_file", "", "ModelLoadError", what="an empty file", raw=b"")
    mdl("binary_garbage", "", "ModelLoadError", what="random bytes",
        raw=bytes((i * 7919 + 13) % 256 for i in range(4096)))
    mdl("only_sketch", "", "ModelLoadError", what="no equations",
        raw=("\\\\\\---/// Sketch\n" + f"10,1,{IMPORT}\n").encode())
    mdl("syntax_error_line", eq("k", "1") + eq("j", "k * * 2"), "ModelLoadError", "j = k", "j",
        "a syntax error (the file line, not the equation's)")
    mdl("missing_tildes", "x = 1 |\n\n" + eq("k", "2") + eq("y", "k"), "ModelLoadError", "x = 1",
        None, "a block without '~' (pysd drops the rest of the file)")
    mdl("five_parts", "x = 1 ~ a ~ b ~ c ~ d |\n\n" + eq("y", "x"), "ModelLoadError", "x = 1", None,
        "a block of five parts (pysd drops the rest of the file)")
    mdl("missing_final_bar", eq("k", "2") + "y = k\n\t~\t\n\t~\t\n", "ModelLoadError", "y = k",
        None, "a last equation without '|'")
    CASES["missing_final_bar.mdl"]["data"] = CASES["missing_final_bar.mdl"]["data"].replace(
        CONTROL.encode(), b"\n")
    mdl("unbalanced_quote", eq('"k', "2") + eq("y", "1"), "ModelLoadError", what="an unclosed quote")
    mdl("circular_subscript_copy", block("A <-> B") + block("B <-> A") + eq("x[A]", "1"),
        "ModelLoadError", what="subscript ranges copying each other")
    mdl("operator_only", eq("k", "+") + eq("y", "k"), "ModelLoadError", "k = +", "k",
        "an operator without operands")


# ------------------------------------------------------------------ silent wrong answers
def validation_cases() -> None:
    mdl("dup_var_case", eq("Dup Var", "1") + eq("dup var", "2") + eq("y", "Dup Var * Stock"),
        "ModelLoadError", "dup var =", None, "names differing in case")
    mdl("dup_var_underscore", eq("Dup Var", "1") + eq("Dup_Var", "2") + eq("y", "Dup Var * Stock"),
        "ModelLoadError", "Dup_Var =", None, "names differing in spaces and underscores")
    mdl("dup_var_spaces", eq("Dup Var", "1") + eq("Dup  Var", "2") + eq("y", "Dup Var * Stock"),
        "ModelLoadError", "Dup  Var =", None, "names differing in the number of spaces")
    mdl("dup_identical", eq("k", "1") + eq("k", "2") + eq("y", "k"), "ModelLoadError", "k = 2", "k",
        "the same name twice")
    mdl("dup_subscripted_cell", block("A: a1, a2") + eq("x[A]", "1") + eq("x[a1]", "2")
        + eq("y", "SUM(x[A!])"), "ModelLoadError", "x[a1]", "x", "a cell defined twice")
    mdl("dup_time_step", eq("k", "1") + eq("TIME STEP", "0.5"), "ModelLoadError", "TIME STEP  =",
        None, "TIME STEP defined twice")
    mdl("dup_subscript_element", block("A: a1, a2, a1") + eq("x[A]", "1"), "ModelLoadError",
        "A: a1", "A", "an element listed twice in a range")
    mdl("dup_subscript_numeric_overlap", block("A: (a1-a3), a2") + eq("x[A]", "1"),
        "ModelLoadError", "A: (a1", "A", "a numeric range overlapping a listed element")
    mdl("time_redefined", eq("Time", "5") + eq("y", "Time * Stock"), "ModelLoadError", "Time = 5",
        "Time", "Time defined as a variable")
    mdl("time_redefined_upper", eq("TIME", "5") + eq("y", "TIME"), "ModelLoadError", "TIME = 5",
        "TIME", "TIME defined as a variable")
    mdl("shadow_range", block("A: a1, a2") + eq("A", "3") + eq("x[A]", "A"), "ModelLoadError",
        "A = 3", "A", "a variable named like a subscript range")
    mdl("shadow_element", block("A: a1, a2") + eq("a1", "3") + eq("x[A]", "a1"), "ModelLoadError",
        "a1 = 3", "a1", "a variable named like a subscript element")


# ------------------------------------------------------------------ XMILE
def xmile_cases() -> None:
    bad_gf = """            <gf name="tbl">
                <xscale min="0" max="10"/>
                <ypts>{ypts}</ypts>
            </gf>
            <aux name="y">
                <eqn>tbl(Time)</eqn>
            </aux>"""
    xmile("xmile_ok", GF_OK, "runs", what="a valid XMILE model with a graphical function")
    xmile("xmile_ypts_code", bad_gf.format(ypts=f"0,{IMPORT},1"), "UnsafeModelTextError",
          "<ypts>", "tbl", "code in <ypts>")
    xmile("stmx_ypts_code", bad_gf.format(ypts=f"0,{IMPORT},1"), "UnsafeModelTextError",
          "<ypts>", "tbl", "code in <ypts> (.stmx)", suffix=".stmx")
    xmile("xmile_ypts_truncated", bad_gf.format(ypts="1,2,abc,4"), "UnsafeModelTextError",
          "<ypts>", "tbl", "a <ypts> numpy would silently cut short")
    xmile("xmile_ypts_inf", bad_gf.format(ypts="0,1e999,1"), "UnsafeModelTextError", "<ypts>",
          "tbl", "an overflowing <ypts> value")
    xmile("xmile_xpts_code", """            <gf name="tbl">
                <xpts>0,{p}</xpts>
                <ypts>0,1</ypts>
            </gf>
            <aux name="y"><eqn>tbl(Time)</eqn></aux>""".replace("{p}", IMPORT), "UnsafeModelTextError",
          "<xpts>", "tbl", "code in <xpts>")
    xmile("xmile_xpts_count_mismatch", """            <gf name="tbl">
                <xpts>0,5,10</xpts>
                <ypts>0,1</ypts>
            </gf>
            <aux name="y"><eqn>tbl(Time)</eqn></aux>""", "ModelLoadError", "<xpts>", "tbl",
          "<xpts> and <ypts> of different lengths")
    xmile("xmile_xscale_code", f"""            <gf name="tbl">
                <xscale min='{IMPORT}' max="10"/>
                <ypts>0,1</ypts>
            </gf>
            <aux name="y"><eqn>tbl(Time)</eqn></aux>""", "UnsafeModelTextError", "<xscale", "tbl",
          "code in <xscale>")
    xmile("xmile_inline_gf_code", f"""            <aux name="y">
                <eqn>Time</eqn>
                <gf><xscale min="0" max="10"/><ypts>0,{IMPORT}</ypts></gf>
            </aux>""", "UnsafeModelTextError", "<gf>", "y", "code in an inline graphical function")
    xmile("xmile_range_code", f"""            <aux name="y">
                <eqn>Time</eqn>
                <range min='{IMPORT}' max="1"/>
            </aux>""", "UnsafeModelTextError", "<range", "y", "code in <range>")
    xmile("xmile_eqn_code", f"""            <aux name="y">
                <eqn>{IMPORT.replace('"', "&quot;")}</eqn>
            </aux>""", "ModelLoadError", '<aux name="y">', "y", "code in an equation")
    xmile("xmile_eqn_overflow", """            <aux name="y">
                <eqn>1e999 * Time</eqn>
            </aux>""", "UnsafeModelTextError", '<aux name="y">', "y", "a number overflowing to inf")
    xmile("xmile_deep_nesting", """            <aux name="y">
                <eqn>""" + "(" * 10_000 + "Time" + ")" * 10_000 + """</eqn>
            </aux>""", "ModelLimitError", "<eqn>((", "y", "10 000 nested brackets")
    xmile("xmile_xxe_file", """            <aux name="y">
                <eqn>&secret;</eqn>
            </aux>""", "ModelLoadError", "<!DOCTYPE", None, "an external entity reading a file",
          prefix='<?xml version="1.0"?>\n<!DOCTYPE xmile [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n')
    lol = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    xmile("xmile_billion_laughs", """            <aux name="y">
                <eqn>&l9;</eqn>
            </aux>""", "ModelLoadError", "<!DOCTYPE", None, "entity expansion (billion laughs)",
          prefix=f'<?xml version="1.0"?>\n<!DOCTYPE xmile [{lol}]>\n')
    xmile("xmile_truncated", GF_OK, "ModelLoadError", what="a truncated document")
    data = CASES["xmile_truncated.xmile"]["data"]
    CASES["xmile_truncated.xmile"]["data"] = data[:data.find(b"<ypts>") + 8]
    xmile("xmile_dup_names", """            <aux name="Dup Var"><eqn>1</eqn></aux>
            <aux name="Dup_Var"><eqn>2</eqn></aux>""", "ModelLoadError", '<aux name="Dup_Var">',
          None, "names differing in spaces and underscores")
    xmile("xmile_time_redefined", """            <aux name="Time"><eqn>5</eqn></aux>""",
          "ModelLoadError", '<aux name="Time">', "Time", "Time defined as a variable")
    a, b = ("".join(f'<elem name="{p}{i}"/>' for i in range(1001)) for p in "ab")
    dims = f'<dim name="A">{a}</dim><dim name="B">{b}</dim>'
    xmile("xmile_cells_product", """            <aux name="x">
                <dimensions><dim name="A"/><dim name="B"/></dimensions>
                <eqn>1</eqn>
            </aux>""", "ModelLimitError", '<aux name="x">', "x", "a variable of 1 002 001 cells",
          dims=dims)
    xmile("xmile_no_namespace", GF_OK, "ModelLoadError", what="no XMILE namespace")
    CASES["xmile_no_namespace.xmile"]["data"] = CASES["xmile_no_namespace.xmile"]["data"].replace(
        b' xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"', b"")
    xmile("xmile_nul_byte", GF_OK.replace("0.5", "0.5\x00"), "ModelLoadError", what="a NUL byte")
    xmile("xmile_non_utf8", GF_OK.replace('name="y"', 'name="caf\u00e9"'), "ModelLoadError",
          what="Latin-1 bytes")
    CASES["xmile_non_utf8.xmile"]["data"] = CASES["xmile_non_utf8.xmile"]["data"].decode().encode("latin-1")


def main() -> None:
    for make in (code_cases, data_cases, bound_cases, byte_cases, validation_cases, xmile_cases):
        make()
    for old in HERE.glob("*"):
        if old.suffix in (".mdl", ".xmile", ".stmx"):
            old.unlink()
    manifest = {}
    for name, case in sorted(CASES.items()):
        (HERE / name).write_bytes(case.pop("data"))
        manifest[name] = case
    (HERE / "expected.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    print(f"{len(manifest)} hostile model files written to {HERE}")


if __name__ == "__main__":
    main()
