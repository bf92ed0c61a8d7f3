//! Tests of the SCIM filter and PATCH path parser: the RFC 7644 examples, what identity
//! providers send, precedence, escapes, every error, and properties (round trip through
//! `Display`, no panic on any input, case and whitespace insensitivity).

use super::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers

fn p(attr: &str) -> AttrPath {
    AttrPath::new(attr)
}

fn ps(attr: &str, sub: &str) -> AttrPath {
    AttrPath::new(attr).with_sub(sub)
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn cmp(path: AttrPath, op: CompareOp, value: Value) -> Filter {
    Filter::Compare { path, op, value }
}

fn pr(path: AttrPath) -> Filter {
    Filter::Present(path)
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

fn vp(attr: AttrPath, filter: Filter) -> Filter {
    Filter::ValuePath {
        attr,
        filter: Box::new(filter),
    }
}

#[track_caller]
fn ok(text: &str) -> Filter {
    let f = parse_filter(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"));
    assert_eq!(
        parse_filter(&f.to_string()),
        Ok(f.clone()),
        "round trip of {text:?} via {f}"
    );
    f
}

#[track_caller]
fn err(text: &str) -> String {
    match parse_filter(text) {
        Ok(f) => panic!("{text:?} should not parse, got {f:?}"),
        Err(e) => e.message,
    }
}

#[track_caller]
fn path_ok(text: &str) -> PatchPath {
    let pp = parse_path(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"));
    assert_eq!(
        parse_path(&pp.to_string()),
        Ok(pp.clone()),
        "round trip of {text:?} via {pp}"
    );
    pp
}

#[track_caller]
fn path_err(text: &str) -> String {
    match parse_path(text) {
        Ok(pp) => panic!("{text:?} should not parse, got {pp:?}"),
        Err(e) => e.message,
    }
}

#[track_caller]
fn assert_contains(message: &str, part: &str) {
    assert!(message.contains(part), "{message:?} should contain {part:?}");
}

use CompareOp::*;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

// ---------------------------------------------------------------------------------------------
// RFC 7644 §3.4.2.2, Figure 2 and the text around it

#[test]
fn rfc_examples() {
    let cases: Vec<(&str, Filter)> = vec![
        (r#"userName eq "bjensen""#, cmp(p("userName"), Eq, s("bjensen"))),
        (r#"userName Eq "john""#, cmp(p("userName"), Eq, s("john"))),
        (
            r#"name.familyName co "O'Malley""#,
            cmp(ps("name", "familyName"), Co, s("O'Malley")),
        ),
        (r#"userName sw "J""#, cmp(p("userName"), Sw, s("J"))),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            cmp(p("userName").with_schema(USER), Sw, s("J")),
        ),
        ("title pr", pr(p("title"))),
        (
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Gt, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Ge, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Lt, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Le, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"title pr and userType eq "Employee""#,
            and(pr(p("title")), cmp(p("userType"), Eq, s("Employee"))),
        ),
        (
            r#"title pr or userType eq "Intern""#,
            or(pr(p("title")), cmp(p("userType"), Eq, s("Intern"))),
        ),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            cmp(
                p("schemas"),
                Eq,
                s("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ),
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            and(
                cmp(p("userType"), Eq, s("Employee")),
                or(
                    cmp(p("emails"), Co, s("example.com")),
                    cmp(ps("emails", "value"), Co, s("example.org")),
                ),
            ),
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            and(
                cmp(p("userType"), Ne, s("Employee")),
                not(or(
                    cmp(p("emails"), Co, s("example.com")),
                    cmp(ps("emails", "value"), Co, s("example.org")),
                )),
            ),
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            and(
                cmp(p("userType"), Eq, s("Employee")),
                cmp(ps("emails", "type"), Eq, s("work")),
            ),
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            and(
                cmp(p("userType"), Eq, s("Employee")),
                vp(
                    p("emails"),
                    and(
                        cmp(p("type"), Eq, s("work")),
                        cmp(p("value"), Co, s("@example.com")),
                    ),
                ),
            ),
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            or(
                vp(
                    p("emails"),
                    and(
                        cmp(p("type"), Eq, s("work")),
                        cmp(p("value"), Co, s("@example.com")),
                    ),
                ),
                vp(
                    p("ims"),
                    and(cmp(p("type"), Eq, s("xmpp")), cmp(p("value"), Co, s("@foo.com"))),
                ),
            ),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(ok(text), expected, "{text}");
    }
}

#[test]
fn identity_provider_filters() {
    // Okta
    assert_eq!(ok(r#"userName eq "a@b.c""#), cmp(p("userName"), Eq, s("a@b.c")));
    // Entra ID
    assert_eq!(ok(r#"userName eq "x""#), cmp(p("userName"), Eq, s("x")));
    assert_eq!(ok(r#"externalId eq "y""#), cmp(p("externalId"), Eq, s("y")));
    assert_eq!(ok(r#"displayName eq "g""#), cmp(p("displayName"), Eq, s("g")));
    assert_eq!(
        ok(r#"urn:ietf:params:scim:schemas:extension:docker:2.0:User:dockerRole eq "member""#),
        cmp(
            p("dockerRole").with_schema("urn:ietf:params:scim:schemas:extension:docker:2.0:User"),
            Eq,
            s("member")
        )
    );
    assert_eq!(
        ok(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Barbara""#),
        cmp(ps("name", "givenName").with_schema(USER), Eq, s("Barbara"))
    );
    assert_eq!(
        ok(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#),
        vp(
            p("members"),
            cmp(p("value"), Eq, s("2819c223-7f76-453a-919d-413861904646"))
        )
    );
}

#[test]
fn display_is_canonical() {
    let f = ok(r#"  userName   EQ "a"   AND  not( title  PR )  "#);
    assert_eq!(f.to_string(), r#"userName eq "a" and not (title pr)"#);
    let f = ok(r#"emails[type eq "work"].value eq "x""#);
    assert_eq!(f.to_string(), r#"emails[type eq "work" and value eq "x"]"#);
    assert_eq!(ok("a gt 1E3").to_string(), "a gt 1e3");
    assert_eq!(ok("a gt 12.5E3").to_string(), "a gt 12500");
    assert_eq!(ok("a gt 1e300").to_string(), "a gt 1e300");
    assert_eq!(ok("a gt 0.5").to_string(), "a gt 0.5");
    assert_eq!(ok("a gt -0.000001").to_string(), "a gt -1e-6");
    assert_eq!(
        ok(r#"a eq "\u00e9\/\"\\\t\u0001""#).to_string(),
        r#"a eq "é/\"\\\t\u0001""#
    );
}

// ---------------------------------------------------------------------------------------------
// Keywords, case, whitespace

#[test]
fn keywords_are_case_insensitive_names_keep_their_case() {
    let expected = and(
        cmp(p("UserName"), Eq, Value::Bool(true)),
        or(not(pr(p("Title"))), cmp(p("x"), Ne, Value::Null)),
    );
    assert_eq!(ok("UserName EQ TRUE And (NOT (Title PR) Or x nE nULL)"), expected);
    assert_eq!(ok("a eq False"), cmp(p("a"), Eq, Value::Bool(false)));
    for op in ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] {
        let upper = op.to_uppercase();
        assert_eq!(ok(&format!(r#"a {op} "x""#)), ok(&format!(r#"a {upper} "x""#)));
    }
}

#[test]
fn whitespace() {
    let expected = and(pr(p("a")), pr(p("b")));
    assert_eq!(ok("\t a pr \t and\tb pr\t "), expected);
    assert_eq!(ok("a pr\r\nand b pr"), expected);
    assert_eq!(ok("not(a pr)"), not(pr(p("a"))));
    assert_eq!(ok("NOT  (a pr)"), not(pr(p("a"))));
    assert_eq!(ok("( a pr )"), pr(p("a")));
    assert_eq!(
        ok(r#"emails [ type eq "work" ]"#),
        vp(p("emails"), cmp(p("type"), Eq, s("work")))
    );
    assert_eq!(ok(r#"a eq"x""#), cmp(p("a"), Eq, s("x")));
    assert_eq!(
        ok(r#"emails[type eq "work"] .value pr"#),
        vp(p("emails"), and(cmp(p("type"), Eq, s("work")), pr(p("value"))))
    );
    assert_eq!(
        path_ok(r#"emails[type eq "work"] .value"#).sub_attr.as_deref(),
        Some("value")
    );
}

#[test]
fn keywords_as_attribute_names() {
    assert_eq!(ok("not pr"), pr(p("not")));
    assert_eq!(
        ok("and eq 1 and or pr"),
        and(cmp(p("and"), Eq, Value::Number(1.0)), pr(p("or")))
    );
    assert_eq!(ok("pr pr"), pr(p("pr")));
    assert_eq!(ok("true eq true"), cmp(p("true"), Eq, Value::Bool(true)));
    assert_eq!(
        ok(r#"not[type eq "x"]"#),
        vp(p("not"), cmp(p("type"), Eq, s("x")))
    );
}

// ---------------------------------------------------------------------------------------------
// Precedence

#[test]
fn precedence_and_associativity() {
    let (a, b, c, d) = (pr(p("a")), pr(p("b")), pr(p("c")), pr(p("d")));
    assert_eq!(
        ok("a pr or b pr and c pr"),
        or(a.clone(), and(b.clone(), c.clone()))
    );
    assert_eq!(
        ok("a pr and b pr or c pr"),
        or(and(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(
        ok("a pr and b pr and c pr"),
        and(and(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(
        ok("a pr or b pr or c pr"),
        or(or(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(
        ok("a pr and (b pr and c pr)"),
        and(a.clone(), and(b.clone(), c.clone()))
    );
    assert_eq!(
        ok("(a pr or b pr) and c pr"),
        and(or(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(
        ok("a pr or (b pr or c pr)"),
        or(a.clone(), or(b.clone(), c.clone()))
    );
    assert_eq!(
        ok("a pr or b pr and c pr or d pr"),
        or(or(a.clone(), and(b.clone(), c.clone())), d.clone())
    );
    assert_eq!(ok("not (a pr) and b pr"), and(not(a.clone()), b.clone()));
    assert_eq!(
        ok("not (a pr or b pr) or c pr"),
        or(not(or(a.clone(), b.clone())), c.clone())
    );
    assert_eq!(ok("((a pr))"), a);
    // Display puts back exactly the parentheses needed.
    assert_eq!(
        and(pr(p("a")), and(pr(p("b")), pr(p("c")))).to_string(),
        "a pr and (b pr and c pr)"
    );
    assert_eq!(
        and(or(pr(p("a")), pr(p("b"))), pr(p("c"))).to_string(),
        "(a pr or b pr) and c pr"
    );
    assert_eq!(
        or(and(pr(p("a")), pr(p("b"))), pr(p("c"))).to_string(),
        "a pr and b pr or c pr"
    );
    assert_eq!(
        or(pr(p("a")), or(pr(p("b")), d)).to_string(),
        "a pr or (b pr or d pr)"
    );
}

// ---------------------------------------------------------------------------------------------
// Value paths

#[test]
fn value_paths() {
    assert_eq!(
        ok(r#"emails[type eq "work"].value eq "x""#),
        vp(
            p("emails"),
            and(cmp(p("type"), Eq, s("work")), cmp(p("value"), Eq, s("x")))
        )
    );
    assert_eq!(
        ok(r#"emails[type eq "work" or primary eq true].value pr"#),
        vp(
            p("emails"),
            and(
                or(
                    cmp(p("type"), Eq, s("work")),
                    cmp(p("primary"), Eq, Value::Bool(true))
                ),
                pr(p("value"))
            )
        )
    );
    assert_eq!(
        ok(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[not (type eq "home")]"#),
        vp(p("emails").with_schema(USER), not(cmp(p("type"), Eq, s("home"))))
    );
    assert_eq!(
        ok(r#"members[$ref eq "https://x/Users/1"]"#),
        vp(p("members"), cmp(p("$ref"), Eq, s("https://x/Users/1")))
    );
    assert_eq!(ok("members.$ref pr"), pr(ps("members", "$ref")));
    assert_eq!(
        ok(r#"emails[type eq "work"] and emails[primary eq true]"#),
        and(
            vp(p("emails"), cmp(p("type"), Eq, s("work"))),
            vp(p("emails"), cmp(p("primary"), Eq, Value::Bool(true)))
        )
    );
}

#[test]
fn value_path_errors() {
    assert_contains(&err("a[b[c eq 1]]"), "cannot contain another value filter");
    assert_contains(&err("a[(b[c eq 1])]"), "cannot contain another value filter");
    assert_contains(&err("a.b[c eq 1]"), "not to the sub-attribute 'a.b'");
    assert_contains(&err("a[]"), "expected an attribute path");
    assert_contains(
        &err("a[b pr"),
        "expected 'and', 'or' or ']' to close the '[' at position 2",
    );
    assert_contains(&err("a[b pr)"), "found ')'");
    assert_contains(&err("a[b pr]."), "missing sub-attribute name");
    assert_contains(&err("a[b pr].c.d pr"), "invalid sub-attribute name 'c.d'");
    assert_contains(&err("a[b pr].c"), "expected an operator");
    assert_contains(&err("a[b pr].c eq"), "expected a value after 'eq'");
    assert_contains(&err("a[b pr]c pr"), "found 'c'");
}

// ---------------------------------------------------------------------------------------------
// Values and escapes

#[test]
fn values() {
    assert_eq!(ok("a eq 42"), cmp(p("a"), Eq, Value::Number(42.0)));
    assert_eq!(ok("a eq -1.5e+3"), cmp(p("a"), Eq, Value::Number(-1500.0)));
    assert_eq!(ok("a eq 0"), cmp(p("a"), Eq, Value::Number(0.0)));
    assert_eq!(ok("a eq -0"), cmp(p("a"), Eq, Value::Number(0.0)));
    assert_eq!(ok("a eq 2E-2"), cmp(p("a"), Eq, Value::Number(0.02)));
    assert_eq!(ok("a ge 1.0"), cmp(p("a"), Ge, Value::Number(1.0)));
    assert_eq!(ok("a eq null"), cmp(p("a"), Eq, Value::Null));
    assert_eq!(ok("a ne NULL"), cmp(p("a"), Ne, Value::Null));
    assert_eq!(ok("a eq true"), cmp(p("a"), Eq, Value::Bool(true)));
    assert_eq!(ok(r#"a eq """#), cmp(p("a"), Eq, s("")));
    assert_eq!(
        ok(r#"a eq "with space and ( ) [ ] and or""#),
        cmp(p("a"), Eq, s("with space and ( ) [ ] and or"))
    );
    assert_eq!(ok(r#"a eq "日本語 ✓""#), cmp(p("a"), Eq, s("日本語 ✓")));
    assert_eq!(ok(r#"a lt "2011""#), cmp(p("a"), Lt, s("2011")));
}

#[test]
fn string_escapes() {
    assert_eq!(
        ok(r#"a eq "q\" b\\ s\/ \b\f\n\r\t""#),
        cmp(p("a"), Eq, s("q\" b\\ s/ \u{8}\u{c}\n\r\t"))
    );
    assert_eq!(ok(r#"a eq "\u0041\u00E9\u20ac""#), cmp(p("a"), Eq, s("Aé€")));
    assert_eq!(ok(r#"a eq "\ud83d\ude00""#), cmp(p("a"), Eq, s("😀")));
    assert_eq!(ok(r#"a eq "\uD83D\uDE00!""#), cmp(p("a"), Eq, s("😀!")));
    assert_eq!(ok(r#"a eq "\u0000""#), cmp(p("a"), Eq, s("\0")));
    let f = cmp(p("a"), Eq, s("\u{1}\u{1f}\"\\\n/😀\u{7f}"));
    assert_eq!(f.to_string(), "a eq \"\\u0001\\u001f\\\"\\\\\\n/😀\u{7f}\"");
    assert_eq!(parse_filter(&f.to_string()), Ok(f));
}

#[test]
fn value_errors() {
    assert_contains(&err("a eq"), "expected a value after 'eq'");
    assert_contains(
        &err("a eq bob"),
        "expected a value after 'eq' (a string in double quotes",
    );
    assert_contains(&err("a eq 'bob'"), "found ''bob''");
    assert_contains(&err("a eq 01"), "invalid number '01'");
    assert_contains(&err("a eq 1."), "invalid number '1.'");
    assert_contains(&err("a eq -"), "invalid number '-'");
    assert_contains(&err("a eq 1e"), "invalid number '1e'");
    assert_contains(&err("a eq 0x10"), "invalid number '0x10'");
    assert_contains(&err("a eq 1e400"), "number '1e400' is out of range");
    assert_contains(&err("a eq +1"), "expected a value");
    assert_contains(&err("a eq .5"), "expected a value");
    assert_contains(&err("a eq ("), "found '('");
    assert_contains(&err(r#"a eq "x"#), "unterminated string");
    assert_contains(&err(r#"a eq "x\"#), "unterminated string");
    assert_contains(&err(r#"a eq "\x""#), "invalid escape '\\x'");
    assert_contains(&err(r#"a eq "\u12""#), "expected four hexadecimal digits");
    assert_contains(&err(r#"a eq "\u12G4""#), "expected four hexadecimal digits");
    assert_contains(&err(r#"a eq "\ud83d""#), "unpaired UTF-16 surrogate");
    assert_contains(&err(r#"a eq "\ud83dx""#), "unpaired UTF-16 surrogate");
    assert_contains(&err(r#"a eq "\ud83d\u0041""#), "unpaired UTF-16 surrogate");
    assert_contains(&err(r#"a eq "\ude00""#), "unpaired UTF-16 surrogate");
    assert_contains(&err("a eq \"tab\there\""), "control character in string");
    assert_contains(&err("a eq \"x\ny\""), "control character in string");
}

#[test]
fn operator_value_types() {
    for op in ["gt", "ge", "lt", "le"] {
        assert_contains(
            &err(&format!("a {op} true")),
            &format!("operator '{op}' needs a string or a number, not true"),
        );
        assert_contains(&err(&format!("a {op} null")), "not null");
        ok(&format!("a {op} 1"));
        ok(&format!(r#"a {op} "1""#));
    }
    for op in ["co", "sw", "ew"] {
        assert_contains(
            &err(&format!("a {op} 1")),
            &format!("operator '{op}' needs a string, not 1"),
        );
        assert_contains(&err(&format!("a {op} false")), "not false");
        assert_contains(&err(&format!("a {op} null")), "not null");
        ok(&format!(r#"a {op} "1""#));
    }
    for op in ["eq", "ne"] {
        for v in ["1", "true", "false", "null", r#""x""#] {
            ok(&format!("a {op} {v}"));
        }
    }
    assert_contains(
        &err(r#"title pr "x""#),
        "expected 'and', 'or' or the end of the filter, found the string \"x\"",
    );
}

// ---------------------------------------------------------------------------------------------
// Attribute paths

#[test]
fn attribute_paths() {
    assert_eq!(ok("a-b_c9 pr"), pr(p("a-b_c9")));
    assert_eq!(ok("$REF pr"), pr(p("$REF")));
    assert_eq!(ok("URN:x:y pr"), pr(p("y").with_schema("URN:x")));
    assert_eq!(
        ok("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"),
        pr(ps("manager", "value").with_schema("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"))
    );
    let path = p("userName").with_schema(USER);
    assert!(path.attr_is("USERNAME") && !path.attr_is("user"));
    assert!(path.schema_is("URN:IETF:params:scim:schemas:core:2.0:user"));
    assert!(!p("x").schema_is(USER));
    assert!(ps("name", "givenName").sub_is("givenname"));
    assert!(!p("name").sub_is("givenName"));
}

#[test]
fn attribute_path_errors() {
    assert_contains(&err("9a pr"), "invalid attribute name '9a'");
    assert_contains(&err("a.b.c pr"), "at most one sub-attribute");
    assert_contains(&err("a. pr"), "missing sub-attribute name");
    assert_contains(&err(".a pr"), "missing attribute name");
    assert_contains(&err("a@b pr"), "invalid attribute name 'a@b'");
    assert_contains(&err("é pr"), "invalid attribute name 'é'");
    assert_contains(&err("a.9 pr"), "invalid sub-attribute name '9'");
    assert_contains(
        &err("x:y pr"),
        "a schema prefix must be a URN beginning with 'urn:'",
    );
    assert_contains(&err("http://x/y:a pr"), "must be a URN");
    assert_contains(&err("urn:a pr"), "missing schema URN");
    assert_contains(&err("urn:x: pr"), "missing attribute name");
    assert_contains(&err("urn:x{y:a pr"), "invalid character in schema URN");
    assert_contains(
        &err("\"a\" eq 1"),
        "expected an attribute path, '(' or 'not (', found the string \"a\"",
    );
}

// ---------------------------------------------------------------------------------------------
// Structure errors

#[test]
fn structure_errors() {
    assert_eq!(err(""), "filter is empty");
    assert_eq!(err(" \t "), "filter is empty");
    assert_contains(&err("a"), "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'a', found the end of the input at position 2");
    assert_contains(&err("a foo 1"), "expected an operator");
    assert_contains(
        &err("a pr and"),
        "expected an attribute path, '(' or 'not (', found the end of the input",
    );
    assert_contains(&err("a pr or"), "found the end of the input");
    assert_contains(&err("and"), "expected an operator");
    assert_contains(
        &err("a pr b pr"),
        "expected 'and', 'or' or the end of the filter, found 'b' at position 6",
    );
    assert_contains(
        &err("(a pr"),
        "expected 'and', 'or' or ')' to close the '(' at position 1",
    );
    assert_contains(&err("a pr)"), "found ')'");
    assert_contains(&err("()"), "expected an attribute path");
    assert_contains(&err("not a pr"), "expected '(' after 'not', found 'a'");
    assert_contains(&err("not (a pr"), "to close the '(' at position 5");
    assert_contains(&err("a pr and ]"), "found ']'");
    assert_contains(&err("[a pr]"), "found '['");
    // Positions count characters, not bytes.
    assert_contains(&err(r#"a eq "é" b"#), "at position 10");
    // Long tokens are shortened in messages.
    let long = "x".repeat(100);
    let message = err(&format!("a pr {long}"));
    assert!(message.len() < 120, "{message}");
}

#[test]
fn limits() {
    // Length.
    let long = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
    assert_contains(&err(&long), "filter is too long");
    let just = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LEN - 7));
    assert_eq!(just.len(), MAX_FILTER_LEN);
    ok(&just);

    // Depth: parentheses, not and value filters each count one level.
    let nest = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    ok(&nest(MAX_DEPTH));
    assert_contains(&err(&nest(MAX_DEPTH + 1)), "nested too deeply");
    assert_contains(&err(&nest(2000)), "nested too deeply");
    let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
    ok(&nots(MAX_DEPTH));
    assert_contains(&err(&nots(MAX_DEPTH + 1)), "nested too deeply");
    let in_brackets = |n: usize| format!("{}x[a pr]{}", "(".repeat(n), ")".repeat(n));
    ok(&in_brackets(MAX_DEPTH - 1));
    assert_contains(&err(&in_brackets(MAX_DEPTH)), "nested too deeply");
    let in_value_filter = |n: usize| format!("x[{}a pr{}]", "(".repeat(n), ")".repeat(n));
    ok(&in_value_filter(MAX_DEPTH - 1));
    assert_contains(&err(&in_value_filter(MAX_DEPTH)), "nested too deeply");
    // `x[a or b].c pr` is written back as `x[(a or b) and c pr]`, one level deeper.
    let extension = |n: usize| format!("{}x[a pr or b pr].c pr{}", "(".repeat(n), ")".repeat(n));
    ok(&extension(MAX_DEPTH - 2));
    assert_contains(&err(&extension(MAX_DEPTH - 1)), "nested too deeply");
    ok(&format!(
        "{}x[a pr and b pr].c pr{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    ));
    // Unbalanced deep input is refused without recursing far.
    assert_contains(&err(&"(".repeat(MAX_FILTER_LEN)), "nested too deeply");
    assert_contains(&err(&"not (".repeat(800)), "nested too deeply");

    // Comparisons.
    let chain = |n: usize| vec!["a pr"; n].join(" and ");
    ok(&chain(MAX_COMPARISONS));
    assert_contains(&err(&chain(MAX_COMPARISONS + 1)), "too many comparisons");
    let chain_in_brackets = |n: usize| format!("x[{}].y pr", vec!["a pr"; n].join(" or "));
    ok(&chain_in_brackets(MAX_COMPARISONS - 1));
    assert_contains(&err(&chain_in_brackets(MAX_COMPARISONS)), "too many comparisons");

    // The same limits for paths.
    assert_contains(
        &path_err(&format!("a[b eq \"{}\"]", "x".repeat(MAX_FILTER_LEN))),
        "path is too long",
    );
    assert_contains(
        &path_err(&format!(
            "a[{}b pr{}]",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        )),
        "nested too deeply",
    );
    assert_contains(
        &path_err(&format!("a[{}]", chain(MAX_COMPARISONS + 1))),
        "too many comparisons",
    );
}

#[test]
fn error_trait() {
    let e = parse_filter("").unwrap_err();
    assert_eq!(e.to_string(), e.message);
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert_eq!(boxed.to_string(), "filter is empty");
}

// ---------------------------------------------------------------------------------------------
// PATCH paths (RFC 7644 §3.5.2)

#[test]
fn patch_paths() {
    let plain = |attr: AttrPath| PatchPath {
        attr,
        value_filter: None,
        sub_attr: None,
    };
    assert_eq!(path_ok("active"), plain(p("active")));
    assert_eq!(path_ok("Active"), plain(p("Active")));
    assert_eq!(path_ok("members"), plain(p("members")));
    assert_eq!(path_ok("name.givenName"), plain(ps("name", "givenName")));
    assert_eq!(path_ok("  name.familyName "), plain(ps("name", "familyName")));
    assert_eq!(
        path_ok("urn:ietf:params:scim:schemas:extension:docker:2.0:User:dockerRole"),
        plain(p("dockerRole").with_schema("urn:ietf:params:scim:schemas:extension:docker:2.0:User"))
    );
    assert_eq!(
        path_ok("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
        plain(
            ps("manager", "value").with_schema("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        )
    );
    assert_eq!(
        path_ok(r#"emails[type eq "work"].value"#),
        PatchPath {
            attr: p("emails"),
            value_filter: Some(cmp(p("type"), Eq, s("work"))),
            sub_attr: Some("value".into())
        }
    );
    assert_eq!(
        path_ok(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#),
        PatchPath {
            attr: p("members"),
            value_filter: Some(cmp(p("value"), Eq, s("2819c223-7f76-453a-919d-413861904646"))),
            sub_attr: None
        }
    );
    assert_eq!(
        path_ok(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#).sub_attr,
        Some("displayName".into())
    );
    assert_eq!(
        path_ok(r#"emails[type eq "work" and value ew "example.com"]"#).value_filter,
        Some(and(
            cmp(p("type"), Eq, s("work")),
            cmp(p("value"), Ew, s("example.com"))
        ))
    );
    assert_eq!(
        path_ok(r#"addresses[type EQ "work"].streetAddress"#).to_string(),
        r#"addresses[type eq "work"].streetAddress"#
    );
    assert_eq!(
        path_ok(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#).attr,
        p("emails").with_schema(USER)
    );
    assert_eq!(
        path_ok(r#"members[value eq "a" or value eq "b"]"#).value_filter,
        Some(or(cmp(p("value"), Eq, s("a")), cmp(p("value"), Eq, s("b"))))
    );
}

#[test]
fn patch_path_errors() {
    assert_eq!(path_err(""), "path is empty");
    assert_eq!(path_err("   "), "path is empty");
    assert_contains(
        &path_err(r#"name.givenName[type eq "x"].value"#),
        "not to the sub-attribute 'name.givenName'",
    );
    assert_contains(
        &path_err(r#"name.givenName[type eq "x"]"#),
        "not to the sub-attribute",
    );
    assert_contains(&path_err("a b"), "expected '[' or the end of the path, found 'b'");
    assert_contains(&path_err("a eq 1"), "expected '[' or the end of the path");
    assert_contains(
        &path_err("a[b pr] c"),
        "expected '.subAttribute' or the end of the path, found 'c'",
    );
    assert_contains(&path_err("a[b pr].c.d"), "invalid sub-attribute name 'c.d'");
    assert_contains(&path_err("a[b pr]."), "missing sub-attribute name");
    assert_contains(&path_err("a[b pr].c[d pr]"), "found '['");
    assert_contains(&path_err("a[b[c pr]]"), "cannot contain another value filter");
    assert_contains(&path_err("a[]"), "expected an attribute path");
    assert_contains(&path_err("a[b pr"), "to close the '['");
    assert_contains(&path_err("(a)"), "expected an attribute path, found '('");
    assert_contains(&path_err(r#""a""#), "expected an attribute path");
    assert_contains(&path_err("a.b.c"), "at most one sub-attribute");
    assert_contains(&path_err("9"), "invalid attribute name '9'");
    assert_contains(&path_err(r#"a[b eq "x]"#), "unterminated string");
}

// ---------------------------------------------------------------------------------------------
// Properties

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,10}",
        1 => Just("$ref".to_string()),
        2 => prop::sample::select(vec!["and", "or", "not", "pr", "eq", "true", "null", "AND", "Not", "urn"])
            .prop_map(String::from),
    ]
}

fn schema() -> impl Strategy<Value = String> {
    "(urn|URN|Urn):[a-zA-Z][a-zA-Z0-9-]{0,5}(:[a-zA-Z0-9.]{1,8}){0,5}"
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::weighted(0.2, schema()),
        attr_name(),
        prop::option::weighted(0.3, attr_name()),
    )
        .prop_map(|(schema, attr, sub_attr)| AttrPath {
            schema,
            attr,
            sub_attr,
        })
}

/// An attribute path usable before `[`: no sub-attribute.
fn value_path_attr() -> impl Strategy<Value = AttrPath> {
    (prop::option::weighted(0.2, schema()), attr_name()).prop_map(|(schema, attr)| AttrPath {
        schema,
        attr,
        sub_attr: None,
    })
}

fn string_value() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => any::<char>(),
        2 => prop::sample::select(vec!['"', '\\', '/', '\n', '\t', '\u{1}', '\u{8}', ' ', '(', ']', 'é', '😀', '\u{ffff}']),
        4 => prop::char::range('a', 'z'),
    ];
    prop::collection::vec(c, 0..16).prop_map(String::from_iter)
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i32>().prop_map(f64::from),
        any::<f64>().prop_filter("finite", |n| n.is_finite()),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.1,
            1e21,
            1e-7,
            123e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324
        ]),
    ]
}

fn comparison() -> impl Strategy<Value = Filter> {
    let ops = prop::sample::select(vec![Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le]);
    (attr_path(), ops, string_value(), number(), any::<bool>(), 0..4u8).prop_map(
        |(path, op, text, n, b, kind)| {
            let value = match (op, kind) {
                (Co | Sw | Ew, _) | (_, 0) => Value::String(text),
                (Gt | Ge | Lt | Le, _) | (_, 1) => Value::Number(n),
                (_, 2) => Value::Bool(b),
                _ => Value::Null,
            };
            Filter::Compare { path, op, value }
        },
    )
}

fn leaf() -> BoxedStrategy<Filter> {
    prop_oneof![3 => comparison(), 1 => attr_path().prop_map(Filter::Present)].boxed()
}

fn combine(inner: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    prop_oneof![
        (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
        (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
        inner.prop_map(not),
    ]
    .boxed()
}

/// A filter without value paths (what may go inside `[ ]`).
fn simple_filter() -> BoxedStrategy<Filter> {
    leaf().prop_recursive(3, 8, 2, combine).boxed()
}

fn filter() -> BoxedStrategy<Filter> {
    let base = prop_oneof![
        3 => leaf(),
        1 => (value_path_attr(), simple_filter()).prop_map(|(attr, f)| vp(attr, f)),
    ];
    base.prop_recursive(4, 16, 2, combine).boxed()
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    prop_oneof![
        attr_path().prop_map(|attr| PatchPath {
            attr,
            value_filter: None,
            sub_attr: None
        }),
        (value_path_attr(), simple_filter(), prop::option::of(attr_name())).prop_map(
            |(attr, f, sub_attr)| {
                PatchPath {
                    attr,
                    value_filter: Some(f),
                    sub_attr,
                }
            }
        ),
    ]
}

fn comparisons(f: &Filter) -> usize {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => comparisons(a) + comparisons(b),
        Filter::Not(a) | Filter::ValuePath { filter: a, .. } => comparisons(a),
        Filter::Compare { .. } | Filter::Present(_) => 1,
    }
}

/// A small deterministic generator for the random renderings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.next().is_multiple_of(one_in)
    }
    fn space(&mut self) -> &'static str {
        [" ", "  ", "\t", " \t ", "\r\n "][(self.next() % 5) as usize]
    }
    fn maybe_space(&mut self) -> &'static str {
        if self.chance(2) {
            ""
        } else {
            self.space()
        }
    }
    fn keyword(&mut self, word: &str) -> String {
        word.chars()
            .map(|c| {
                if self.chance(2) {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }
}

/// Writes `f` with random keyword case, random whitespace, `not(` or `not (`, redundant
/// parentheses, `\u` escapes and the `attr[f].sub op v` form where it applies: all of which
/// must parse to `f` again.
fn render(f: &Filter, rng: &mut Rng, out: &mut String) {
    let group = |f: &Filter, parens: bool, rng: &mut Rng, out: &mut String| {
        if parens || rng.chance(8) {
            out.push('(');
            out.push_str(rng.maybe_space());
            render(f, rng, out);
            out.push_str(rng.maybe_space());
            out.push(')');
        } else {
            render(f, rng, out);
        }
    };
    match f {
        Filter::Or(l, r) => {
            group(l, false, rng, out);
            out.push_str(rng.space());
            out.push_str(&rng.keyword("or"));
            out.push_str(rng.space());
            group(r, matches!(**r, Filter::Or(..)), rng, out);
        }
        Filter::And(l, r) => {
            group(l, matches!(**l, Filter::Or(..)), rng, out);
            out.push_str(rng.space());
            out.push_str(&rng.keyword("and"));
            out.push_str(rng.space());
            group(r, matches!(**r, Filter::Or(..) | Filter::And(..)), rng, out);
        }
        Filter::Not(inner) => {
            out.push_str(&rng.keyword("not"));
            out.push_str(rng.maybe_space());
            out.push('(');
            out.push_str(rng.maybe_space());
            render(inner, rng, out);
            out.push_str(rng.maybe_space());
            out.push(')');
        }
        Filter::Present(path) => {
            out.push_str(&path.to_string());
            out.push_str(rng.space());
            out.push_str(&rng.keyword("pr"));
        }
        Filter::Compare { path, op, value } => {
            out.push_str(&path.to_string());
            out.push_str(rng.space());
            out.push_str(&rng.keyword(op.as_str()));
            out.push_str(rng.space());
            render_value(value, rng, out);
        }
        Filter::ValuePath { attr, filter } => {
            out.push_str(&attr.to_string());
            out.push_str(rng.maybe_space());
            out.push('[');
            out.push_str(rng.maybe_space());
            let split = match &**filter {
                Filter::And(head, tail) if rng.chance(2) => match &**tail {
                    Filter::Compare { path, .. } | Filter::Present(path)
                        if path.schema.is_none() && path.sub_attr.is_none() =>
                    {
                        Some((head, tail))
                    }
                    _ => None,
                },
                _ => None,
            };
            match split {
                Some((head, tail)) => {
                    // `attr[head].sub op value`; rendering `tail` starts with its name `sub`.
                    render(head, rng, out);
                    out.push_str(rng.maybe_space());
                    out.push_str("].");
                    render(tail, rng, out);
                }
                None => {
                    render(filter, rng, out);
                    out.push_str(rng.maybe_space());
                    out.push(']');
                }
            }
        }
    }
}

fn render_value(value: &Value, rng: &mut Rng, out: &mut String) {
    match value {
        Value::String(text) => {
            out.push('"');
            for c in text.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '/' if rng.chance(2) => out.push_str("\\/"),
                    c if u32::from(c) < 0x20 || rng.chance(4) => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            if rng.chance(2) {
                                out.push_str(&format!("\\u{unit:04X}"));
                            } else {
                                out.push_str(&format!("\\u{unit:04x}"));
                            }
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::Number(n) => {
            let text = value.to_string();
            if rng.chance(2) {
                out.push_str(&text.replace('e', "E"));
            } else if rng.chance(2) && n.fract() == 0.0 && n.abs() < 1e15 {
                out.push_str(&format!("{n:.1}"));
            } else {
                out.push_str(&text);
            }
        }
        Value::Bool(b) => out.push_str(&rng.keyword(&b.to_string())),
        Value::Null => out.push_str(&rng.keyword("null")),
    }
}

/// Whatever parses must print as text that parses to the same tree (unless that text is over
/// the length limit: numbers such as `1e15` print longer).
fn check_round_trip(text: &str) {
    if let Ok(f) = parse_filter(text) {
        let printed = f.to_string();
        if printed.len() <= MAX_FILTER_LEN {
            assert_eq!(parse_filter(&printed), Ok(f), "{text:?} printed as {printed:?}");
        }
    }
    if let Ok(pp) = parse_path(text) {
        let printed = pp.to_string();
        if printed.len() <= MAX_FILTER_LEN {
            assert_eq!(parse_path(&printed), Ok(pp), "{text:?} printed as {printed:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn display_parses_back(f in filter()) {
        let text = f.to_string();
        prop_assume!(comparisons(&f) <= MAX_COMPARISONS && text.len() <= MAX_FILTER_LEN);
        prop_assert_eq!(parse_filter(&text), Ok(f), "{}", text);
    }

    #[test]
    fn patch_path_display_parses_back(pp in patch_path()) {
        let text = pp.to_string();
        prop_assume!(text.len() <= MAX_FILTER_LEN);
        prop_assert_eq!(parse_path(&text), Ok(pp), "{}", text);
    }

    #[test]
    fn case_and_whitespace_do_not_matter(f in filter(), seed in any::<u64>()) {
        prop_assume!(comparisons(&f) <= MAX_COMPARISONS);
        let mut rng = Rng(seed | 1);
        let mut text = String::from(rng.maybe_space());
        render(&f, &mut rng, &mut text);
        text.push_str(rng.maybe_space());
        prop_assume!(text.len() <= MAX_FILTER_LEN);
        prop_assert_eq!(parse_filter(&text), Ok(f), "{:?}", text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_round_trip(&text);
    }

    #[test]
    fn filter_like_text_never_panics(
        text in r#"[a-z.:$\[\]()" \\0-9eE+-]{0,64}"#,
    ) {
        check_round_trip(&text);
    }

    #[test]
    fn token_soup_never_panics(
        tokens in prop::collection::vec(
            prop::sample::select(vec![
                "a", "b.c", "emails", "[", "]", "(", ")", "not", "not(", "and", "or", "pr", "eq",
                "gt", "co", "\"x\"", "\"\\u00e9\"", "\"\\ud83d", "1", "-2.5e3", "true", "null",
                "].value", ".value", "urn:x:y", "urn:", "$ref", " ", "\"",
            ]),
            0..40,
        ),
    ) {
        check_round_trip(&tokens.join(" "));
        check_round_trip(&tokens.concat());
    }
}
